/**
 * The job queues in the admin API, root-signed (AdminAuthGuard):
 * - GET /tiergate/admin/v1/queues: how many jobs each queue holds in each state (waiting, delayed, active,
 *   prioritized, completed, failed), so an operator sees work piling up or failing;
 * - POST /tiergate/admin/v1/queues/{kind}/retry: puts every failed job of that queue back to work with a fresh
 *   count of attempts, once what failed them is fixed (a tier's credentials, say); answers `{ queue, retried }`.
 *   Each job re-checks under its object's lock that its action is still due, so retrying a stale one is harmless.
 *   404 NoSuchQueue for a kind that does not exist.
 */
import {
  Controller,
  Get,
  Header,
  HttpCode,
  HttpException,
  Inject,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import { JobQueues, type QueueCounts } from '../lifecycle/queues/job-queues';
import { JOB_KINDS, type JobKind } from '../lifecycle/queues/job-types';
import { AdminAuthGuard } from './admin-auth.guard';

/** Body of GET /queues. */
export interface QueuesReport {
  queues: Record<JobKind, QueueCounts>;
}

/** Body of POST /queues/{kind}/retry. */
export interface RetryReport {
  queue: JobKind;
  retried: number;
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

  /** Retries every failed job of one queue. */
  @Post('queues/:kind/retry')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  async retry(@Param('kind') kind: string): Promise<RetryReport> {
    if (!(JOB_KINDS as readonly string[]).includes(kind))
      throw new HttpException({ code: 'NoSuchQueue', message: `no queue is named ${kind}` }, 404);
    const queue = kind as JobKind;
    return { queue, retried: await this.queues.retryFailed(queue) };
  }
}
