/**
 * ansible/ checked offline on this machine: syntax check, ansible-lint (production profile, offline), then
 * site.yml run twice against localhost into a temp root with service management off (the second run must change
 * nothing), the rendered systemd unit through `systemd-analyze verify`, the gateway started by hand from the
 * rendered root answering /tiergate/health/ready, and the tiergate_admin module applying a tier (on the OSS test
 * server, probed by the gateway) and lifecycle rules transitioning to it through that gateway, once.
 * Drive devices are image files: a blank one gets a filesystem, a formatted one is kept, one with another
 * signature stops the run untouched. Needs ansible-playbook and ansible-lint (bash .ci/run installs Debian's);
 * without them these tests fail, saying so.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { freeLoopbackPort as freePort } from '../../src/redis/embedded-redis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CreateBucketCommand, GetBucketLifecycleConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { startOssServer } from '../fixtures/cloud/oss-server';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const ANSIBLE_DIR = join(ROOT, 'ansible');
const TOOLS = [
  'ansible-playbook',
  'ansible-lint',
  'ansible',
  'systemd-analyze',
  'blkid',
  'mkfs.ext4',
  'mkswap',
];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = ANSIBLE_DIR,
): Promise<Result> {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      cwd,
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', ...env },
      maxBuffer: 32 << 20,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The localhost line of PLAY RECAP as numbers (ok, changed, failed, ...). */
function recap(stdout: string): Record<string, number> {
  const line = /^localhost\s+:\s+(.*)$/m.exec(stdout);
  assert.ok(line, `no PLAY RECAP in:\n${stdout}`);
  return Object.fromEntries([...line[1].matchAll(/(\w+)=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

/** Parses the rendered EnvironmentFile (NAME="json string" lines). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(TIERGATE_[A-Z_]+)=(".*")$/.exec(line);
    if (m) env[m[1]] = JSON.parse(m[2]) as string;
  }
  return env;
}

describe('ansible site.yml, offline on localhost', () => {
  let dir: string;
  let root: string;
  let port: number;
  let inventory: string;
  let vars: string;
  let gateway: ChildProcess | undefined;
  const drives = [1, 2, 3, 4].map((i) => `srv/tiergate/drive${i}`);
  const playbook = (...extra: string[]): Promise<Result> =>
    exec('ansible-playbook', ['-i', inventory, '-e', `@${vars}`, ...extra, 'site.yml']);
  const blkid = (image: string): string =>
    spawnSync('blkid', ['-p', '-o', 'export', join(dir, 'images', image)], { encoding: 'utf8' }).stdout;

  before(async () => {
    const missing = TOOLS.filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
    assert.deepEqual(missing, [], `missing ${missing.join(', ')}: run bash .ci/run, which installs them`);
    dir = await mkdtemp(join(tmpdir(), 'tiergate-ansible-'));
    root = join(dir, 'root');
    port = await freePort();
    // The gateway package, as `npm run package` makes it (dist/ is already built by npm test).
    const packed = await exec('npm', ['pack', '--silent', '--pack-destination', dir], {}, ROOT);
    assert.equal(packed.code, 0, packed.stderr);
    const pkg = (await readdir(dir)).find((f) => /^tiergate-.+\.tgz$/.test(f));
    assert.ok(pkg, 'npm pack made no tiergate-<version>.tgz');
    await mkdir(join(dir, 'images'));
    for (const image of ['blank.img', 'keep.img', 'swap.img']) {
      await writeFile(join(dir, 'images', image), '');
      await truncate(join(dir, 'images', image), 32 << 20);
    }
    assert.equal(spawnSync('mkfs.ext4', ['-q', '-L', 'keepme', join(dir, 'images', 'keep.img')]).status, 0);
    assert.equal(spawnSync('mkswap', [join(dir, 'images', 'swap.img')]).status, 0);
    inventory = join(dir, 'inventory.yml');
    await writeFile(
      inventory,
      [
        'all:',
        '  hosts:',
        '    localhost: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}',
        '  children:',
        '    tiergate: {hosts: {localhost: {}}}',
        '    redis: {hosts: {localhost: {}}}',
        '',
      ].join('\n'),
    );
    vars = join(dir, 'vars.json');
    await writeFile(
      vars,
      JSON.stringify({
        ansible_become: false,
        redis_package_install: false,
        redis_service_manage: false,
        redis_config_path: join(root, 'etc/redis/redis.conf'),
        redis_config_group: 'root',
        redis_dir: join(root, 'var/lib/redis'),
        redis_logfile: '',
        tiergate_nodejs_install: false,
        tiergate_nodejs_bin: process.execPath,
        tiergate_package: join(dir, pkg),
        tiergate_install_dir: join(root, 'opt/tiergate'),
        tiergate_user_manage: false,
        tiergate_user: 'root',
        tiergate_group: 'root',
        tiergate_drives: drives.map((d) => join(root, d)),
        tiergate_drive_devices: [
          { device: join(dir, 'images/blank.img'), path: join(root, drives[0]) },
          { device: join(dir, 'images/keep.img'), path: join(root, drives[1]) },
        ],
        tiergate_drive_fstype: 'ext4',
        tiergate_drive_mkfs_options: ['-q'],
        tiergate_drive_mount_state: 'present',
        tiergate_fstab: join(root, 'etc/fstab'),
        tiergate_config_dir: join(root, 'etc/tiergate'),
        tiergate_systemd_dir: join(root, 'etc/systemd/system'),
        tiergate_service_manage: false,
        tiergate_address: `127.0.0.1:${port}`,
        tiergate_root_user: 'ansible-test',
        tiergate_root_password: 'ansible-test-secret',
      }),
    );
  });

  after(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGTERM');
      await new Promise((resolve) => gateway?.once('exit', resolve));
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('passes ansible-playbook --syntax-check', async () => {
    const result = await exec('ansible-playbook', [
      '-i',
      'inventory/example.yml',
      '--syntax-check',
      'site.yml',
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('passes ansible-lint --offline with the production profile', async () => {
    const result = await exec('ansible-lint', ['--offline', '--profile', 'production', '--nocolor']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /Passed with production profile: 0 failure/);
  });

  it('renders the site into a temp root, and a second run changes nothing', async () => {
    const first = await playbook();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.ok(recap(first.stdout).changed > 0, first.stdout);
    const second = await playbook();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.equal(recap(second.stdout).changed, 0, second.stdout);
    assert.equal(recap(second.stdout).failed, 0);

    const env = parseEnvFile(await readFile(join(root, 'etc/tiergate/tiergate.env'), 'utf8'));
    assert.deepEqual(env, {
      TIERGATE_ADDRESS: `127.0.0.1:${port}`,
      TIERGATE_REGION: 'us-east-1',
      TIERGATE_DRIVES: drives.map((d) => join(root, d)).join(','),
      TIERGATE_ROOT_USER: 'ansible-test',
      TIERGATE_ROOT_PASSWORD: 'ansible-test-secret',
      TIERGATE_KMS: 'local',
    });
    assert.equal((await stat(join(root, 'etc/tiergate/tiergate.env'))).mode & 0o777, 0o640);
    assert.match(
      await readFile(join(root, 'etc/redis/redis.conf'), 'utf8'),
      /^maxmemory-policy noeviction$/m,
    );
  });

  it('formats only the blank drive device and records both in fstab', async () => {
    assert.match(blkid('blank.img'), /^TYPE=ext4$/m);
    assert.match(blkid('keep.img'), /^LABEL=keepme$/m);
    const fstab = await readFile(join(root, 'etc/fstab'), 'utf8');
    assert.match(fstab, new RegExp(`images/blank.img ${join(root, drives[0])} ext4 defaults,noatime`));
    assert.match(fstab, new RegExp(`images/keep.img ${join(root, drives[1])} ext4 defaults,noatime`));
  });

  it('stops before touching a device that holds another signature', async () => {
    const before = blkid('swap.img');
    const config = JSON.parse(await readFile(vars, 'utf8')) as Record<string, unknown>;
    const devices = [{ device: join(dir, 'images/swap.img'), path: join(root, drives[2]) }];
    const result = await playbook('-e', JSON.stringify({ ...config, tiergate_drive_devices: devices }));
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stdout, /swap\.img is not blank \(.*TYPE=swap/);
    assert.equal(blkid('swap.img'), before);
    assert.doesNotMatch(await readFile(join(root, 'etc/fstab'), 'utf8'), /swap\.img/);
  });

  it('renders a systemd unit that passes systemd-analyze verify, hardened', async () => {
    const unit = join(root, 'etc/systemd/system/tiergate.service');
    const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'systemd-analyze printed warnings');
    const text = await readFile(unit, 'utf8');
    for (const option of [
      'NoNewPrivileges=true',
      'ProtectSystem=strict',
      'PrivateTmp=true',
      'ProtectHome=true',
    ])
      assert.ok(text.includes(`\n${option}\n`), `${option} missing`);
    assert.ok(text.includes(`\nReadWritePaths=${drives.map((d) => join(root, d)).join(' ')}\n`));
    assert.ok(text.includes(`\nEnvironmentFile=${join(root, 'etc/tiergate/tiergate.env')}\n`));
  });

  it('starts the rendered gateway by hand and it answers /tiergate/health/ready', async () => {
    const unit = await readFile(join(root, 'etc/systemd/system/tiergate.service'), 'utf8');
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1].split(' ') ?? [];
    const workdir = /^WorkingDirectory=(.*)$/m.exec(unit)?.[1] ?? '';
    const env = parseEnvFile(await readFile(join(root, 'etc/tiergate/tiergate.env'), 'utf8'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIERGATE_')));
    const child = spawn(execStart[0], execStart.slice(1), {
      cwd: workdir,
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    gateway = child;
    let log = '';
    child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    let status = 0;
    let body = '';
    for (let attempt = 0; attempt < 100 && status !== 200 && child.exitCode === null; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const res = await fetch(`http://127.0.0.1:${port}/tiergate/health/ready`).catch(() => undefined);
      status = res?.status ?? 0;
      body = res ? await res.text() : '';
    }
    assert.equal(status, 200, `gateway did not become ready:\n${log}`);
    assert.equal((JSON.parse(body) as { status: string }).status, 'ready');
    assert.match(log, new RegExp(`drives \\(4\\): ${join(root, drives[0])}`));
  });

  it('applies a tier through the admin API and lifecycle rules through the S3 API once, and reports refusals', async () => {
    const args = (secret: string, extra: Record<string, unknown>): string =>
      JSON.stringify({
        url: `http://127.0.0.1:${port}`,
        access_key: 'ansible-test',
        secret_key: secret,
        ...extra,
      });
    const module = (secret: string, extra: Record<string, unknown>): Promise<Result> =>
      exec('ansible', ['localhost', '-c', 'local', '-m', 'tiergate_admin', '-a', args(secret, extra)], {
        ANSIBLE_LIBRARY: join(ANSIBLE_DIR, 'roles/tiergate/library'),
      });
    const oss = await startOssServer({
      buckets: ['cold-tier'],
      credentials: { LTAI5tAnsibleTier: { secret: 'ansible-tier-secret-0123' } },
    });
    const tiers = [
      {
        name: 'COLD',
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'cn-hangzhou',
        bucket: 'cold-tier',
        prefix: 'site/',
        accessKey: 'LTAI5tAnsibleTier',
        secretKey: 'ansible-tier-secret-0123',
      },
    ];
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'ansible-test', secretAccessKey: 'ansible-test-secret' },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
      const lifecycle = [
        {
          bucket: 'photos',
          rules: [
            { ID: 'logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 30 } },
            {
              ID: 'tagged',
              Status: 'Enabled',
              Filter: { Tag: { Key: 'class', Value: 'scratch' } },
              Expiration: { Days: 7 },
            },
            {
              ID: 'cold',
              Status: 'Enabled',
              Filter: { Prefix: 'archive/' },
              Transitions: [{ Days: 30, StorageClass: 'COLD' }],
            },
          ],
        },
      ];
      // A tier whose keys the cloud refuses: the gateway's probe fails and the module says so, secret withheld.
      const refused = await module('ansible-test-secret', {
        tiers: [{ ...tiers[0], secretKey: 'not-the-tier-secret-999' }],
      });
      assert.notEqual(refused.code, 0);
      assert.match(
        refused.stdout,
        /tier COLD: HTTP 400 TierProbeFailed: probe of tier .{1,3}COLD.{1,3} failed at put/,
      );
      assert.doesNotMatch(refused.stdout, /not-the-tier-secret-999/);
      // Before the tier exists, a Transition to it is refused by the gateway.
      const early = await module('ansible-test-secret', { lifecycle });
      assert.notEqual(early.code, 0);
      assert.match(early.stdout, /lifecycle of bucket photos: HTTP 400 InvalidStorageClass/);
      const first = await module('ansible-test-secret', { tiers, lifecycle });
      assert.equal(first.code, 0, first.stdout + first.stderr);
      assert.match(first.stdout, /CHANGED/);
      const stored = await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: 'photos' }));
      assert.deepEqual(
        stored.Rules?.map((r) => [r.ID, r.Expiration?.Days ?? r.Transitions?.[0]?.StorageClass]),
        [
          ['logs', 30],
          ['tagged', 7],
          ['cold', 'COLD'],
        ],
      );
      assert.match(first.stdout, /"tier COLD"/);
      // The gateway probed the tier on the OSS server before saving it, and left nothing there.
      assert.ok(oss.tap.log.some((r) => r.method === 'DELETE' && r.path.includes('site/.tiergate-probe/')));
      assert.equal(oss.store.list('cold-tier', '', '', 10).objects.length, 0);
      // Applying the same tier and rules again reads them back and changes nothing (no probe either).
      const probes = oss.tap.log.length;
      const again = await module('ansible-test-secret', { tiers, lifecycle });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /SUCCESS/);
      assert.doesNotMatch(again.stdout, /ansible-tier-secret-0123/);
      assert.equal(oss.tap.log.length, probes);
      // A wrong secret is refused at the credential check, before anything is applied.
      const bad = await module('not-the-secret', { lifecycle });
      assert.notEqual(bad.code, 0);
      assert.match(
        bad.stdout,
        /ListBuckets \(checks the URL and root credentials\): HTTP 403 SignatureDoesNotMatch/,
      );
    } finally {
      s3.destroy();
      await oss.close();
    }
  });

  it("renders a cluster node: every node's drives as URLs, its own node URL; refuses a cluster without a shared Redis", async () => {
    // A second node the play never connects to (--limit localhost): only its inventory variables are read. Each
    // node's drives are host variables here (extra variables would override every host's).
    const clusterInventory = join(dir, 'cluster.yml');
    const { tiergate_drives: ownDrives, ...common } = JSON.parse(await readFile(vars, 'utf8')) as Record<
      string,
      unknown
    >;
    const clusterVars = join(dir, 'cluster-vars.json');
    await writeFile(clusterVars, JSON.stringify(common));
    await writeFile(
      clusterInventory,
      JSON.stringify({
        all: {
          hosts: {
            localhost: {
              ansible_connection: 'local',
              ansible_python_interpreter: '/usr/bin/python3',
              tiergate_node_address: '127.0.0.1',
              tiergate_drives: ownDrives,
            },
            gw2: {
              ansible_host: '10.0.0.12',
              tiergate_drives: ['/srv/tiergate/drive1', '/srv/tiergate/drive2'],
            },
          },
          children: {
            tiergate: { hosts: { localhost: {}, gw2: {} } },
            redis: { hosts: { localhost: {} } },
          },
        },
      }),
    );
    const cluster = {
      tiergate_cluster_group: 'tiergate',
      tiergate_redis_url: 'redis://10.0.0.11:6379/0',
      tiergate_kms_secret_key: 'a'.repeat(64),
      tiergate_config_dir: join(root, 'etc/tiergate-cluster'),
    };
    const clusterRun = (extra: Record<string, unknown>) =>
      exec('ansible-playbook', [
        '-i',
        clusterInventory,
        '--limit',
        'localhost',
        '-e',
        `@${clusterVars}`,
        '-e',
        JSON.stringify({ ...cluster, ...extra }),
        'site.yml',
      ]);
    const result = await clusterRun({});
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const env = parseEnvFile(await readFile(join(root, 'etc/tiergate-cluster/tiergate.env'), 'utf8'));
    assert.equal(
      env.TIERGATE_DRIVES,
      [
        ...drives.map((d) => `http://127.0.0.1:9100${join(root, d)}`),
        'http://10.0.0.12:9100/srv/tiergate/drive1',
        'http://10.0.0.12:9100/srv/tiergate/drive2',
      ].join(','),
    );
    assert.equal(env.TIERGATE_NODE_URL, 'http://127.0.0.1:9100');
    assert.equal(env.TIERGATE_REDIS_URL, 'redis://10.0.0.11:6379/0');

    const refused = await clusterRun({ tiergate_redis_url: '' });
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stdout, /a cluster needs tiergate_redis_url/);
  });
});
