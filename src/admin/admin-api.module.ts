/**
 * The root-signed admin API under /tiergate/admin/v1/ (DESIGN.md section 5): queues now; tiers, scan, explain and
 * status as they land. Kept apart from AdminModule (health, metrics), which must keep answering without Redis.
 */
import { Module } from '@nestjs/common';
import { QueuesModule } from '../lifecycle/queues/queues.module';
import { AdminAuthGuard } from './admin-auth.guard';
import { QueuesController } from './queues.controller';

/** Controllers of /tiergate/admin/v1/ and the guard that authenticates them. */
@Module({ imports: [QueuesModule], controllers: [QueuesController], providers: [AdminAuthGuard] })
export class AdminApiModule {}
