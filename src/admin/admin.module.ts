import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsModule } from './metrics.module';

/** The operator-facing HTTP surface: liveness, readiness and metrics now; the admin API as it lands. */
@Module({ imports: [MetricsModule], controllers: [HealthController, MetricsController] })
export class AdminModule {}
