/**
 * The S3 API as a NestJS module: it builds the S3Gateway from the ObjectLayer and the config. main.ts mounts the
 * gateway in front of Nest's router for every path outside /tiergate/, so S3 bodies stream straight from the socket
 * into the storage engine without Nest's per-route pipeline or any body parser.
 */
import { Inject, Logger, Module } from '@nestjs/common';
import { MetricsModule } from '../admin/metrics.module';
import { MetricsService } from '../admin/metrics.service';
import { TiergateConfig } from '../config/tiergate-config';
import type { ObjectLayer } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import { LifecycleEngine } from '../lifecycle/engine/lifecycle-engine';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { TierRegistry } from '../tiers/tier-registry';
import { S3Gateway } from './s3-gateway';

/**
 * Builds the gateway with the root credentials of the config; every finished request goes to `metrics`; lifecycle
 * Transitions may name the tiers of `tiers` (none without it); RestoreObject goes to the lifecycle `engine`
 * (refused without it).
 */
export function createGateway(
  layer: ObjectLayer,
  config: TiergateConfig,
  metrics?: MetricsService,
  tiers?: TierRegistry,
  engine?: LifecycleEngine,
): S3Gateway {
  const logger = new Logger('S3');
  const secret = config.root.secretAccessKey;
  return new S3Gateway(
    layer,
    {
      region: config.s3.region,
      domains: config.s3.domains,
      isKnownStorageClass: tiers ? (name) => tiers.isKnownStorageClass(name) : undefined,
      restoreObject: engine
        ? (bucket, key, versionId, days) => engine.requestRestore(bucket, key, versionId, days)
        : undefined,
    },
    (accessKey) => (accessKey === config.root.accessKeyId ? secret.reveal() : undefined),
    (level, message) => (level === 'warn' ? logger.warn(message) : logger.error(message)),
    metrics ? (outcome) => metrics.record(outcome) : undefined,
  );
}

/** Provides S3Gateway. */
@Module({
  imports: [MetricsModule, LifecycleModule],
  providers: [
    {
      provide: S3Gateway,
      inject: [OBJECT_LAYER, TiergateConfig, MetricsService, TierRegistry, LifecycleEngine],
      useFactory: createGateway,
    },
  ],
  exports: [S3Gateway],
})
export class S3Module {
  constructor(@Inject(S3Gateway) readonly gateway: S3Gateway) {}
}
