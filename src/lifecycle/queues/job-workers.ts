/**
 * The consumer side: one BullMQ Worker per job kind, each running that kind's handler. Handlers are given as a
 * total map (JobHandlers), so a kind without a handler is a compile error; the same check runs again at start for
 * handlers found at run time (decorated processors), so boot fails rather than leaving a queue unserved.
 *
 * Invariants:
 * - A handler that throws is retried with backoff up to the job's attempts; one that throws UnrecoverableError
 *   fails at once. Either way the failed job is kept.
 * - `close()` lets every worker finish the jobs it is running (BullMQ 6 `worker.close()` waits for them) and takes
 *   no new one; a job cut short by a crash is found stalled by another worker and run again, so handlers must be
 *   idempotent (they re-check that their action is still due).
 * - A job cut short by crashes runs again up to MAX_STALLED_RUNS times (BullMQ's default is once): a transition of a
 *   large object can outlive two restarts (a deploy, then a crash), and a job failed for good keeps its id, so the
 *   scanner would never queue that action again. Only a job that takes its worker down that many times in a row (a
 *   poison job) fails, and stays visible.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { cappedBackoff } from './backoff';
import { JOB_KINDS, type JobKind, type JobPayloads } from './job-types';

/** Runs one job; its resolution completes the job, its rejection fails this attempt. */
export type JobHandler<K extends JobKind> = (
  payload: JobPayloads[K],
  job: Job<JobPayloads[K]>,
  /** The worker's lock token for the job (for job.moveToDelayed). */
  token?: string,
) => Promise<void>;

/** A handler for every kind. */
export type JobHandlers = { [K in JobKind]: JobHandler<K> };

/** Boot failure: a kind of job has no handler, so its queue would fill and never drain. */
export class MissingJobHandlerError extends Error {
  constructor(kinds: readonly string[]) {
    super(`no handler for job kind(s) ${kinds.join(', ')}: every queue must have a processor before boot`);
    this.name = 'MissingJobHandlerError';
  }
}

/** Times a job whose worker died may be run again before it fails (see the file comment). */
export const MAX_STALLED_RUNS = 10;

/** Jobs a worker runs at once unless told otherwise. */
export const DEFAULT_CONCURRENCY = 8;

/** How the workers run. */
export interface WorkerSettings {
  readonly connection: Redis;
  readonly prefix: string;
  /** Jobs run at once, per kind (DEFAULT_CONCURRENCY for a kind not named). */
  readonly concurrency?: Partial<Record<JobKind, number>>;
  /**
   * BullMQ's lockDuration and stalledInterval, ms (default 30 s each): a job whose worker died is moved back to
   * waiting by the next stalled check after its lock expired, so within twice this after the crash.
   */
  readonly lockMs?: number;
}

/** The workers of every kind, started together and closed together. */
export class JobWorkers {
  private readonly workers: readonly Worker[];

  /** Starts a worker per kind; throws MissingJobHandlerError (starting none) if any kind lacks a handler. */
  constructor(handlers: Partial<Record<JobKind, JobHandler<never>>>, settings: WorkerSettings) {
    const missing = JOB_KINDS.filter((kind) => typeof handlers[kind] !== 'function');
    if (missing.length > 0) throw new MissingJobHandlerError(missing);
    this.workers = JOB_KINDS.map((kind) => {
      const handler = handlers[kind] as unknown as JobHandler<typeof kind>;
      const worker = new Worker<JobPayloads[typeof kind]>(
        kind,
        (job, token) => handler(job.data, job, token),
        {
          connection: settings.connection,
          prefix: settings.prefix,
          concurrency: settings.concurrency?.[kind] ?? DEFAULT_CONCURRENCY,
          maxStalledCount: MAX_STALLED_RUNS,
          ...(settings.lockMs !== undefined
            ? { lockDuration: settings.lockMs, stalledInterval: settings.lockMs }
            : {}),
          // Jobs asking for `capped-exponential` (remote deletes) back off through it (backoff.ts).
          settings: { backoffStrategy: cappedBackoff },
        },
      );
      // BullMQ reports connection trouble here; the connection owner logs it, so only keep it from throwing.
      worker.on('error', () => undefined);
      return worker;
    });
  }

  /** The worker of `kind` (tests listen to its events). */
  worker(kind: JobKind): Worker {
    return this.workers[JOB_KINDS.indexOf(kind)];
  }

  /** Stops taking jobs and resolves once every running job has finished. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
