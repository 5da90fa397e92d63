import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { ConfigError } from './config-error';
import { DEV_ROOT_CREDENTIALS, type Env, loadConfig } from './load-config';

const CWD = '/srv/tiergate';
const KEY_HEX = 'ab'.repeat(32);
const KEY_B64 = Buffer.alloc(32, 9).toString('base64');
const ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ROOT = { TIERGATE_ROOT_USER: 'admin', TIERGATE_ROOT_PASSWORD: 's3cr3t-p@ss' };

/** Loads `env` and returns the ConfigError it must throw. */
function configError(env: Env): ConfigError {
  try {
    loadConfig(env, CWD);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${inspect(err)}`);
    return err;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be rejected`);
}

describe('loadConfig', () => {
  it('applies the defaults to an empty environment', () => {
    const config = loadConfig({}, CWD);
    assert.deepEqual(config.address, { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(
      config.storage.drives,
      [1, 2, 3, 4].map((i) => `${CWD}/data/drive${i}`),
    );
    assert.equal(config.storage.setDriveCount, undefined);
    assert.equal(config.storage.parity, undefined);
    assert.equal(config.root.accessKeyId, DEV_ROOT_CREDENTIALS.user);
    assert.equal(config.root.secretAccessKey.reveal(), DEV_ROOT_CREDENTIALS.password);
    assert.equal(config.root.isDevDefault, true);
    assert.equal(config.redis.url, undefined);
    assert.equal(config.redis.embeddedDir, `${CWD}/data/redis`);
    assert.equal(config.redis.queuePrefix, 'tiergate');
    assert.deepEqual(
      { ...config.kms },
      { provider: 'local', keyId: undefined, masterKey: undefined, keyFile: `${CWD}/data/kms/master.key` },
    );
    assert.deepEqual(config.lifecycle, {
      daySeconds: 86400,
      scannerIntervalSeconds: 3600,
      lockSeconds: 30,
      orphanGraceSeconds: 3600,
    });
  });

  it('warns loudly about the development credentials, and only then', () => {
    assert.match(
      loadConfig({}, CWD).warnings.join('\n'),
      /TIERGATE_ROOT_USER and TIERGATE_ROOT_PASSWORD are not set/,
    );
    assert.deepEqual(loadConfig(ROOT, CWD).warnings, []);
  });

  it('treats blank values as unset', () => {
    const config = loadConfig(
      { TIERGATE_ADDRESS: '', TIERGATE_PARITY: '  ', TIERGATE_ROOT_PASSWORD: '' },
      CWD,
    );
    assert.equal(config.address.port, 9000);
    assert.equal(config.root.isDevDefault, true);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig(ROOT, CWD);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.address));
    assert.ok(Object.isFrozen(config.storage.drives));
    assert.throws(() => (config.storage.drives as string[]).push('/x'), TypeError);
  });

  it('never shows secrets when the config is printed', () => {
    const env = {
      ...ROOT,
      TIERGATE_REDIS_URL: 'redis://:pw-in-url@h:6379',
      TIERGATE_KMS_SECRET_KEY: KEY_HEX,
    };
    const printed = inspect(loadConfig(env, CWD), { depth: 10 }) + JSON.stringify(loadConfig(env, CWD));
    for (const secret of ['s3cr3t-p@ss', 'pw-in-url', KEY_HEX]) assert.ok(!printed.includes(secret), secret);
  });

  describe('accepts', () => {
    const good: [Env, (c: ReturnType<typeof loadConfig>) => unknown, unknown][] = [
      [{ TIERGATE_ADDRESS: '[::1]:9100' }, (c) => c.address, { host: '::1', port: 9100 }],
      [{ TIERGATE_ADDRESS: ' 0.0.0.0:80 ' }, (c) => c.address, { host: '0.0.0.0', port: 80 }],
      [{ TIERGATE_ADDRESS: ':9000' }, (c) => c.address, { port: 9000 }],
      [{ TIERGATE_DRIVES: '/mnt/disk{1...8}' }, (c) => c.storage.drives.length, 8],
      [{ TIERGATE_DRIVES: 'd{1...4}' }, (c) => c.storage.drives[3], `${CWD}/d4`],
      [{ TIERGATE_DRIVES: '/a,/b,/c' }, (c) => c.storage.drives, ['/a', '/b', '/c']],
      [{ TIERGATE_DRIVES: '/d{1...8}', TIERGATE_SET_DRIVE_COUNT: '4' }, (c) => c.storage.setDriveCount, 4],
      [{ TIERGATE_DRIVES: '/d{1...16}', TIERGATE_SET_DRIVE_COUNT: '16' }, (c) => c.storage.setDriveCount, 16],
      [{ TIERGATE_PARITY: '2' }, (c) => c.storage.parity, 2],
      [{ TIERGATE_DRIVES: '/d{1...6}', TIERGATE_PARITY: '3' }, (c) => c.storage.parity, 3],
      [
        ROOT,
        (c) => [c.root.accessKeyId, c.root.secretAccessKey.reveal(), c.root.isDevDefault],
        ['admin', 's3cr3t-p@ss', false],
      ],
      [
        { TIERGATE_REDIS_URL: 'redis://127.0.0.1:6379/2' },
        (c) => c.redis.url?.reveal(),
        'redis://127.0.0.1:6379/2',
      ],
      [{ TIERGATE_QUEUE_PREFIX: 'tg-test.1' }, (c) => c.redis.queuePrefix, 'tg-test.1'],
      [{ TIERGATE_DRIVES: '/srv/tg/drives/d{1...4}' }, (c) => c.redis.embeddedDir, '/srv/tg/drives/redis'],
      [{ TIERGATE_DRIVES: '/mnt/disk{1...4}/tg' }, (c) => c.redis.embeddedDir, '/mnt/redis'],
      [{ TIERGATE_DRIVES: '/a/x,/b/y' }, (c) => c.redis.embeddedDir, '/a/redis'],
      [
        { TIERGATE_DRIVES: '/data/redis,/data/x', TIERGATE_REDIS_URL: 'redis://h:1' },
        (c) => c.redis.url?.reveal(),
        'redis://h:1',
      ],
      [
        { TIERGATE_REDIS_URL: 'rediss://u:p@r.example:6380' },
        (c) => c.redis.url?.reveal(),
        'rediss://u:p@r.example:6380',
      ],
      [
        { TIERGATE_KMS_SECRET_KEY: KEY_HEX },
        (c) => c.kms.provider === 'local' && c.kms.masterKey?.reveal(),
        Buffer.from(KEY_HEX, 'hex'),
      ],
      [
        { TIERGATE_KMS_SECRET_KEY: KEY_B64 },
        (c) => c.kms.provider === 'local' && c.kms.masterKey?.reveal(),
        Buffer.alloc(32, 9),
      ],
      [{ TIERGATE_KMS: 'local', TIERGATE_KMS_KEY_ID: 'my-key' }, (c) => c.kms.keyId, 'my-key'],
      [
        { TIERGATE_DRIVES: '/srv/tg/drives/d{1...4}' },
        (c) => c.kms.provider === 'local' && c.kms.keyFile,
        '/srv/tg/drives/kms/master.key',
      ],
      [
        { TIERGATE_DRIVES: '/data/kms,/data/x', TIERGATE_KMS_SECRET_KEY: KEY_HEX },
        (c) => c.storage.drives,
        ['/data/kms', '/data/x'],
      ],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: 'alias/tiergate', TIERGATE_KMS_REGION: 'us-east-1' },
        (c) => ({ ...c.kms }),
        { provider: 'aws', keyId: 'alias/tiergate', region: 'us-east-1', endpoint: undefined },
      ],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: ARN },
        (c) => c.kms.provider === 'aws' && c.kms.region,
        'eu-west-1',
      ],
      [
        {
          TIERGATE_KMS: 'alibaba',
          TIERGATE_KMS_KEY_ID: 'key-hzz62f1cb66fa42qo****',
          TIERGATE_KMS_REGION: 'cn-hangzhou',
          TIERGATE_KMS_ENDPOINT: 'https://kst-hzz62ee817bvyyr5x****.cryptoservice.kms.aliyuncs.com',
        },
        (c) => c.kms.provider === 'alibaba' && c.kms.endpoint,
        'https://kst-hzz62ee817bvyyr5x****.cryptoservice.kms.aliyuncs.com',
      ],
      [
        { TIERGATE_LIFECYCLE_DAY_SECONDS: '10' },
        (c) => c.lifecycle,
        { daySeconds: 10, scannerIntervalSeconds: 1, lockSeconds: 30, orphanGraceSeconds: 3600 },
      ],
      [{ TIERGATE_LOCK_SECONDS: '3' }, (c) => c.lifecycle.lockSeconds, 3],
      [{ TIERGATE_TIER_ORPHAN_GRACE_SECONDS: '60' }, (c) => c.lifecycle.orphanGraceSeconds, 60],
      [{ TIERGATE_LIFECYCLE_DAY_SECONDS: '240' }, (c) => c.lifecycle.scannerIntervalSeconds, 10],
      [{ TIERGATE_SCANNER_INTERVAL_SECONDS: '60' }, (c) => c.lifecycle.scannerIntervalSeconds, 60],
    ];
    for (const [env, pick, expected] of good) {
      it(JSON.stringify(env), () => assert.deepEqual(pick(loadConfig(env, CWD)), expected));
    }
  });

  describe('rejects, naming the variable', () => {
    const bad: [Env, string, RegExp][] = [
      [{ TIERGATE_ADDRESS: '9000' }, 'TIERGATE_ADDRESS', /expected host:port/],
      [{ TIERGATE_ADDRESS: 'localhost:99999' }, 'TIERGATE_ADDRESS', /port "99999"/],
      [{ TIERGATE_ADDRESS: '::1:9000' }, 'TIERGATE_ADDRESS', /brackets/],
      [{ TIERGATE_DRIVES: '/only-one' }, 'TIERGATE_DRIVES', /at least 2/],
      [{ TIERGATE_DRIVES: '/d{4...1}' }, 'TIERGATE_DRIVES', /runs backwards/],
      [{ TIERGATE_DRIVES: '/a,/a' }, 'TIERGATE_DRIVES', /listed twice/],
      [{ TIERGATE_SET_DRIVE_COUNT: '1' }, 'TIERGATE_SET_DRIVE_COUNT', /from 2 to 16/],
      [{ TIERGATE_SET_DRIVE_COUNT: '17' }, 'TIERGATE_SET_DRIVE_COUNT', /from 2 to 16/],
      [
        { TIERGATE_SET_DRIVE_COUNT: '3' },
        'TIERGATE_SET_DRIVE_COUNT',
        /4 drives cannot be split into sets of 3/,
      ],
      [
        { TIERGATE_SET_DRIVE_COUNT: '8' },
        'TIERGATE_SET_DRIVE_COUNT',
        /4 drives cannot be split into sets of 8/,
      ],
      [{ TIERGATE_PARITY: '0' }, 'TIERGATE_PARITY', /from 1 to 8/],
      [{ TIERGATE_PARITY: '2.5' }, 'TIERGATE_PARITY', /"2.5" is not a whole number/],
      [{ TIERGATE_PARITY: '-1' }, 'TIERGATE_PARITY', /not a whole number/],
      [{ TIERGATE_PARITY: '1e1' }, 'TIERGATE_PARITY', /not a whole number/],
      [{ TIERGATE_PARITY: '3' }, 'TIERGATE_PARITY', /need sets of at least 6 drives, not 4/],
      [
        { TIERGATE_DRIVES: '/d{1...8}', TIERGATE_SET_DRIVE_COUNT: '4', TIERGATE_PARITY: '3' },
        'TIERGATE_PARITY',
        /not 4/,
      ],
      [{ TIERGATE_ROOT_USER: 'admin' }, 'TIERGATE_ROOT_PASSWORD', /set together with TIERGATE_ROOT_USER/],
      [
        { TIERGATE_ROOT_PASSWORD: 'long-enough' },
        'TIERGATE_ROOT_USER',
        /set together with TIERGATE_ROOT_PASSWORD/,
      ],
      [{ ...ROOT, TIERGATE_ROOT_USER: 'ab' }, 'TIERGATE_ROOT_USER', /3-128 characters/],
      [{ ...ROOT, TIERGATE_ROOT_USER: 'a/b/c' }, 'TIERGATE_ROOT_USER', /3-128 characters/],
      [{ ...ROOT, TIERGATE_ROOT_PASSWORD: 'short' }, 'TIERGATE_ROOT_PASSWORD', /8-128 printable/],
      [{ ...ROOT, TIERGATE_ROOT_PASSWORD: 'has a space' }, 'TIERGATE_ROOT_PASSWORD', /without spaces/],
      [{ TIERGATE_REDIS_URL: 'localhost:6379' }, 'TIERGATE_REDIS_URL', /expected redis:\/\/host:port/],
      [{ TIERGATE_REDIS_URL: 'http://localhost:6379' }, 'TIERGATE_REDIS_URL', /got a http: URL/],
      [{ TIERGATE_REDIS_URL: 'not a url' }, 'TIERGATE_REDIS_URL', /is not a URL/],
      [{ TIERGATE_QUEUE_PREFIX: 'a:b' }, 'TIERGATE_QUEUE_PREFIX', /1-64 letters/],
      [{ TIERGATE_DRIVES: '/data/redis,/data/x' }, 'TIERGATE_DRIVES', /overlaps \/data\/redis/],
      [{ TIERGATE_DRIVES: '/data/redis/x,/data/y' }, 'TIERGATE_DRIVES', /overlaps/],
      [
        { TIERGATE_DRIVES: '/data/kms,/data/x' },
        'TIERGATE_DRIVES',
        /overlaps \/data\/kms, where the local KMS keeps its master key file/,
      ],
      [{ TIERGATE_KMS: 'vault' }, 'TIERGATE_KMS', /"vault" is not one of local, aws, alibaba/],
      [{ TIERGATE_KMS: 'AWS' }, 'TIERGATE_KMS', /not one of/],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_REGION: 'us-east-1' },
        'TIERGATE_KMS_KEY_ID',
        /required with TIERGATE_KMS=aws/,
      ],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: 'alias/x' },
        'TIERGATE_KMS_REGION',
        /required with TIERGATE_KMS=aws/,
      ],
      [
        { TIERGATE_KMS: 'alibaba', TIERGATE_KMS_KEY_ID: 'k' },
        'TIERGATE_KMS_REGION',
        /required with TIERGATE_KMS=alibaba/,
      ],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: ARN, TIERGATE_KMS_REGION: 'us-east-1' },
        'TIERGATE_KMS_REGION',
        /us-east-1 differs from the region eu-west-1/,
      ],
      [{ TIERGATE_KMS_REGION: 'US East' }, 'TIERGATE_KMS_REGION', /not a region name/],
      [{ TIERGATE_KMS_ENDPOINT: 'kms.local:4000' }, 'TIERGATE_KMS_ENDPOINT', /not an http/],
      [{ TIERGATE_KMS_KEY_ID: 'a b' }, 'TIERGATE_KMS_KEY_ID', /without spaces/],
      [{ TIERGATE_KMS_SECRET_KEY: 'ab'.repeat(16) }, 'TIERGATE_KMS_SECRET_KEY', /256-bit key/],
      [
        { TIERGATE_KMS_SECRET_KEY: Buffer.alloc(16).toString('base64') },
        'TIERGATE_KMS_SECRET_KEY',
        /256-bit/,
      ],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: ARN, TIERGATE_KMS_SECRET_KEY: KEY_HEX },
        'TIERGATE_KMS_SECRET_KEY',
        /local KMS master key/,
      ],
      [{ TIERGATE_LIFECYCLE_DAY_SECONDS: '0' }, 'TIERGATE_LIFECYCLE_DAY_SECONDS', /from 1 to 86400/],
      [
        { TIERGATE_LIFECYCLE_DAY_SECONDS: 'day' },
        'TIERGATE_LIFECYCLE_DAY_SECONDS',
        /"day" is not a whole number/,
      ],
      [
        { TIERGATE_SCANNER_INTERVAL_SECONDS: '604801' },
        'TIERGATE_SCANNER_INTERVAL_SECONDS',
        /from 1 to 604800/,
      ],
    ];
    for (const [env, variable, reason] of bad) {
      it(`${variable} in ${JSON.stringify(env)}`, () => {
        const error = configError(env);
        assert.deepEqual(
          error.issues.map((i) => i.variable),
          [variable],
        );
        assert.match(error.issues[0].message, reason);
        assert.ok(error.message.includes(`${variable}: `), error.message);
      });
    }
  });

  it('reports every bad variable at once, in schema order', () => {
    const error = configError({ TIERGATE_PARITY: 'x', TIERGATE_ADDRESS: 'nope', TIERGATE_KMS: 'nope' });
    assert.deepEqual(
      error.issues.map((i) => i.variable),
      ['TIERGATE_ADDRESS', 'TIERGATE_PARITY', 'TIERGATE_KMS'],
    );
    assert.match(error.message, /^Invalid tiergate configuration:\n {2}TIERGATE_ADDRESS: /);
  });

  it('reports a bad variable once, not again through the rules that depend on it', () => {
    const table: [Env, string[]][] = [
      [{ TIERGATE_ROOT_USER: 'x', TIERGATE_ROOT_PASSWORD: 'long-enough' }, ['TIERGATE_ROOT_USER']],
      [
        { TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: 'a b', TIERGATE_KMS_REGION: 'x y' },
        ['TIERGATE_KMS_KEY_ID', 'TIERGATE_KMS_REGION'],
      ],
      [{ TIERGATE_SET_DRIVE_COUNT: '99', TIERGATE_PARITY: '3' }, ['TIERGATE_SET_DRIVE_COUNT']],
      [{ TIERGATE_DRIVES: '/x', TIERGATE_SET_DRIVE_COUNT: '4' }, ['TIERGATE_DRIVES']],
    ];
    for (const [env, variables] of table) {
      assert.deepEqual(
        configError(env).issues.map((i) => i.variable),
        variables,
        JSON.stringify(env),
      );
    }
  });

  it('never echoes a rejected secret', () => {
    const error = configError({
      TIERGATE_ROOT_USER: 'admin',
      TIERGATE_ROOT_PASSWORD: 'p w',
      TIERGATE_KMS_SECRET_KEY: 'sekrit',
    });
    assert.ok(!error.message.includes('p w') && !error.message.includes('sekrit'), error.message);
  });

  it('warns about unknown TIERGATE_* variables and suggests the likely one', () => {
    const { warnings } = loadConfig(
      { ...ROOT, TIERGATE_DRIVE: '/x', TIERGATE_FOO: '1', OTHER_VAR: '1' },
      CWD,
    );
    assert.deepEqual(warnings, [
      'TIERGATE_DRIVE is not a tiergate variable and is ignored (did you mean TIERGATE_DRIVES?)',
      'TIERGATE_FOO is not a tiergate variable and is ignored',
    ]);
  });

  it('warns about cloud-only KMS variables given to the local KMS', () => {
    const { warnings } = loadConfig({ ...ROOT, TIERGATE_KMS_REGION: 'us-east-1' }, CWD);
    assert.deepEqual(warnings, ['TIERGATE_KMS_REGION is ignored with TIERGATE_KMS=local']);
  });
});

describe('loadConfig in a cluster', () => {
  const DRIVES = 'http://10.0.1.{1...2}:9100/mnt/disk{1...4}';
  const CLUSTER = {
    ...ROOT,
    TIERGATE_DRIVES: DRIVES,
    TIERGATE_NODE_URL: 'http://10.0.1.2:9100',
    TIERGATE_REDIS_URL: 'redis://10.0.1.9:6379',
    TIERGATE_KMS_SECRET_KEY: KEY_HEX,
  };

  it("gives this node's own drives and keeps the embedded redis and key file paths on them", () => {
    const config = loadConfig(CLUSTER, CWD);
    assert.equal(config.storage.drives.length, 8);
    assert.equal(config.storage.drives[0], 'http://10.0.1.1:9100/mnt/disk1');
    assert.equal(config.storage.drives[7], 'http://10.0.1.2:9100/mnt/disk4');
    assert.equal(config.storage.nodeUrl, 'http://10.0.1.2:9100');
    assert.deepEqual(
      config.storage.localDrives,
      [1, 2, 3, 4].map((i) => `/mnt/disk${i}`),
    );
    assert.equal(config.redis.url?.reveal(), 'redis://10.0.1.9:6379');
    assert.equal(config.redis.embeddedDir, '/mnt/redis');
    assert.ok(config.kms.provider === 'local');
    assert.equal(config.kms.keyFile, '/mnt/kms/master.key');
    assert.deepEqual(config.kms.masterKey?.reveal(), Buffer.from(KEY_HEX, 'hex'));
  });

  it('takes the data root from the local drives only', () => {
    const config = loadConfig(
      {
        ...CLUSTER,
        TIERGATE_DRIVES: 'http://n1:9100/srv/n1/d{1...2},http://n2:9100/data/tg/d{1...2}',
        TIERGATE_NODE_URL: 'http://n2:9100',
      },
      CWD,
    );
    assert.deepEqual(config.storage.localDrives, ['/data/tg/d1', '/data/tg/d2']);
    assert.equal(config.redis.embeddedDir, '/data/tg/redis');
    assert.equal(config.kms.provider === 'local' && config.kms.keyFile, '/data/tg/kms/master.key');
  });

  it('normalises the node URL to its origin', () => {
    const config = loadConfig({ ...CLUSTER, TIERGATE_NODE_URL: ' http://10.0.1.2:9100/ ' }, CWD);
    assert.equal(config.storage.nodeUrl, 'http://10.0.1.2:9100');
    assert.equal(config.storage.localDrives.length, 4);
  });

  it('needs no master key with a cloud KMS', () => {
    const { TIERGATE_KMS_SECRET_KEY: _unused, ...rest } = CLUSTER;
    const config = loadConfig({ ...rest, TIERGATE_KMS: 'aws', TIERGATE_KMS_KEY_ID: ARN }, CWD);
    assert.equal(config.kms.provider, 'aws');
    assert.equal(config.storage.localDrives.length, 4);
  });

  it('keeps every drive local and no node URL outside a cluster', () => {
    const config = loadConfig({ TIERGATE_DRIVES: '/a,/b' }, CWD);
    assert.deepEqual(config.storage.localDrives, ['/a', '/b']);
    assert.equal(config.storage.nodeUrl, undefined);
    assert.equal('nodeUrl' in config.storage, false);
  });

  const without = (name: keyof typeof CLUSTER): Env => {
    const env: Record<string, string> = { ...CLUSTER };
    delete env[name];
    return env;
  };
  const bad: [string, Env, string[], RegExp][] = [
    [
      'drive URLs without TIERGATE_NODE_URL',
      without('TIERGATE_NODE_URL'),
      ['TIERGATE_NODE_URL'],
      /drive URLs \(a cluster\) need this node's URL/,
    ],
    [
      'TIERGATE_NODE_URL with local directories',
      { ...ROOT, TIERGATE_DRIVES: '/mnt/d{1...4}', TIERGATE_NODE_URL: 'http://10.0.1.2:9100' },
      ['TIERGATE_NODE_URL'],
      /set only in a cluster/,
    ],
    [
      'TIERGATE_NODE_URL with the default drives',
      { ...ROOT, TIERGATE_NODE_URL: 'http://10.0.1.2:9100' },
      ['TIERGATE_NODE_URL'],
      /set only in a cluster/,
    ],
    [
      'a TIERGATE_NODE_URL no drive is served at',
      { ...CLUSTER, TIERGATE_NODE_URL: 'http://10.0.1.3:9100' },
      ['TIERGATE_NODE_URL'],
      /no drive in TIERGATE_DRIVES is served at http:\/\/10\.0\.1\.3:9100/,
    ],
    [
      'a TIERGATE_NODE_URL on another port',
      { ...CLUSTER, TIERGATE_NODE_URL: 'http://10.0.1.2:9101' },
      ['TIERGATE_NODE_URL'],
      /no drive in TIERGATE_DRIVES is served at/,
    ],
    [
      'a TIERGATE_NODE_URL with a path',
      { ...CLUSTER, TIERGATE_NODE_URL: 'http://10.0.1.2:9100/mnt' },
      ['TIERGATE_NODE_URL'],
      /give the origin only/,
    ],
    [
      'a TIERGATE_NODE_URL without a port',
      { ...CLUSTER, TIERGATE_NODE_URL: 'http://10.0.1.2' },
      ['TIERGATE_NODE_URL'],
      /is not http:\/\/host:port/,
    ],
    [
      'a TIERGATE_NODE_URL that is not a URL',
      { ...CLUSTER, TIERGATE_NODE_URL: '10.0.1.2 9100' },
      ['TIERGATE_NODE_URL'],
      /is not a URL/,
    ],
    [
      'a cluster without TIERGATE_REDIS_URL',
      without('TIERGATE_REDIS_URL'),
      ['TIERGATE_REDIS_URL'],
      /a cluster needs one Redis shared by every node/,
    ],
    [
      'a cluster with the local KMS and no TIERGATE_KMS_SECRET_KEY',
      without('TIERGATE_KMS_SECRET_KEY'),
      ['TIERGATE_KMS_SECRET_KEY'],
      /a cluster with the local KMS needs the same master key on every node/,
    ],
    [
      'a cluster with neither',
      { ...ROOT, TIERGATE_DRIVES: DRIVES, TIERGATE_NODE_URL: 'http://10.0.1.1:9100' },
      ['TIERGATE_REDIS_URL', 'TIERGATE_KMS_SECRET_KEY'],
      /a cluster needs one Redis/,
    ],
    [
      'drive URLs mixed with directories',
      { ...CLUSTER, TIERGATE_DRIVES: '/mnt/d1,http://10.0.1.2:9100/mnt/d2' },
      ['TIERGATE_DRIVES'],
      /not both/,
    ],
  ];
  for (const [what, env, variables, reason] of bad) {
    it(`rejects ${what}`, () => {
      const error = configError(env);
      assert.deepEqual(
        error.issues.map((i) => i.variable),
        variables,
      );
      assert.match(error.issues[0].message, reason);
    });
  }
});
