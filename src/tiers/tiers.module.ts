/**
 * Provides the TierRegistry to the whole app (global; inject it by class). Opened at boot from the `tiers` system
 * document with the app's KMS, so a damaged document fails the start; refreshed every REFRESH_MS so changes made
 * through another node are seen within that time; changes are serialized across nodes by a Redis lock; closed on
 * shutdown.
 */
import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { TiergateConfig } from '../config/tiergate-config';
import { KmsProvider } from '../kms/kms-provider';
import { RedisConnection } from '../redis/redis-connection';
import { RedisLocks } from '../redis/redis-lock';
import type { ObjectLayer } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import { TierRegistry } from './tier-registry';

/** How often each node reloads the tier document. */
export const REFRESH_MS = 5_000;

/** Opens the registry as the app runs it: a Redis lock for changes, removal waiting one refresh and a margin. */
export function openAppTierRegistry(
  layer: ObjectLayer,
  kms: KmsProvider,
  redis: RedisConnection,
  config: TiergateConfig,
): Promise<TierRegistry> {
  const logger = new Logger('Tiers');
  const locks = new RedisLocks(redis.client, `${config.redis.queuePrefix}:lock:`);
  return TierRegistry.open(layer, kms, {
    lock: (fn) => locks.withLock('tier-registry', fn, { ttlMs: 30_000, waitMs: 60_000 }),
    removalSettleMs: REFRESH_MS + 1_000,
    log: (level, message) => (level === 'info' ? logger.log(message) : logger[level](message)),
  });
}

/** Refreshes the registry periodically and closes it on shutdown. */
@Injectable()
class TierRegistryLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private readonly logger = new Logger('Tiers');

  constructor(@Inject(TierRegistry) private readonly registry: TierRegistry) {}

  onApplicationBootstrap(): void {
    let failing = false;
    this.timer = setInterval(() => {
      this.registry.refresh().then(
        () => (failing = false),
        (err: unknown) => {
          if (!failing) this.logger.warn(`refreshing the tier registry failed: ${String(err)}`);
          failing = true;
        },
      );
    }, REFRESH_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.registry.close();
  }
}

/** Global provider of TierRegistry. */
@Global()
@Module({
  providers: [
    {
      provide: TierRegistry,
      inject: [OBJECT_LAYER, KmsProvider, RedisConnection, TiergateConfig],
      useFactory: openAppTierRegistry,
    },
    TierRegistryLifecycle,
  ],
  exports: [TierRegistry],
})
export class TiersModule {}
