/**
 * The typed, frozen configuration every module receives. It is built once at boot by loadConfig from the
 * TIERGATE_* environment and injected by class: `constructor(private readonly config: TiergateConfig)`.
 */
import type { ListenAddress } from './listen-address';
import type { Secret } from './secret';

/** The KMS providers TIERGATE_KMS accepts. */
export const KMS_PROVIDERS = ['local', 'aws', 'alibaba'] as const;

/** Name of a KMS provider. */
export type KmsProviderName = (typeof KMS_PROVIDERS)[number];

/** Drive layout handed to the storage engine; unset numbers mean the engine's defaults. */
export interface StorageConfig {
  /**
   * Absolute drive directories, or in a cluster every node's drive URLs (`http://host:port/dir`), in the order
   * they are grouped into erasure sets.
   */
  readonly drives: readonly string[];
  /** In a cluster: this node's origin as the drive URLs name it (where its storage API listens). */
  readonly nodeUrl?: string;
  /** The directories of this node's own drives (all of `drives` outside a cluster). */
  readonly localDrives: readonly string[];
  readonly setDriveCount?: number;
  readonly parity?: number;
}

/** The root credentials that sign S3 and admin requests. */
export interface RootCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: Secret;
  /** True when neither variable was set and the public development pair is in use. */
  readonly isDevDefault: boolean;
}

/** Where the shared Redis is; no URL means the gateway runs its own. */
export interface RedisConfig {
  /** Secret because a Redis URL may carry a password. */
  readonly url?: Secret;
  /** Data directory of the embedded redis-server (used only without `url`): `<data root>/redis`. */
  readonly embeddedDir: string;
  /** Prefix of the queues' Redis keys (BullMQ `prefix`). */
  readonly queuePrefix: string;
}

/** The local KMS: a master key from the environment, or a key file the provider creates. */
export interface LocalKmsConfig {
  readonly provider: 'local';
  readonly keyId?: string;
  /** 32 bytes, when TIERGATE_KMS_SECRET_KEY is set. */
  readonly masterKey?: Secret<Buffer>;
  /** The master key file used without `masterKey` (created on first start): `<data root>/kms/master.key`. */
  readonly keyFile: string;
}

/** A cloud KMS (AWS KMS or Alibaba Cloud KMS); credentials come from that cloud's own credential chain. */
export interface CloudKmsConfig {
  readonly provider: 'aws' | 'alibaba';
  readonly keyId: string;
  readonly region: string;
  readonly endpoint?: string;
}

/** Which KMS seals the data keys of objects sent to tiers. */
export type KmsConfig = LocalKmsConfig | CloudKmsConfig;

/** Timing of the lifecycle engine; a short day makes tests and demos run in seconds. */
export interface LifecycleConfig {
  readonly daySeconds: number;
  readonly scannerIntervalSeconds: number;
  /**
   * How long the locks of a gateway that stopped (object locks, BullMQ job locks) outlive it: the work it was doing
   * is picked up again this long after a crash. Held locks are renewed well within it while their holder lives.
   */
  readonly lockSeconds: number;
  /** The reconciler keeps unreferenced tier objects and open uploads younger than this (an upload may be in flight). */
  readonly orphanGraceSeconds: number;
}

/** The S3 front end: the signing region and the virtual-host domains. */
export interface S3Config {
  readonly region: string;
  readonly domains: readonly string[];
}

/** The whole configuration; abstract so the class itself is the injection token and the type. */
export abstract class TiergateConfig {
  abstract readonly address: ListenAddress;
  abstract readonly s3: S3Config;
  abstract readonly storage: StorageConfig;
  abstract readonly root: RootCredentials;
  abstract readonly redis: RedisConfig;
  abstract readonly kms: KmsConfig;
  abstract readonly lifecycle: LifecycleConfig;
  /** Things the operator should read at boot (development credentials, ignored or unknown variables). */
  abstract readonly warnings: readonly string[];
}
