import { Module } from '@nestjs/common';
import { QueuesModule } from '../lifecycle/queues/queues.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { HealthController } from './health.controller';
import { MetricsController } from './metrics.controller';
import { MetricsModule } from './metrics.module';
import { QueuesController } from './queues.controller';

/** The operator-facing HTTP surface: liveness, readiness, metrics, and the root-signed admin API as it lands. */
@Module({
  imports: [MetricsModule, QueuesModule],
  controllers: [HealthController, MetricsController, QueuesController],
  providers: [AdminAuthGuard],
})
export class AdminModule {}
