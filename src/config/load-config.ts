/**
 * Builds the TiergateConfig from an environment, once, at boot. Pure: the caller passes the environment and the
 * working directory (main.ts passes process.env; nothing else in src/ reads it). Every invalid variable is
 * collected into one ConfigError naming the variable and the reason; the result is deeply frozen.
 */
import { dirname, join, sep } from 'node:path';
import { ConfigError, type ConfigIssue } from './config-error';
import { isDriveUrl, localDriveDirs } from './drive-list';
import { ENV_SCHEMA, type EnvName, type EnvValues, type EnvVariable } from './env.schema';
import { Secret } from './secret';
import type {
  CloudKmsConfig,
  LifecycleConfig,
  LocalKmsConfig,
  RootCredentials,
  StorageConfig,
  TiergateConfig,
} from './tiergate-config';

/** The development root credentials used when neither TIERGATE_ROOT_USER nor TIERGATE_ROOT_PASSWORD is set. */
export const DEV_ROOT_CREDENTIALS = Object.freeze({ user: 'tiergateadmin', password: 'tiergateadmin' });

/** An environment as Node gives it (process.env) or as a test writes it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Parses and validates `env`; throws ConfigError listing every bad variable. Relative drives resolve against `cwd`. */
export function loadConfig(env: Env, cwd: string = process.cwd()): TiergateConfig {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const issue = (variable: EnvName, message: string) => issues.push({ variable, message });
  const values = parseEach(env, cwd, issue);
  warnUnknown(env, warnings);
  // Rules spanning variables only look at variables that parsed, so one mistake is reported once.
  const invalid = new Set(issues.map((i) => i.variable));
  const anyInvalid = (...names: EnvName[]) => names.some((name) => invalid.has(name));

  const storage = anyInvalid(
    'TIERGATE_DRIVES',
    'TIERGATE_NODE_URL',
    'TIERGATE_SET_DRIVE_COUNT',
    'TIERGATE_PARITY',
  )
    ? undefined
    : storageConfig(values, issue);
  const root = anyInvalid('TIERGATE_ROOT_USER', 'TIERGATE_ROOT_PASSWORD')
    ? undefined
    : rootCredentials(values, issue, warnings);
  const kms = anyInvalid(
    'TIERGATE_KMS',
    'TIERGATE_KMS_KEY_ID',
    'TIERGATE_KMS_REGION',
    'TIERGATE_KMS_SECRET_KEY',
  )
    ? undefined
    : kmsConfig(values, issue, warnings);
  if (storage?.nodeUrl !== undefined) clusterRules(values, kms, issue);
  if (storage && values.TIERGATE_REDIS_URL === undefined) checkEmbeddedRedisDir(storage.localDrives, issue);
  if (storage && kms?.provider === 'local' && kms.masterKey === undefined)
    checkKmsKeyDir(storage.localDrives, issue);
  const lifecycle = lifecycleConfig(values);
  if (issues.length > 0) throw new ConfigError(issues);
  // Each part above is undefined only when it recorded an issue, so past this point all are set.
  return deepFreeze({
    address: values.TIERGATE_ADDRESS!,
    s3: { region: values.TIERGATE_REGION!, domains: values.TIERGATE_DOMAIN ?? [] },
    storage: storage!,
    root: root!,
    redis: {
      ...(values.TIERGATE_REDIS_URL ? { url: values.TIERGATE_REDIS_URL } : {}),
      embeddedDir: join(dataRoot(storage!.localDrives), 'redis'),
      queuePrefix: values.TIERGATE_QUEUE_PREFIX!,
    },
    kms: kms!.provider === 'local' ? { ...kms!, keyFile: kmsKeyFile(storage!.localDrives) } : kms!,
    lifecycle: lifecycle!,
    warnings,
  });
}

function parseEach(env: Env, cwd: string, issue: (v: EnvName, m: string) => void): EnvValues {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(ENV_SCHEMA) as [EnvName, EnvVariable<unknown>][]) {
    const raw = env[name];
    const isSet = raw !== undefined && raw.trim() !== '';
    const source = isSet ? (variable.secret ? raw : raw.trim()) : variable.default;
    if (source === undefined) continue;
    try {
      values[name] = variable.parse(source, cwd);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      issue(name, isSet ? reason : `default ${source}: ${reason}`);
    }
  }
  // values[name] holds what ENV_SCHEMA[name].parse returned, which is exactly EnvValues' shape.
  return values;
}

function warnUnknown(env: Env, warnings: string[]): void {
  const known = Object.keys(ENV_SCHEMA);
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('TIERGATE_') || known.includes(name)) continue;
    const near = known.find((k) => k.startsWith(name) || name.startsWith(k));
    warnings.push(
      `${name} is not a tiergate variable and is ignored${near ? ` (did you mean ${near}?)` : ''}`,
    );
  }
}

function storageConfig(values: EnvValues, issue: (v: EnvName, m: string) => void): StorageConfig | undefined {
  const drives = values.TIERGATE_DRIVES;
  const setDriveCount = values.TIERGATE_SET_DRIVE_COUNT;
  const parity = values.TIERGATE_PARITY;
  if (!drives) return undefined;
  if (setDriveCount !== undefined && drives.length % setDriveCount !== 0) {
    issue(
      'TIERGATE_SET_DRIVE_COUNT',
      `${drives.length} drives cannot be split into sets of ${setDriveCount}`,
    );
  }
  const largestSet = setDriveCount ?? Math.min(drives.length, 16);
  if (parity !== undefined && parity * 2 > largestSet) {
    issue(
      'TIERGATE_PARITY',
      `${parity} parity shards need sets of at least ${parity * 2} drives, not ${largestSet}`,
    );
  }
  const nodeUrl = values.TIERGATE_NODE_URL;
  const cluster = drives.some(isDriveUrl);
  if (cluster && nodeUrl === undefined) {
    issue('TIERGATE_NODE_URL', "drive URLs (a cluster) need this node's URL, as the drive URLs name it");
    return undefined;
  }
  if (!cluster && nodeUrl !== undefined) {
    issue('TIERGATE_NODE_URL', 'set only in a cluster, where TIERGATE_DRIVES lists drive URLs');
    return undefined;
  }
  const localDrives = localDriveDirs(drives, nodeUrl);
  if (localDrives.length === 0) {
    issue('TIERGATE_NODE_URL', `no drive in TIERGATE_DRIVES is served at ${nodeUrl}`);
    return undefined;
  }
  return { drives, setDriveCount, parity, ...(nodeUrl ? { nodeUrl } : {}), localDrives };
}

/**
 * What nodes of one cluster must share besides their drives: the Redis (queues and the cluster-wide locks) and
 * the key that seals tier data keys (a node's own key file would leave the objects it transitioned unreadable on
 * every other node).
 */
function clusterRules(
  values: EnvValues,
  kms: { provider: string; masterKey?: unknown } | undefined,
  issue: (v: EnvName, m: string) => void,
): void {
  if (values.TIERGATE_REDIS_URL === undefined) {
    issue(
      'TIERGATE_REDIS_URL',
      'a cluster needs one Redis shared by every node (an embedded one is per node)',
    );
  }
  if (kms?.provider === 'local' && kms.masterKey === undefined) {
    issue(
      'TIERGATE_KMS_SECRET_KEY',
      'a cluster with the local KMS needs the same master key on every node (a key file is per node)',
    );
  }
}

function rootCredentials(
  values: EnvValues,
  issue: (v: EnvName, m: string) => void,
  warnings: string[],
): RootCredentials | undefined {
  const user = values.TIERGATE_ROOT_USER;
  const password = values.TIERGATE_ROOT_PASSWORD;
  if (user && password) return { accessKeyId: user, secretAccessKey: password, isDevDefault: false };
  if (user) issue('TIERGATE_ROOT_PASSWORD', 'must be set together with TIERGATE_ROOT_USER');
  if (password) issue('TIERGATE_ROOT_USER', 'must be set together with TIERGATE_ROOT_PASSWORD');
  if (user || password) return undefined;
  warnings.push(
    `TIERGATE_ROOT_USER and TIERGATE_ROOT_PASSWORD are not set: using the public development credentials ` +
      `${DEV_ROOT_CREDENTIALS.user} / ${DEV_ROOT_CREDENTIALS.password}. Anyone who can reach this gateway can ` +
      `guess them; set both variables before it serves anyone but you.`,
  );
  return {
    accessKeyId: DEV_ROOT_CREDENTIALS.user,
    secretAccessKey: new Secret(DEV_ROOT_CREDENTIALS.password),
    isDevDefault: true,
  };
}

function kmsConfig(
  values: EnvValues,
  issue: (v: EnvName, m: string) => void,
  warnings: string[],
): Omit<LocalKmsConfig, 'keyFile'> | CloudKmsConfig | undefined {
  const provider = values.TIERGATE_KMS;
  const keyId = values.TIERGATE_KMS_KEY_ID;
  const endpoint = values.TIERGATE_KMS_ENDPOINT;
  if (provider === undefined) return undefined;
  if (provider === 'local') {
    for (const name of ['TIERGATE_KMS_REGION', 'TIERGATE_KMS_ENDPOINT'] as const) {
      if (values[name] !== undefined) warnings.push(`${name} is ignored with TIERGATE_KMS=local`);
    }
    return { provider, keyId, masterKey: values.TIERGATE_KMS_SECRET_KEY };
  }
  if (values.TIERGATE_KMS_SECRET_KEY !== undefined) {
    issue(
      'TIERGATE_KMS_SECRET_KEY',
      `is the local KMS master key; TIERGATE_KMS=${provider} takes credentials from the cloud's own chain ` +
        `(environment, profile or instance role)`,
    );
  }
  if (keyId === undefined) {
    issue('TIERGATE_KMS_KEY_ID', `is required with TIERGATE_KMS=${provider}`);
    return undefined;
  }
  const arnRegion = provider === 'aws' ? /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(keyId)?.[1] : undefined;
  const region = values.TIERGATE_KMS_REGION ?? arnRegion;
  if (region === undefined) {
    issue('TIERGATE_KMS_REGION', `is required with TIERGATE_KMS=${provider}`);
    return undefined;
  }
  if (arnRegion !== undefined && arnRegion !== region) {
    issue('TIERGATE_KMS_REGION', `${region} differs from the region ${arnRegion} of TIERGATE_KMS_KEY_ID`);
  }
  return { provider, keyId, region, endpoint };
}

function lifecycleConfig(values: EnvValues): LifecycleConfig | undefined {
  const daySeconds = values.TIERGATE_LIFECYCLE_DAY_SECONDS;
  if (daySeconds === undefined) return undefined;
  const scannerIntervalSeconds =
    values.TIERGATE_SCANNER_INTERVAL_SECONDS ?? Math.max(1, Math.round(daySeconds / 24));
  const orphanGraceSeconds = values.TIERGATE_TIER_ORPHAN_GRACE_SECONDS ?? 3600;
  return {
    daySeconds,
    scannerIntervalSeconds,
    lockSeconds: values.TIERGATE_LOCK_SECONDS ?? 30,
    orphanGraceSeconds,
  };
}

/**
 * The data root: the deepest directory holding every drive (`./data` for `./data/drive{1...4}`), where the gateway
 * keeps what is not erasure coded (the embedded Redis, the local KMS master key file). When the drives share only `/` (one disk each, mounted
 * apart), the parent of the first drive is used instead, so nothing is written at the filesystem root.
 */
export function dataRoot(drives: readonly string[]): string {
  let common = dirname(drives[0]);
  for (const drive of drives.slice(1)) {
    while (common !== dirname(common) && !drive.startsWith(common.endsWith(sep) ? common : common + sep)) {
      common = dirname(common);
    }
  }
  return common === dirname(common) ? dirname(drives[0]) : common;
}

/** The embedded Redis keeps its files apart from the drives: its directory may not be, hold or sit in a drive. */
function checkEmbeddedRedisDir(drives: readonly string[], issue: (v: EnvName, m: string) => void): void {
  const dir = join(dataRoot(drives), 'redis');
  const clash = overlappingDrive(drives, dir);
  if (clash !== undefined) {
    issue(
      'TIERGATE_DRIVES',
      `drive ${clash} overlaps ${dir}, where the embedded redis-server keeps its data; rename the drive or set ` +
        `TIERGATE_REDIS_URL`,
    );
  }
}

/** The local KMS master key file: `<data root>/kms/master.key`, outside every drive. */
function kmsKeyFile(drives: readonly string[]): string {
  return join(dataRoot(drives), 'kms', 'master.key');
}

/** The master key file is never erasure coded or listed with objects: its directory may not overlap a drive. */
function checkKmsKeyDir(drives: readonly string[], issue: (v: EnvName, m: string) => void): void {
  const dir = dirname(kmsKeyFile(drives));
  const clash = overlappingDrive(drives, dir);
  if (clash !== undefined) {
    issue(
      'TIERGATE_DRIVES',
      `drive ${clash} overlaps ${dir}, where the local KMS keeps its master key file; rename the drive or set ` +
        `TIERGATE_KMS_SECRET_KEY`,
    );
  }
}

function overlappingDrive(drives: readonly string[], dir: string): string | undefined {
  const inside = (a: string, b: string) => a === b || a.startsWith(b + sep);
  return drives.find((d) => inside(d, dir) || inside(dir, d));
}

function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || (value !== null && typeof value === 'object' && !(value instanceof Secret))) {
    for (const child of Object.values(value)) deepFreeze(child);
  }
  Object.freeze(value);
  return value;
}
