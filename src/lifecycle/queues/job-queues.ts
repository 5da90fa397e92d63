/**
 * The producer side: one BullMQ Queue per job kind on the shared connection, typed adds with deterministic ids,
 * and counts per state for the admin API and metrics.
 *
 * Invariants:
 * - Every job is added with its identity's jobId (job-id.ts): adding an existing id is a no-op in BullMQ, so
 *   duplicates collapse whatever their origin.
 * - Retries are bounded (JOB_DEFAULTS.attempts) with exponential backoff; a handler throws UnrecoverableError for a
 *   failure no retry can fix. Failed jobs are kept (removeOnFail: false) so they stay visible; completed ones are
 *   trimmed by count and age.
 */
import { Queue, type DefaultJobOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { CAPPED_EXPONENTIAL } from './backoff';
import { jobId } from './job-id';
import { JOB_KINDS, type JobKind, type JobPayloads } from './job-types';

/** Options every job gets unless an add overrides them. */
export const JOB_DEFAULTS: Readonly<DefaultJobOptions> = Object.freeze({
  attempts: 8,
  // 1 s, 2 s, 4 s ... about 2 minutes over the 8 attempts.
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { count: 10_000, age: 24 * 3600 },
  removeOnFail: false,
});

/** Retries for as long as a cloud (tier or KMS) may be down: 1 s doubling to 10 minutes (backoff.ts), 1000 tries. */
const UNTIL_THE_CLOUD_IS_BACK: Partial<DefaultJobOptions> = Object.freeze({
  attempts: 1000,
  backoff: { type: CAPPED_EXPONENTIAL, delay: 1_000 },
});

/**
 * Per-kind overrides of JOB_DEFAULTS. Work that needs a tier or the KMS retries for as long as they are down, about
 * a week (a job's id is deterministic, so one that failed for good would not be queued again by the scanner): a
 * transition (the object stays local and readable meanwhile), a restore copy-back (the RestoreObject caller sees
 * 409 meanwhile) and a remote delete (after a week it stays failed and visible, and the reconciler removes the
 * object once the tier is back).
 */
export const KIND_JOB_DEFAULTS: Readonly<Partial<Record<JobKind, Partial<DefaultJobOptions>>>> =
  Object.freeze({
    transition: UNTIL_THE_CLOUD_IS_BACK,
    restore: UNTIL_THE_CLOUD_IS_BACK,
    'remote-delete': UNTIL_THE_CLOUD_IS_BACK,
  });

/** The job states counted for the admin API. */
/** Failed jobs read per round trip by retryFailed. */
const RETRY_PAGE = 500;

export const JOB_STATES = ['waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed'] as const;

/** A state a job can be counted in. */
export type JobState = (typeof JOB_STATES)[number];

/** Counts of one queue's jobs per state. */
export type QueueCounts = Record<JobState, number>;

/** Where the queues live: the shared connection and the key prefix (TIERGATE_QUEUE_PREFIX). */
export interface QueueSettings {
  readonly connection: Redis;
  readonly prefix: string;
  /** Overrides of JOB_DEFAULTS (tests shorten the backoff). */
  readonly jobDefaults?: Partial<DefaultJobOptions>;
}

/** Per-add options: how long to wait before the job may run (ms). */
export interface AddOptions {
  delay?: number;
}

/** Jobs waiting for the next turn of the event loop to be added together. */
interface Batch {
  jobs: { name: string; data: unknown; opts: JobsOptions }[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/** One queue per job kind, opened together and closed together. */
export class JobQueues {
  private readonly queues: ReadonlyMap<JobKind, Queue>;
  private readonly batches = new Map<JobKind, Batch>();
  private readonly connection: Redis;

  constructor(settings: QueueSettings) {
    this.connection = settings.connection;
    this.queues = new Map(
      JOB_KINDS.map((kind) => {
        const queue = new Queue(kind, {
          connection: settings.connection,
          prefix: settings.prefix,
          defaultJobOptions: { ...JOB_DEFAULTS, ...KIND_JOB_DEFAULTS[kind], ...settings.jobDefaults },
        });
        // BullMQ reports every failed reconnection here; the connection owner logs Redis going and coming back once,
        // so only keep these from being printed as unhandled (a stack per queue per retry while Redis is down).
        queue.on('error', () => undefined);
        return [kind, queue] as const;
      }),
    );
  }

  /** Whether the queues' Redis connection is up (commands sent now are answered, unless Redis stalls). */
  get reachable(): boolean {
    return this.connection.status === 'ready';
  }

  /** Schedules `payload` as a job of `kind` with its deterministic id; returns the id (existing or new). */
  async add<K extends JobKind>(kind: K, payload: JobPayloads[K], opts: AddOptions = {}): Promise<string> {
    const id = jobId(kind, payload);
    const jobOpts: JobsOptions = { jobId: id, ...(opts.delay ? { delay: Math.max(0, opts.delay) } : {}) };
    await this.queue(kind).add(kind, payload, jobOpts);
    return id;
  }

  /**
   * Puts every failed job of `kind` back to work with a fresh count of attempts (an operator fixed what failed it:
   * a tier's credentials, a rule); returns how many. Each job keeps its id, so nothing is scheduled twice. A job
   * that fails again meanwhile is not retried twice in one call: the failed set is read page by page from its
   * oldest end, as it stood.
   */
  async retryFailed(kind: JobKind): Promise<number> {
    const queue = this.queue(kind);
    const ids: string[] = [];
    for (let start = 0; ; start += RETRY_PAGE) {
      const page = await queue.getFailed(start, start + RETRY_PAGE - 1);
      ids.push(...page.map((j) => j.id).filter((id): id is string => id !== undefined));
      if (page.length < RETRY_PAGE) break;
    }
    let retried = 0;
    for (const id of ids) {
      const job = await queue.getJob(id);
      if (!job || !(await job.isFailed())) continue; // retried, removed or running since the listing
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      retried++;
    }
    return retried;
  }

  /**
   * Schedules many jobs of one kind; existing ids stay as they are. Adds made in the same turn of the event loop
   * (concurrent writes scheduling their keys) go to Redis together, as one BullMQ addBulk: one round trip instead
   * of one per job, and no added latency (the batch leaves on the next turn).
   */
  addMany<K extends JobKind>(
    kind: K,
    jobs: readonly { payload: JobPayloads[K]; delay?: number }[],
  ): Promise<string[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    const bulk = jobs.map(({ payload, delay }) => ({
      name: kind,
      data: payload,
      opts: { jobId: jobId(kind, payload), ...(delay && delay > 0 ? { delay } : {}) } satisfies JobsOptions,
    }));
    return new Promise<void>((resolve, reject) => {
      let batch = this.batches.get(kind);
      if (!batch) {
        const fresh: Batch = { jobs: [], waiters: [] };
        this.batches.set(kind, fresh);
        setImmediate(() => this.flush(kind, fresh));
        batch = fresh;
      }
      batch.jobs.push(...bulk);
      batch.waiters.push({ resolve, reject });
    }).then(() => bulk.map((b) => b.opts.jobId));
  }

  private flush(kind: JobKind, batch: Batch): void {
    this.batches.delete(kind);
    this.queue(kind)
      .addBulk(batch.jobs)
      .then(
        () => batch.waiters.forEach((w) => w.resolve()),
        (err: unknown) => batch.waiters.forEach((w) => w.reject(err)),
      );
  }

  /** The BullMQ queue of `kind` (for getters such as getJob and getJobState). */
  queue(kind: JobKind): Queue {
    return this.queues.get(kind)!;
  }

  /** Counts per state of every queue, keyed by kind. */
  async counts(): Promise<Record<JobKind, QueueCounts>> {
    const entries = await Promise.all(
      JOB_KINDS.map(async (kind) => {
        const raw = await this.queue(kind).getJobCounts(...JOB_STATES);
        const counts = Object.fromEntries(JOB_STATES.map((s) => [s, raw[s] ?? 0])) as QueueCounts;
        return [kind, counts] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<JobKind, QueueCounts>;
  }

  /**
   * Queue lag per kind, in seconds: how long the most overdue job that could run now has been waiting to start;
   * 0 when none is. Two places are looked at: the oldest job of the wait list, due since it was added plus its
   * delay (a retried job: since its last attempt started, an upper bound that includes the attempt and backoff),
   * and the head of the delayed set, whose score carries its due time (BullMQ's `due * 0x1000 + n`), counted only
   * once past due (delayed jobs past due are promoted as soon as a worker asks for work; a lag here means no
   * worker is taking jobs).
   */
  async lags(now = Date.now()): Promise<Record<JobKind, number>> {
    const entries = await Promise.all(
      JOB_KINDS.map(async (kind) => {
        const queue = this.queue(kind);
        const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
        let since = Infinity;
        if (oldest) {
          since =
            oldest.attemptsMade === 0
              ? oldest.timestamp + (oldest.opts.delay ?? 0)
              : (oldest.processedOn ?? oldest.timestamp);
        }
        // RESP2 answers [member, score], RESP3 [[member, score]]: flattened, either is [member, score].
        const head = (await this.connection.zrange(queue.keys.delayed, '0', '0', 'WITHSCORES')).flat();
        if (head.length === 2) since = Math.min(since, Math.floor(Number(head[1]) / 0x1000));
        return [kind, since >= now ? 0 : (now - since) / 1000] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<JobKind, number>;
  }

  /** Closes every queue (the shared connection stays open; its owner closes it). */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
