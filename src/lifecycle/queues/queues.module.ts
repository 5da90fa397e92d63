/**
 * Provides JobQueues (the producer side of every queue) on the gateway's Redis, with TIERGATE_QUEUE_PREFIX.
 * The queues close in beforeApplicationShutdown: after the lifecycle engine's workers have finished their jobs
 * (onModuleDestroy; a job may still queue follow-up work), before the Redis connection closes
 * (onApplicationShutdown).
 */
import { Inject, Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { TiergateConfig } from '../../config/tiergate-config';
import { RedisConnection } from '../../redis/redis-connection';
import { JobQueues } from './job-queues';

/** Closes the queues on shutdown. */
@Injectable()
class QueuesCloser implements BeforeApplicationShutdown {
  constructor(@Inject(JobQueues) private readonly queues: JobQueues) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.queues.close();
  }
}

/** The job queues of the lifecycle engine, injected by class (JobQueues). */
@Module({
  providers: [
    {
      provide: JobQueues,
      inject: [RedisConnection, TiergateConfig],
      useFactory: (redis: RedisConnection, config: TiergateConfig) =>
        new JobQueues({ connection: redis.client, prefix: config.redis.queuePrefix }),
    },
    QueuesCloser,
  ],
  exports: [JobQueues],
})
export class QueuesModule {}
