/**
 * Provides the gateway's RedisConnection to every module (global). Opened before the app listens, so a missing
 * redis-server or an unreachable TIERGATE_REDIS_URL fails the boot with its reason; closed last on shutdown
 * (onApplicationShutdown runs after every module's onModuleDestroy, where the queues and workers close).
 */
import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { TiergateConfig } from '../config/tiergate-config';
import { RedisConnection } from './redis-connection';

/** Closes the connection (and stops the embedded redis-server) when the app shuts down. */
@Injectable()
class RedisCloser implements OnApplicationShutdown {
  constructor(@Inject(RedisConnection) private readonly redis: RedisConnection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.close();
  }
}

/** Global provider of the RedisConnection, injected by class. */
@Global()
@Module({
  providers: [
    {
      provide: RedisConnection,
      inject: [TiergateConfig],
      useFactory: (config: TiergateConfig) => RedisConnection.open(config.redis),
    },
    RedisCloser,
  ],
  exports: [RedisConnection],
})
export class RedisModule {}
