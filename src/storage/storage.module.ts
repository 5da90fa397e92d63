/**
 * The storage engine's only NestJS file: it opens the ObjectLayer at boot and closes it on shutdown.
 * The engine itself is plain TypeScript (see ./pool.ts); this module only hands it to the rest of the app.
 */
import {
  DynamicModule,
  Inject,
  Injectable,
  type InjectionToken,
  Logger,
  Module,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { ObjectLayer } from './object-layer';
import type { StorageOptions } from './storage-options';
import { openObjectLayer } from './pool';

/** Injection token of the ObjectLayer. */
export const OBJECT_LAYER = Symbol('tiergate.ObjectLayer');

/** Closes the ObjectLayer when Nest shuts down, after in-flight work has drained. */
@Injectable()
class StorageLifecycle implements OnApplicationShutdown {
  constructor(@Inject(OBJECT_LAYER) private readonly layer: ObjectLayer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.layer.shutdown();
  }
}

/** Async options: build StorageOptions from whatever config provider the app uses. */
export interface StorageModuleAsyncOptions {
  imports?: DynamicModule['imports'];
  inject?: InjectionToken[];
  useFactory: (...args: never[]) => StorageOptions | Promise<StorageOptions>;
}

/** Provides OBJECT_LAYER globally. */
@Module({})
export class StorageModule {
  static forRootAsync(options: StorageModuleAsyncOptions): DynamicModule {
    const logger = new Logger('Storage');
    return {
      module: StorageModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        {
          provide: OBJECT_LAYER,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => {
            const opts = await options.useFactory(...args);
            return openObjectLayer({
              ...opts,
              log:
                opts.log ??
                ((level, message) => (level === 'info' ? logger.log(message) : logger[level](message))),
            });
          },
        },
        StorageLifecycle,
      ],
      exports: [OBJECT_LAYER],
    };
  }
}
