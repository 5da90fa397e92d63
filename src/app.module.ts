/**
 * The root module: wires the validated config into the storage engine and Redis, and mounts the HTTP modules.
 * Built from a config object (not from the environment) so tests can boot it with any config.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { AdminApiModule } from './admin/admin-api.module';
import { AdminModule } from './admin/admin.module';
import { S3Module } from './s3/s3.module';
import { ConfigModule } from './config/config.module';
import { KmsModule } from './kms/kms.module';
import { LifecycleModule } from './lifecycle/lifecycle.module';
import { QueuesModule } from './lifecycle/queues/queues.module';
import { RedisConnection } from './redis/redis-connection';
import { clusterLock } from './redis/cluster-lock';
import { RedisLocks } from './redis/redis-lock';
import { RedisModule } from './redis/redis.module';
import { TiergateConfig } from './config/tiergate-config';
import { StorageModule } from './storage/storage.module';
import { TiersModule } from './tiers/tiers.module';
import type { StorageOptions } from './storage/storage-options';

/**
 * Maps the config's drive layout onto the storage engine's options (unset values keep the engine's defaults). In a
 * cluster, the node serves its drives at its node URL, signs storage API calls with the root secret key (every
 * node has the same), and takes exclusive object locks in the shared Redis, next to the lifecycle engine's own
 * but under their own key prefix (the engine holds its lock of an object while it calls the storage layer).
 */
export function storageOptionsFrom(config: TiergateConfig, redis?: RedisConnection): StorageOptions {
  const { drives, setDriveCount, parity, nodeUrl } = config.storage;
  const options: StorageOptions = { drives: [...drives], setDriveCount, parity };
  if (nodeUrl === undefined || !redis) return options;
  const locks = new RedisLocks(
    redis.client,
    `${config.redis.queuePrefix}:slock:`,
    config.lifecycle.lockSeconds * 1000,
  );
  return {
    ...options,
    node: { url: nodeUrl, secret: config.root.secretAccessKey.reveal() },
    clusterLock: clusterLock(locks, CLUSTER_LOCK_WAIT_MS),
  };
}

/** How long a write waits for another node's lock on its object before answering SlowDown, ms. */
const CLUSTER_LOCK_WAIT_MS = 30_000;

/** Root module of the gateway process. */
@Module({})
export class AppModule {
  /**
   * The app for one config: config (global), storage engine (global OBJECT_LAYER), Redis (global; the embedded
   * redis-server when no URL is set), the KMS (global KmsProvider), the tier registry (global TierRegistry), the job queues and the lifecycle engine, health and metrics, the admin API, S3.
   */
  static forRoot(config: TiergateConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        StorageModule.forRootAsync({
          inject: [TiergateConfig, RedisConnection],
          useFactory: storageOptionsFrom,
        }),
        RedisModule,
        KmsModule,
        TiersModule,
        QueuesModule,
        LifecycleModule,
        AdminModule,
        AdminApiModule,
        S3Module,
      ],
    };
  }
}
