/**
 * The root-signed admin API under /tiergate/admin/v1/ (DESIGN.md section 5): queues, lifecycle scan and explain,
 * tiers and their reconcile; status as it lands. Kept apart from AdminModule (health, metrics), which must keep answering without Redis.
 */
import { Module } from '@nestjs/common';
import { LifecycleModule } from '../lifecycle/lifecycle.module';
import { QueuesModule } from '../lifecycle/queues/queues.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { LifecycleController } from './lifecycle.controller';
import { QueuesController } from './queues.controller';
import { TierReconcileController } from './tier-reconcile.controller';
import { TiersController } from './tiers.controller';

/** Controllers of /tiergate/admin/v1/ and the guard that authenticates them. */
@Module({
  imports: [QueuesModule, LifecycleModule],
  controllers: [QueuesController, LifecycleController, TiersController, TierReconcileController],
  providers: [AdminAuthGuard],
})
export class AdminApiModule {}
