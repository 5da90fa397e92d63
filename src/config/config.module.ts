/**
 * Makes the boot-time TiergateConfig injectable everywhere. The config is loaded before Nest starts (main.ts), so a
 * bad environment fails with a plain message instead of a dependency-injection stack trace.
 */
import { DynamicModule, Module } from '@nestjs/common';
import { TiergateConfig } from './tiergate-config';

/** Global provider of TiergateConfig (inject it by class). */
@Module({})
export class ConfigModule {
  /** Provides this already validated config to every module of the app. */
  static forRoot(config: TiergateConfig): DynamicModule {
    return {
      module: ConfigModule,
      global: true,
      providers: [{ provide: TiergateConfig, useValue: config }],
      exports: [TiergateConfig],
    };
  }
}
