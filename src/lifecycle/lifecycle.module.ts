/**
 * The lifecycle engine as a Nest module: built from the config, the ObjectLayer, the job queues, Redis, the tier
 * registry and the KMS (transitions, and reads of transitioned versions); started once the app is up
 * (onApplicationBootstrap), stopped first on shutdown (onModuleDestroy: no new changes heard, running jobs
 * finished) before the queues close (beforeApplicationShutdown) and Redis closes (onApplicationShutdown). Its job
 * outcomes, per-tier counts (metrics is the tiers' observer), queue counts and lags feed /tiergate/metrics.
 */
import {
  Inject,
  Injectable,
  Module,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { MetricsModule } from '../admin/metrics.module';
import { MetricsService } from '../admin/metrics.service';
import { TiergateConfig } from '../config/tiergate-config';
import { KmsProvider } from '../kms/kms-provider';
import { RedisConnection } from '../redis/redis-connection';
import type { ObjectLayer } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import { TierRegistry } from '../tiers/tier-registry';
import { LifecycleEngine } from './engine/lifecycle-engine';
import { JobQueues } from './queues/job-queues';
import { QueuesModule } from './queues/queues.module';

/** Starts and stops the engine with the app. */
@Injectable()
class LifecycleRunner implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    @Inject(LifecycleEngine) private readonly engine: LifecycleEngine,
    @Inject(MetricsService) private readonly metrics: MetricsService,
    @Inject(JobQueues) private readonly queues: JobQueues,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.attachQueues(
      () => this.queues.counts(),
      () => this.queues.lags(),
    );
    this.engine.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.engine.close();
  }
}

/** Provides LifecycleEngine (injected by class) and runs it. */
@Module({
  imports: [QueuesModule, MetricsModule],
  providers: [
    {
      provide: LifecycleEngine,
      inject: [
        OBJECT_LAYER,
        JobQueues,
        RedisConnection,
        TiergateConfig,
        MetricsService,
        TierRegistry,
        KmsProvider,
      ],
      useFactory: (
        layer: ObjectLayer,
        queues: JobQueues,
        redis: RedisConnection,
        config: TiergateConfig,
        metrics: MetricsService,
        tiers: TierRegistry,
        kms: KmsProvider,
      ) =>
        new LifecycleEngine(
          layer,
          queues,
          redis.client,
          {
            daySeconds: config.lifecycle.daySeconds,
            scannerIntervalSeconds: config.lifecycle.scannerIntervalSeconds,
            lockMs: config.lifecycle.lockSeconds * 1000,
            prefix: config.redis.queuePrefix,
            orphanGraceSeconds: config.lifecycle.orphanGraceSeconds,
          },
          (queue, action, outcome) => metrics.lifecycleJob(queue, action, outcome),
          { tiers, kms, observer: metrics },
        ),
    },
    LifecycleRunner,
  ],
  exports: [LifecycleEngine],
})
export class LifecycleModule {}
