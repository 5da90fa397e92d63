/**
 * Lifecycle engine benchmark (issue 5). One tiergate child process (`bootstrap()` on 6 temp drives as one 4+2 set,
 * fsync on, its own embedded redis-server, a 1-second lifecycle day) and prints:
 *   1. what scheduling costs a write: PUT ops/s and p50 / p99 latency of 4 KiB objects at concurrency 16 into a
 *      bucket without rules, one with an expiration rule (never due during the run), and a versioned one with the
 *      same rule; three rounds, the order rotating;
 *   2. expiration throughput: objects written as fast as the client can into a bucket whose rule expires them one
 *      lifecycle day later, then the time from the last object's due time until the bucket lists empty, and the
 *      deletes per second from the first due time to empty;
 *   3. a scan: POST /tiergate/admin/v1/lifecycle/scan over a bucket whose rule was stored after its objects.
 *
 * Run with `npm run bench:lifecycle`. Loopback only; the child (and its redis-server) is stopped and the temp
 * directory removed at the end, on error and on Ctrl-C.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { dueAfterDays } from '../src/lifecycle/rules/lifecycle-days';
import { BenchS3Client } from './lib/s3-client';
import { environmentLines, fmt, percentile, runConcurrent, since } from './lib/measure';

const CONCURRENCY = 16;
const SIZE = 4 * 1024;
const PUT_COUNT = 3000;
const ROUNDS = 3;
const EXPIRE_COUNT = 5000;
const SCAN_COUNT = 5000;
const DAY_SECONDS = 1;
const CREDENTIALS = { accessKey: 'benchrootuser', secretKey: 'bench-root-secret-key' };
const REGION = 'us-east-1';
const SERVE = '--serve';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;

const body = Buffer.alloc(SIZE, 0x61);

function title(text: string): void {
  console.log(`\n== ${text}`);
}

// ----- the child ------------------------------------------------------------------------------------------------

async function serve(dir: string): Promise<void> {
  const { Logger } = await import('@nestjs/common');
  const { loadConfig } = await import('../src/config/load-config');
  const { bootstrap } = await import('../src/main');
  Logger.overrideLogger(['error', 'warn']);
  const drives = Array.from({ length: 6 }, (_, i) => path.join(dir, `drive-${i + 1}`));
  await Promise.all(drives.map((d) => fsp.mkdir(d, { recursive: true })));
  const config = loadConfig(
    {
      TIERGATE_DRIVES: drives.join(','),
      TIERGATE_SET_DRIVE_COUNT: '6',
      TIERGATE_PARITY: '2',
      TIERGATE_ADDRESS: '127.0.0.1:0',
      TIERGATE_REGION: REGION,
      TIERGATE_ROOT_USER: CREDENTIALS.accessKey,
      TIERGATE_ROOT_PASSWORD: CREDENTIALS.secretKey,
      TIERGATE_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS),
      TIERGATE_SCANNER_INTERVAL_SECONDS: '3600',
    },
    dir,
  );
  const app = await bootstrap(config);
  process.send!({ port: (app.getHttpServer().address() as AddressInfo).port });
  process.on('message', (m) => {
    if (m === 'stop') void app.close().then(() => process.exit(0));
  });
}

// ----- the parent -----------------------------------------------------------------------------------------------

async function startChild(dir: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = fork(__filename, [SERVE, dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const timer = setTimeout(() => proc.kill('SIGKILL'), START_TIMEOUT_MS);
  try {
    const [msg] = (await Promise.race([
      once(proc, 'message'),
      once(proc, 'exit').then(() => {
        throw new Error('the gateway exited before it was ready');
      }),
    ])) as [{ port: number }];
    return { proc, port: msg.port };
  } finally {
    clearTimeout(timer);
  }
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = once(proc, 'exit');
  proc.send('stop');
  const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await gone;
  clearTimeout(timer);
}

function rules(days: number, versioned = false) {
  return {
    Rules: [
      {
        ID: 'expire',
        Status: 'Enabled' as const,
        Filter: {},
        Expiration: { Days: days },
        ...(versioned ? { NoncurrentVersionExpiration: { NoncurrentDays: days } } : {}),
      },
    ],
  };
}

async function countKeys(s3: S3Client, bucket: string): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    n += out.KeyCount ?? 0;
    token = out.NextContinuationToken;
  } while (token);
  return n;
}

async function adminPost(port: number, pathAndQuery: string): Promise<string> {
  const [p, q] = pathAndQuery.split('?');
  const query = Object.fromEntries(new URLSearchParams(q ?? ''));
  const signer = new SignatureV4({
    service: 's3',
    region: REGION,
    credentials: { accessKeyId: CREDENTIALS.accessKey, secretAccessKey: CREDENTIALS.secretKey },
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    path: p,
    query,
    headers: {
      host: `127.0.0.1:${port}`,
      'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
    },
  });
  const res = await fetch(`http://127.0.0.1:${port}${pathAndQuery}`, {
    method: 'POST',
    headers: signed.headers,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${pathAndQuery}: ${res.status} ${text}`);
  return text;
}

async function writeSection(client: BenchS3Client, s3: S3Client): Promise<void> {
  title(
    `1. PUT of ${SIZE / 1024} KiB objects, ${PUT_COUNT} per bucket per round, concurrency ${CONCURRENCY}: ` +
      'what scheduling costs a write',
  );
  const buckets = ['norules', 'rules', 'rules-versioned'] as const;
  await s3.send(new CreateBucketCommand({ Bucket: 'norules' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'rules' }));
  await s3.send(new CreateBucketCommand({ Bucket: 'rules-versioned' }));
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: 'rules-versioned',
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  // 100,000 one-second days: nothing comes due while the benchmark runs.
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: 'rules', LifecycleConfiguration: rules(100_000) }),
  );
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({
      Bucket: 'rules-versioned',
      LifecycleConfiguration: rules(100_000, true),
    }),
  );
  const results = new Map<string, { ops: number; p50: number; p99: number }[]>(buckets.map((b) => [b, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = buckets.map((_, i) => buckets[(i + round) % buckets.length]);
    for (const bucket of order) {
      const t0 = performance.now();
      const lat = await runConcurrent(PUT_COUNT, CONCURRENCY, async (i) => {
        await client.putObject(bucket, `r${round}/o${i}`, body, SIZE);
      });
      const ms = since(t0);
      results
        .get(bucket)!
        .push({ ops: PUT_COUNT / (ms / 1000), p50: percentile(lat, 50), p99: percentile(lat, 99) });
    }
  }
  console.log('   bucket            round   PUT ops/s  p50 ms  p99 ms');
  for (const bucket of buckets) {
    results.get(bucket)!.forEach((r, round) => {
      console.log(
        `   ${(round === 0 ? bucket : '').padEnd(17)} ${fmt(round + 1, 0, 5)} ${fmt(r.ops, 0, 11)} ${fmt(r.p50, 2, 7)} ${fmt(r.p99, 2, 7)}`,
      );
    });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(results.get('norules')!.map((r) => r.ops));
  for (const bucket of ['rules', 'rules-versioned'] as const) {
    const m = median(results.get(bucket)!.map((r) => r.ops));
    console.log(
      `   ${bucket}: median ${fmt(m, 0, 0)} ops/s, ${fmt(m / base, 2, 0)}x the bucket without rules`,
    );
  }
}

async function expireSection(client: BenchS3Client, s3: S3Client): Promise<void> {
  title(`2. Expiration: ${EXPIRE_COUNT} objects under Expiration Days 1, a ${DAY_SECONDS}-second day`);
  await s3.send(new CreateBucketCommand({ Bucket: 'expiring' }));
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: 'expiring', LifecycleConfiguration: rules(1) }),
  );
  const t0 = Date.now();
  await runConcurrent(EXPIRE_COUNT, CONCURRENCY, async (i) => {
    await client.putObject('expiring', `o${i}`, body, SIZE);
  });
  const written = Date.now();
  // Each object's modification time lies in [t0, written]: its due time in [firstDue, lastDue].
  const firstDue = dueAfterDays(t0, 1, DAY_SECONDS);
  const lastDue = dueAfterDays(written, 1, DAY_SECONDS);
  let left = EXPIRE_COUNT;
  let empty = 0;
  while (left > 0) {
    left = await countKeys(s3, 'expiring');
    empty = Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, 200));
  }
  console.log(
    `   written in ${fmt((written - t0) / 1000, 2, 0)} s (${fmt(EXPIRE_COUNT / ((written - t0) / 1000), 0, 0)} PUT/s)`,
  );
  console.log(
    `   bucket empty ${fmt((empty - lastDue) / 1000, 2, 0)} s after the last object's latest due time`,
  );
  console.log(
    `   ${fmt(EXPIRE_COUNT / ((empty - firstDue) / 1000), 0, 0)} expirations/s from the first due time to empty ` +
      `(an upper bound on time, so a lower bound on rate; listing passes add up to a few hundred ms)`,
  );
}

async function scanSection(client: BenchS3Client, s3: S3Client, port: number): Promise<void> {
  title(`3. Scan: POST /tiergate/admin/v1/lifecycle/scan over ${SCAN_COUNT} objects whose rule came later`);
  await s3.send(new CreateBucketCommand({ Bucket: 'scanned' }));
  await runConcurrent(SCAN_COUNT, CONCURRENCY, async (i) => {
    await client.putObject('scanned', `o${i}`, body, SIZE);
  });
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: 'scanned', LifecycleConfiguration: rules(100_000) }),
  );
  for (let run = 1; run <= 2; run++) {
    const t0 = performance.now();
    const report = JSON.parse(await adminPost(port, '/tiergate/admin/v1/lifecycle/scan?bucket=scanned')) as {
      versions: number;
      scheduled: number;
    };
    const ms = since(t0);
    console.log(
      `   run ${run}: ${report.versions} versions, ${report.scheduled} jobs asked for in ${fmt(ms / 1000, 2, 0)} s ` +
        `(${fmt(report.versions / (ms / 1000), 0, 0)} versions/s)${run === 2 ? ', every job already queued' : ''}`,
    );
  }
}

async function main(): Promise<void> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'tiergate-bench-lifecycle-'));
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child) await stopChild(child).catch(() => child?.kill('SIGKILL'));
    await fsp.rm(root, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    for (const line of environmentLines(root)) console.log(line);
    const started = await startChild(path.join(root, 'tiergate'));
    child = started.proc;
    const client = new BenchS3Client({
      host: '127.0.0.1',
      port: started.port,
      accessKey: CREDENTIALS.accessKey,
      secretKey: CREDENTIALS.secretKey,
      region: REGION,
      maxSockets: CONCURRENCY,
    });
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${started.port}`,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: CREDENTIALS.accessKey, secretAccessKey: CREDENTIALS.secretKey },
    });
    try {
      await writeSection(client, s3);
      await expireSection(client, s3);
      await scanSection(client, s3, started.port);
    } finally {
      client.close();
      s3.destroy();
    }
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === SERVE) {
  serve(process.argv[3]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
