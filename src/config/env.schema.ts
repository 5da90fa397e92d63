/**
 * The one schema of tiergate's environment: every TIERGATE_* variable with its meaning, default and parser.
 * loadConfig applies it and then checks the rules that span variables; `tiergate server --help` prints it.
 */
import { parseDriveList } from './drive-list';
import {
  accessKeyId,
  httpUrl,
  nodeUrl,
  integer,
  kmsKeyId,
  masterKey,
  oneOf,
  redisUrl,
  keyPrefix,
  regionName,
  secretAccessKey,
  domainList,
} from './env-parsers';
import { parseListenAddress } from './listen-address';
import { KMS_PROVIDERS } from './tiergate-config';

/** How one variable is documented, defaulted and parsed. */
export interface EnvVariable<T> {
  readonly description: string;
  /** Used when the variable is unset or blank, written as it would be in the environment. */
  readonly default?: string;
  /** Help text for a default that is computed rather than written (shown instead of `default`). */
  readonly defaultNote?: string;
  /** Never echo the value, in errors or anywhere else. */
  readonly secret?: boolean;
  /** Turns the raw value into the typed one; throws an Error saying what is wrong. */
  readonly parse: (raw: string, cwd: string) => T;
}

/** Every TIERGATE_* variable; a variable missing here is reported as unknown at boot. */
export const ENV_SCHEMA = {
  TIERGATE_ADDRESS: {
    description: 'host:port to listen on; [::1]:9000 for IPv6, :9000 for every interface',
    default: '127.0.0.1:9000',
    parse: parseListenAddress,
  },
  TIERGATE_REGION: {
    description: 'the region S3 clients sign for and GetBucketLocation reports',
    default: 'us-east-1',
    parse: regionName,
  },
  TIERGATE_DOMAIN: {
    description:
      'domains for virtual-host style requests (bucket.<domain>), comma separated; path style always works',
    parse: domainList,
  },
  TIERGATE_DRIVES: {
    description:
      'drive directories, comma separated, with {1...N} ranges, relative to the working directory; in a cluster, ' +
      "every node's drives as http://host:port/directory, the same list on every node",
    default: './data/drive{1...4}',
    parse: (raw, cwd) => parseDriveList(raw, cwd),
  },
  TIERGATE_NODE_URL: {
    description:
      'in a cluster, this node as the drive URLs name it (http://host:port); its storage API listens there',
    defaultNote: 'none: a single node on local directories',
    parse: nodeUrl,
  },
  TIERGATE_SET_DRIVE_COUNT: {
    description: 'drives per erasure set, 2-16, dividing the drive count',
    defaultNote: 'equal sets of at most 16 drives',
    parse: integer(2, 16),
  },
  TIERGATE_PARITY: {
    description: 'parity shards per erasure set, at most half the set',
    defaultNote: '1-4 by set size (2-3: 1, 4-5: 2, 6-7: 3, 8+: 4)',
    parse: integer(1, 8),
  },
  TIERGATE_ROOT_USER: {
    description: 'root access key id, 3-128 characters; set together with TIERGATE_ROOT_PASSWORD',
    defaultNote: 'tiergateadmin, for development only (warned at boot)',
    parse: accessKeyId,
  },
  TIERGATE_ROOT_PASSWORD: {
    description: 'root secret key, 8-128 printable characters',
    defaultNote: 'tiergateadmin, for development only (warned at boot)',
    secret: true,
    parse: secretAccessKey,
  },
  TIERGATE_REDIS_URL: {
    description: 'redis:// or rediss:// URL of the shared Redis',
    defaultNote: 'a redis-server child started from PATH, data in <data root>/redis',
    secret: true,
    parse: redisUrl,
  },
  TIERGATE_QUEUE_PREFIX: {
    description:
      'prefix of every Redis key of the job queues; gateways sharing a Redis and a namespace use the same one',
    default: 'tiergate',
    parse: keyPrefix,
  },
  TIERGATE_KMS: {
    description: 'KMS that seals data keys: local, aws or alibaba',
    default: 'local',
    parse: oneOf(KMS_PROVIDERS),
  },
  TIERGATE_KMS_KEY_ID: {
    description: 'KMS key id, ARN or alias; required for aws and alibaba',
    parse: kmsKeyId,
  },
  TIERGATE_KMS_REGION: {
    description: 'KMS region; required for aws (unless the key id is an ARN) and alibaba',
    parse: regionName,
  },
  TIERGATE_KMS_ENDPOINT: {
    description: 'KMS endpoint URL override (aws, alibaba)',
    parse: httpUrl,
  },
  TIERGATE_KMS_SECRET_KEY: {
    description: 'local KMS master key: 64 hex digits or base64 of 32 bytes',
    secret: true,
    parse: masterKey,
  },
  TIERGATE_LIFECYCLE_DAY_SECONDS: {
    description: 'length of a lifecycle "day" in seconds, 1-86400',
    default: '86400',
    parse: integer(1, 86_400),
  },
  TIERGATE_SCANNER_INTERVAL_SECONDS: {
    description: 'seconds between lifecycle scanner passes, 1-604800',
    defaultNote: 'a 24th of a lifecycle day (3600)',
    parse: integer(1, 604_800),
  },
  TIERGATE_LOCK_SECONDS: {
    description:
      'seconds a crashed gateway keeps its lifecycle locks (object locks, job locks) before another run takes over, 2-600',
    default: '30',
    parse: integer(2, 600),
  },
  TIERGATE_TIER_ORPHAN_GRACE_SECONDS: {
    description:
      'the tier reconciler removes unreferenced remote objects, and aborts unreferenced multipart uploads, only once they are this old, 1-2592000 seconds',
    default: '3600',
    parse: integer(1, 2_592_000),
  },
} satisfies Record<`TIERGATE_${string}`, EnvVariable<unknown>>;

/** The name of a known variable. */
export type EnvName = keyof typeof ENV_SCHEMA;

/** The parsed value of each variable that was set (or has a default) and was valid. */
export type EnvValues = { -readonly [K in EnvName]?: ReturnType<(typeof ENV_SCHEMA)[K]['parse']> };
