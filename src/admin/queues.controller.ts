/**
 * GET /tiergate/admin/v1/queues: how many jobs each queue holds in each state (waiting, delayed, active,
 * prioritized, completed, failed), so an operator sees work piling up or failing. Root-signed (AdminAuthGuard).
 */
import { Controller, Get, Header, Inject, UseGuards } from '@nestjs/common';
import { JobQueues, type QueueCounts } from '../lifecycle/queues/job-queues';
import type { JobKind } from '../lifecycle/queues/job-types';
import { AdminAuthGuard } from './admin-auth.guard';

/** Body of GET /queues. */
export interface QueuesReport {
  queues: Record<JobKind, QueueCounts>;
}

/** Serves /tiergate/admin/v1/queues. */
@Controller('tiergate/admin/v1')
@UseGuards(AdminAuthGuard)
export class QueuesController {
  constructor(@Inject(JobQueues) private readonly queues: JobQueues) {}

  /** Counts per state of every queue. */
  @Get('queues')
  @Header('Cache-Control', 'no-store')
  async list(): Promise<QueuesReport> {
    return { queues: await this.queues.counts() };
  }
}
