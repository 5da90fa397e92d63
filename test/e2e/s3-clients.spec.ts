/**
 * End to end with real S3 clients: the built gateway (`node dist/src/main.js`) on four temp drives, driven by the
 * aws CLI, rclone and s3cmd exactly as a user runs them: make a bucket, upload a 1 KiB and a 64 MiB file (the
 * latter as a multipart upload), list, download and compare MD5s, copy server-side, delete, remove the bucket.
 *
 * Each client runs with a configuration built here alone (temp config files, credentials in the environment), so
 * nothing from the machine leaks in, and with retries off, so a failed request fails the test instead of being
 * retried away. A missing client fails its test: `.ci/run` installs all three.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { seededBytes } from '../fixtures/seeded';
import {
  cleanEnv,
  type GatewayProcess,
  REGION,
  ROOT_PASSWORD,
  ROOT_USER,
  startGateway,
} from './gateway-process';

const SMALL_SIZE = 1024;
const BIG_SIZE = 64 * 1024 * 1024;
const COMMAND_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 300_000;
const OUTPUT_TAIL = 4000;

/** What a finished command printed. */
interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  const child = spawn(cmd, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: COMMAND_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c: number | null, s: NodeJS.Signals | null) => resolve([c, s]));
  });
  return { command: [cmd, ...args].join(' '), code, signal, stdout, stderr };
}

function tail(text: string): string {
  return text.length > OUTPUT_TAIL ? `...${text.slice(-OUTPUT_TAIL)}` : text;
}

async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function onPath(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const ok = await access(join(dir, name), constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return true;
  }
  return false;
}

/** Fails (never skips) when a client is not installed. */
async function requireCli(name: string, debianPackage: string): Promise<void> {
  if (!(await onPath(name)))
    assert.fail(
      `${name} is not installed: .ci/run installs it (apt-get install ${debianPackage}); ` +
        'install it to run this suite',
    );
}

describe('real S3 clients against the gateway process', { timeout: 3 * TEST_TIMEOUT_MS + 60_000 }, () => {
  let base: string;
  let gateway: GatewayProcess;
  let emptyFile: string;
  const small = { path: '', md5: '' };
  const big = { path: '', md5: '' };

  /** A readable report of a command and the gateway's recent log, for assertion messages. */
  const report = (r: RunResult, why: string) =>
    `${why}\n$ ${r.command}\nexit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}\n` +
    `--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}\n--- gateway log\n${tail(gateway.output())}`;

  /** Runs a command that must succeed; returns its stdout. */
  const must = async (cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> => {
    const r = await run(cmd, args, env);
    assert.equal(r.code, 0, report(r, `${cmd} failed`));
    return r.stdout;
  };

  /** Runs a command that must fail with `expected` somewhere in its output. */
  const mustFail = async (cmd: string, args: string[], env: NodeJS.ProcessEnv, expected: RegExp) => {
    const r = await run(cmd, args, env);
    assert.notEqual(r.code, 0, report(r, `${cmd} succeeded but should have failed with ${expected}`));
    assert.match(r.stdout + r.stderr, expected, report(r, `${cmd} failed without ${expected}`));
  };

  const assertSameFile = async (downloaded: string, original: { md5: string }, what: string) =>
    assert.equal(await md5File(downloaded), original.md5, `${what}: downloaded bytes differ (MD5)`);

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-clients-'));
    await Promise.all([1, 2, 3, 4].map((i) => mkdir(join(base, `drive${i}`))));
    emptyFile = join(base, 'empty.conf');
    await writeFile(emptyFile, '');
    small.path = join(base, 'small.bin');
    big.path = join(base, 'big.bin');
    const smallBytes = seededBytes(11, SMALL_SIZE);
    const bigBytes = seededBytes(64, BIG_SIZE);
    await writeFile(small.path, smallBytes);
    await writeFile(big.path, bigBytes);
    small.md5 = createHash('md5').update(smallBytes).digest('hex');
    big.md5 = createHash('md5').update(bigBytes).digest('hex');
    gateway = await startGateway({ cwd: base, drives: join(base, 'drive{1...4}') });
  });

  after(async () => {
    await gateway?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it(
    'aws CLI: mb, cp up (single, multipart), ls, s3api, cp down, copy, rm, rb',
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      await requireCli('aws', 'awscli');
      const bucket = 'cli-aws';
      const down = join(base, 'aws-down');
      await mkdir(down);
      const env = cleanEnv(
        {
          AWS_ACCESS_KEY_ID: ROOT_USER,
          AWS_SECRET_ACCESS_KEY: ROOT_PASSWORD,
          AWS_DEFAULT_REGION: REGION,
          AWS_CONFIG_FILE: emptyFile,
          AWS_SHARED_CREDENTIALS_FILE: emptyFile,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_MAX_ATTEMPTS: '1',
          AWS_PAGER: '',
        },
        ['TIERGATE_', 'AWS_'],
      );
      t.diagnostic((await must('aws', ['--version'], env)).trim());
      const aws = (...args: string[]) => must('aws', ['--endpoint-url', gateway.url, ...args], env);
      const awsJson = async (...args: string[]) =>
        JSON.parse(await aws(...args, '--output', 'json')) as unknown;
      const listed = async () => {
        // aws-cli v2 prints nothing at all for an empty listing.
        const text = await aws('s3api', 'list-objects-v2', '--bucket', bucket, '--output', 'json');
        const out = (text.trim() === '' ? {} : JSON.parse(text)) as {
          Contents?: { Key: string; Size: number }[];
        };
        return Object.fromEntries((out.Contents ?? []).map((o) => [o.Key, o.Size]));
      };

      assert.match(await aws('s3', 'mb', `s3://${bucket}`), /make_bucket: cli-aws/);
      await aws('s3', 'cp', '--no-progress', small.path, `s3://${bucket}/small.bin`);
      await aws('s3', 'cp', '--no-progress', big.path, `s3://${bucket}/dir/big.bin`);

      assert.deepEqual(await listed(), { 'dir/big.bin': BIG_SIZE, 'small.bin': SMALL_SIZE });
      const ls = await aws('s3', 'ls', `s3://${bucket}`, '--recursive');
      assert.match(ls, new RegExp(`\\s${SMALL_SIZE} small\\.bin$`, 'm'), ls);
      assert.match(ls, new RegExp(`\\s${BIG_SIZE} dir/big\\.bin$`, 'm'), ls);

      const headSmall = (await awsJson('s3api', 'head-object', '--bucket', bucket, '--key', 'small.bin')) as {
        ContentLength: number;
        ETag: string;
      };
      assert.equal(headSmall.ContentLength, SMALL_SIZE);
      assert.equal(headSmall.ETag, `"${small.md5}"`);
      const headBig = (await awsJson('s3api', 'head-object', '--bucket', bucket, '--key', 'dir/big.bin')) as {
        ContentLength: number;
        ETag: string;
      };
      assert.equal(headBig.ContentLength, BIG_SIZE);
      assert.match(headBig.ETag, /^"[0-9a-f]{32}-\d+"$/, 'the 64 MiB upload should have been multipart');

      await aws('s3', 'cp', '--no-progress', `s3://${bucket}/small.bin`, join(down, 'small.bin'));
      await aws('s3', 'cp', '--no-progress', `s3://${bucket}/dir/big.bin`, join(down, 'big.bin'));
      await assertSameFile(join(down, 'small.bin'), small, 'small.bin');
      await assertSameFile(join(down, 'big.bin'), big, 'dir/big.bin');

      // s3 cp between two S3 URLs copies server-side: UploadPartCopy for 64 MiB, CopyObject through s3api.
      await aws('s3', 'cp', '--no-progress', `s3://${bucket}/dir/big.bin`, `s3://${bucket}/copy/big.bin`);
      await aws(
        's3api',
        'copy-object',
        '--bucket',
        bucket,
        '--key',
        'copy/small.bin',
        '--copy-source',
        `${bucket}/small.bin`,
      );
      await aws('s3', 'cp', '--no-progress', `s3://${bucket}/copy/small.bin`, join(down, 'copy-small.bin'));
      await aws('s3', 'cp', '--no-progress', `s3://${bucket}/copy/big.bin`, join(down, 'copy-big.bin'));
      await assertSameFile(join(down, 'copy-small.bin'), small, 'copy/small.bin');
      await assertSameFile(join(down, 'copy-big.bin'), big, 'copy/big.bin');

      await aws('s3', 'rm', `s3://${bucket}/small.bin`);
      const env2 = ['--endpoint-url', gateway.url];
      await mustFail(
        'aws',
        [...env2, 's3api', 'head-object', '--bucket', bucket, '--key', 'small.bin'],
        env,
        /404|Not Found/,
      );
      assert.deepEqual(await listed(), {
        'copy/big.bin': BIG_SIZE,
        'copy/small.bin': SMALL_SIZE,
        'dir/big.bin': BIG_SIZE,
      });

      await mustFail('aws', [...env2, 's3', 'rb', `s3://${bucket}`], env, /BucketNotEmpty/);
      await aws('s3', 'rm', `s3://${bucket}`, '--recursive');
      assert.deepEqual(await listed(), {});
      await aws('s3', 'rb', `s3://${bucket}`);
      const buckets = (await awsJson('s3api', 'list-buckets')) as { Buckets?: { Name: string }[] };
      assert.ok(!(buckets.Buckets ?? []).some((b) => b.Name === bucket), `${bucket} still listed`);
    },
  );

  it(
    'rclone: mkdir, copyto up (single, multipart), lsjson, md5sum, copyto down, server-side copy, delete, rmdir',
    { timeout: TEST_TIMEOUT_MS },
    async (t: TestContext) => {
      await requireCli('rclone', 'rclone');
      const bucket = 'cli-rclone';
      const down = join(base, 'rclone-down');
      await mkdir(down);
      const env = cleanEnv(
        {
          RCLONE_CONFIG: emptyFile,
          RCLONE_CONFIG_TG_TYPE: 's3',
          RCLONE_CONFIG_TG_PROVIDER: 'Minio',
          RCLONE_CONFIG_TG_ENDPOINT: gateway.url,
          RCLONE_CONFIG_TG_ACCESS_KEY_ID: ROOT_USER,
          RCLONE_CONFIG_TG_SECRET_ACCESS_KEY: ROOT_PASSWORD,
          RCLONE_CONFIG_TG_REGION: REGION,
          // rclone's default cutoff is 200 MiB; lower it so the 64 MiB file goes up in 4 parts.
          RCLONE_CONFIG_TG_UPLOAD_CUTOFF: '16M',
          RCLONE_CONFIG_TG_CHUNK_SIZE: '16M',
        },
        ['TIERGATE_', 'AWS_', 'RCLONE_'],
      );
      t.diagnostic((await must('rclone', ['version'], env)).split('\n')[0]);
      const rclone = (...args: string[]) =>
        must('rclone', ['--retries', '1', '--low-level-retries', '1', ...args], env);
      const listed = async () => {
        const out = JSON.parse(await rclone('lsjson', '-R', '--files-only', `tg:${bucket}`)) as {
          Path: string;
          Size: number;
        }[];
        return Object.fromEntries(out.map((o) => [o.Path, o.Size]));
      };
      const buckets = async () =>
        (JSON.parse(await rclone('lsjson', '--dirs-only', 'tg:')) as { Name: string }[]).map((b) => b.Name);

      await rclone('mkdir', `tg:${bucket}`);
      assert.ok((await buckets()).includes(bucket), `${bucket} not listed after mkdir`);
      await rclone('copyto', small.path, `tg:${bucket}/small.bin`);
      await rclone('copyto', big.path, `tg:${bucket}/dir/big.bin`);
      assert.deepEqual(await listed(), { 'dir/big.bin': BIG_SIZE, 'small.bin': SMALL_SIZE });

      // rclone reads the MD5 from the ETag (single part) or from its X-Amz-Meta-Md5chksum metadata (multipart).
      const sums = await rclone('md5sum', `tg:${bucket}`);
      assert.match(sums, new RegExp(`^${small.md5}  small\\.bin$`, 'm'), sums);
      assert.match(sums, new RegExp(`^${big.md5}  dir/big\\.bin$`, 'm'), sums);

      await rclone('copyto', `tg:${bucket}/small.bin`, join(down, 'small.bin'));
      await rclone('copyto', `tg:${bucket}/dir/big.bin`, join(down, 'big.bin'));
      await assertSameFile(join(down, 'small.bin'), small, 'small.bin');
      await assertSameFile(join(down, 'big.bin'), big, 'dir/big.bin');

      // Remote to remote on one S3 remote is a server-side CopyObject.
      await rclone('copyto', `tg:${bucket}/small.bin`, `tg:${bucket}/copy/small.bin`);
      await rclone('copyto', `tg:${bucket}/dir/big.bin`, `tg:${bucket}/copy/big.bin`);
      await rclone('copyto', `tg:${bucket}/copy/small.bin`, join(down, 'copy-small.bin'));
      await rclone('copyto', `tg:${bucket}/copy/big.bin`, join(down, 'copy-big.bin'));
      await assertSameFile(join(down, 'copy-small.bin'), small, 'copy/small.bin');
      await assertSameFile(join(down, 'copy-big.bin'), big, 'copy/big.bin');

      await rclone('deletefile', `tg:${bucket}/small.bin`);
      assert.deepEqual(await listed(), {
        'copy/big.bin': BIG_SIZE,
        'copy/small.bin': SMALL_SIZE,
        'dir/big.bin': BIG_SIZE,
      });

      await mustFail(
        'rclone',
        ['--retries', '1', '--low-level-retries', '1', 'rmdir', `tg:${bucket}`],
        env,
        /BucketNotEmpty/,
      );
      await rclone('delete', `tg:${bucket}`);
      assert.deepEqual(await listed(), {});
      await rclone('rmdir', `tg:${bucket}`);
      assert.ok(!(await buckets()).includes(bucket), `${bucket} still listed after rmdir`);
    },
  );

  it(
    's3cmd: mb, put (single, multipart), ls, info, get, cp, del, rb',
    { timeout: TEST_TIMEOUT_MS },
    async (t: TestContext) => {
      await requireCli('s3cmd', 's3cmd');
      const bucket = 'cli-s3cmd';
      const down = join(base, 's3cmd-down');
      await mkdir(down);
      const config = join(base, 's3cmd.conf');
      const host = `127.0.0.1:${gateway.port}`;
      await writeFile(
        config,
        [
          '[default]',
          `access_key = ${ROOT_USER}`,
          `secret_key = ${ROOT_PASSWORD}`,
          `host_base = ${host}`,
          `host_bucket = ${host}`,
          `bucket_location = ${REGION}`,
          'use_https = False',
          'signature_v2 = False',
          'multipart_chunk_size_mb = 15',
          'max_retries = 0',
          '',
        ].join('\n'),
      );
      const env = cleanEnv({}, ['TIERGATE_', 'AWS_']);
      t.diagnostic((await must('s3cmd', ['--version'], env)).trim());
      const s3cmd = (...args: string[]) => must('s3cmd', ['-c', config, ...args], env);
      const listed = async () => {
        const out = await s3cmd('ls', '-r', `s3://${bucket}`);
        const rows = [...out.matchAll(/^\S+\s+\S+\s+(\d+)\s+s3:\/\/cli-s3cmd\/(\S+)$/gm)];
        return Object.fromEntries(rows.map((m) => [m[2], Number(m[1])]));
      };

      await s3cmd('mb', `s3://${bucket}`);
      await s3cmd('put', small.path, `s3://${bucket}/small.bin`);
      const put = await s3cmd('put', '--progress', big.path, `s3://${bucket}/dir/big.bin`);
      assert.match(
        put.replace(/\r/g, '\n'),
        /\[part 5 of 5, /,
        `the 64 MiB upload should go in 5 parts of 15 MiB:\n${put}`,
      );
      assert.deepEqual(await listed(), { 'dir/big.bin': BIG_SIZE, 'small.bin': SMALL_SIZE });

      // s3cmd keeps the MD5 of a multipart upload in its x-amz-meta-s3cmd-attrs metadata.
      const info = await s3cmd('info', `s3://${bucket}/dir/big.bin`);
      assert.match(info, new RegExp(`File size:\\s+${BIG_SIZE}`), info);
      assert.match(info, new RegExp(`MD5 sum:\\s+${big.md5}`), info);

      await s3cmd('get', '--force', `s3://${bucket}/small.bin`, join(down, 'small.bin'));
      await s3cmd('get', '--force', `s3://${bucket}/dir/big.bin`, join(down, 'big.bin'));
      await assertSameFile(join(down, 'small.bin'), small, 'small.bin');
      await assertSameFile(join(down, 'big.bin'), big, 'dir/big.bin');

      await s3cmd('cp', `s3://${bucket}/small.bin`, `s3://${bucket}/copy/small.bin`);
      await s3cmd('cp', `s3://${bucket}/dir/big.bin`, `s3://${bucket}/copy/big.bin`);
      await s3cmd('get', '--force', `s3://${bucket}/copy/small.bin`, join(down, 'copy-small.bin'));
      await s3cmd('get', '--force', `s3://${bucket}/copy/big.bin`, join(down, 'copy-big.bin'));
      await assertSameFile(join(down, 'copy-small.bin'), small, 'copy/small.bin');
      await assertSameFile(join(down, 'copy-big.bin'), big, 'copy/big.bin');

      await s3cmd('del', `s3://${bucket}/small.bin`);
      assert.deepEqual(await listed(), {
        'copy/big.bin': BIG_SIZE,
        'copy/small.bin': SMALL_SIZE,
        'dir/big.bin': BIG_SIZE,
      });

      await mustFail('s3cmd', ['-c', config, 'rb', `s3://${bucket}`], env, /BucketNotEmpty/);
      // del --recursive deletes in batches with DeleteObjects.
      await s3cmd('del', '--recursive', '--force', `s3://${bucket}`);
      assert.deepEqual(await listed(), {});
      await s3cmd('rb', `s3://${bucket}`);
      const all = await s3cmd('ls');
      assert.doesNotMatch(all, /s3:\/\/cli-s3cmd/, all);
    },
  );
});
