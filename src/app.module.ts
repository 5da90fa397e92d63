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
import { RedisModule } from './redis/redis.module';
import { TiergateConfig } from './config/tiergate-config';
import { StorageModule } from './storage/storage.module';
import { TiersModule } from './tiers/tiers.module';
import type { StorageOptions } from './storage/storage-options';

/** Maps the config's drive layout onto the storage engine's options (unset values keep the engine's defaults). */
export function storageOptionsFrom(config: TiergateConfig): StorageOptions {
  const { drives, setDriveCount, parity } = config.storage;
  return { drives: [...drives], setDriveCount, parity };
}

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
        StorageModule.forRootAsync({ inject: [TiergateConfig], useFactory: storageOptionsFrom }),
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
