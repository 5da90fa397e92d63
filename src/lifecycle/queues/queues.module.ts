/**
 * Provides JobQueues (the producer side of every queue) on the gateway's Redis, with TIERGATE_QUEUE_PREFIX.
 * The queues close in onModuleDestroy, before the Redis connection closes in onApplicationShutdown.
 * Workers are not started here yet: JobWorkers is started once the lifecycle processors exist, and its start
 * check fails the boot if any kind of job is left without one.
 */
import { Inject, Injectable, Module, type OnModuleDestroy } from '@nestjs/common';
import { TiergateConfig } from '../../config/tiergate-config';
import { RedisConnection } from '../../redis/redis-connection';
import { JobQueues } from './job-queues';

/** Closes the queues on shutdown. */
@Injectable()
class QueuesCloser implements OnModuleDestroy {
  constructor(@Inject(JobQueues) private readonly queues: JobQueues) {}

  async onModuleDestroy(): Promise<void> {
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
