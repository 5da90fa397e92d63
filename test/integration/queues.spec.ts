/**
 * The job queues on a real redis-server: duplicate ids collapse, delays hold, retries back off and end failed and
 * kept, UnrecoverableError fails at once, close() waits for the running job, a kind without a handler stops boot,
 * and delayed work survives a Redis restart (AOF on) while running workers reconnect.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import {
  JobWorkers,
  MAX_STALLED_RUNS,
  MissingJobHandlerError,
  type JobHandler,
  type JobHandlers,
} from '../../src/lifecycle/queues/job-workers';
import type { ExpireJob, JobKind } from '../../src/lifecycle/queues/job-types';
import { redisClient, sharedRedis, startRedis, uniquePrefix } from '../fixtures/redis-server';

const expireJob = (key: string, dueAt = 1): ExpireJob => ({
  bucket: 'b',
  key,
  versionId: 'v1',
  action: 'expire-current',
  dueAt,
});
const idle: JobHandler<JobKind> = async () => undefined;

/** Handlers for every kind: `expire` as given, the others do nothing. */
function handlers(expire: JobHandler<'expire'>): JobHandlers {
  return {
    expire,
    transition: idle,
    'abort-multipart': idle,
    scan: idle,
    restore: idle,
    'remote-delete': idle,
    reconcile: idle,
  };
}

/** Polls `check` until it returns a value other than undefined (deadline 30 s). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(50);
  }
}

/** The job once it is failed for good (read after the state, so its fields are the final ones). */
async function failedJob(queues: JobQueues, id: string): Promise<Job> {
  await eventually('the job to fail', async () =>
    (await queues.queue('expire').getJobState(id)) === 'failed' ? true : undefined,
  );
  return (await queues.queue('expire').getJob(id))!;
}

describe('job queues on redis-server', () => {
  let connection: Redis;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    connection = redisClient((await sharedRedis()).port);
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    await connection.quit();
  });

  function open(opts: { backoffMs?: number; attempts?: number } = {}) {
    const prefix = uniquePrefix('queues');
    const queues = new JobQueues({
      connection,
      prefix,
      jobDefaults: {
        attempts: opts.attempts ?? 3,
        backoff: { type: 'exponential', delay: opts.backoffMs ?? 20 },
      },
    });
    closers.push(() => queues.close());
    const startWorkers = (all: JobHandlers, lockMs?: number) => {
      const workers = new JobWorkers(all, { connection, prefix, ...(lockMs ? { lockMs } : {}) });
      closers.push(() => workers.close());
      return workers;
    };
    return { queues, startWorkers };
  }

  it('collapses adds with the same identity into one job', async () => {
    const { queues } = open();
    const first = await queues.add('expire', expireJob('k'), { delay: 60_000 });
    const second = await queues.add('expire', expireJob('k'), { delay: 60_000 });
    const other = await queues.add('expire', expireJob('k', 2), { delay: 60_000 });
    assert.equal(first, second);
    assert.notEqual(first, other);
    assert.equal((await queues.counts()).expire.delayed, 2);
  });

  it('runs a delayed job only after its delay', async () => {
    const { queues, startWorkers } = open();
    const ran: Job[] = [];
    const workers = startWorkers(handlers(async (_p, job) => void ran.push(job)));
    const id = await queues.add('expire', expireJob('delayed'), { delay: 500 });
    assert.equal(await queues.queue('expire').getJobState(id), 'delayed');
    await once(workers.worker('expire'), 'completed');
    assert.equal(ran.length, 1);
    assert.ok(ran[0].processedOn! >= ran[0].timestamp + 500, 'processed before its delay');
  });

  it('retries a failing job with backoff, then keeps it failed', async () => {
    const { queues, startWorkers } = open({ attempts: 3, backoffMs: 50 });
    let calls = 0;
    startWorkers(
      handlers(async () => {
        calls++;
        throw new Error('drive offline');
      }),
    );
    const id = await queues.add('expire', expireJob('failing'));
    const job = await failedJob(queues, id);
    assert.equal(calls, 3);
    assert.equal(job.attemptsMade, 3);
    assert.equal(job.failedReason, 'drive offline');
    assert.equal((await queues.counts()).expire.failed, 1);
    // Exponential backoff: 50 ms then 100 ms between the three attempts.
    assert.ok(job.finishedOn! - job.timestamp >= 150, 'the retries did not wait for their backoff');
  });

  it('fails a job at once on UnrecoverableError', async () => {
    const { queues, startWorkers } = open({ attempts: 5 });
    let calls = 0;
    startWorkers(
      handlers(async () => {
        calls++;
        throw new UnrecoverableError('bucket is gone');
      }),
    );
    const id = await queues.add('expire', expireJob('permanent'));
    const job = await failedJob(queues, id);
    assert.equal(calls, 1);
    assert.equal(job.attemptsMade, 1);
    assert.equal(job.failedReason, 'bucket is gone');
  });

  it('lets the running job finish when the workers close', async () => {
    const { queues, startWorkers } = open();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const workers = startWorkers(
      handlers(async () => {
        started();
        await released;
      }),
    );
    const id = await queues.add('expire', expireJob('slow'));
    await running;
    let closed = false;
    const closing = workers.close().then(() => (closed = true));
    await delay(300);
    assert.equal(closed, false, 'close() returned while a job was running');
    release();
    await closing;
    assert.equal(await queues.queue('expire').getJobState(id), 'completed');
  });

  it('runs a job whose worker died again, more than once (up to MAX_STALLED_RUNS)', async () => {
    const { queues, startWorkers } = open();
    const id = await queues.add('expire', expireJob('stalling'));
    // Three workers in a row take the job and die with it (closed by force: the job stays active, its lock is no
    // longer extended and expires), as three gateway crashes would. BullMQ's default fails the job at the second.
    const hung: (() => void)[] = [];
    const failedReason = async (): Promise<string | undefined> =>
      (await queues.queue('expire').getJob(id))?.failedReason;
    for (let crash = 0; crash < 3; crash++) {
      let started = false;
      const workers = startWorkers(
        handlers(() => {
          started = true;
          return new Promise<void>((resolve) => hung.push(resolve));
        }),
        300,
      );
      await eventually(`run ${crash + 1} of the job`, async () => {
        const failed = await failedReason();
        if (failed) assert.fail(`the job failed after ${crash} crashes: ${failed}`);
        return started ? true : undefined;
      });
      await workers.worker('expire').close(true);
      await workers.close();
    }
    let runs = 0;
    startWorkers(
      handlers(async () => {
        runs++;
      }),
      300,
    );
    await eventually('the job to complete', async () =>
      (await queues.queue('expire').getJobState(id)) === 'completed' ? true : undefined,
    );
    assert.equal(runs, 1);
    const job = (await queues.queue('expire').getJob(id))!;
    assert.equal(job.stalledCounter, 3, 'found stalled three times');
    assert.ok(MAX_STALLED_RUNS >= 3);
    for (const resolve of hung) resolve();
  });

  it('refuses to start when a kind of job has no handler', () => {
    const prefix = uniquePrefix('nohandler');
    assert.throws(
      () => new JobWorkers({ expire: idle, scan: idle }, { connection, prefix }),
      (err) => err instanceof MissingJobHandlerError && /abort-multipart/.test(err.message),
    );
  });
});

describe('job queues across a redis-server restart (AOF on)', () => {
  let server: Awaited<ReturnType<typeof startRedis>>;
  let connection: Redis;
  let queues: JobQueues;
  let prefix: string;
  const done: string[] = [];
  const record: JobHandler<'expire'> = async (p) => void done.push(p.key);
  const open: JobWorkers[] = [];

  before(async () => {
    server = await startRedis({ appendOnly: true });
    connection = redisClient(server.redis.port);
    prefix = uniquePrefix('restart');
    queues = new JobQueues({ connection, prefix });
  });
  after(async () => {
    for (const w of open) await w.close();
    await queues.close();
    connection.disconnect();
    await server.remove();
  });

  /** Stops redis-server (SIGTERM: it flushes the AOF) and starts a new one on the same port and files. */
  async function restartRedis(): Promise<void> {
    const { port, dir } = server.redis;
    await server.redis.stop();
    server = await startRedis({ appendOnly: true, dir, port });
  }

  it('keeps a delayed job through the restart and runs it after', async () => {
    // No worker yet, so the job cannot run before the restart whatever the timing.
    const id = await queues.add('expire', expireJob('before-restart'), { delay: 1_000 });
    await restartRedis();
    assert.equal(await queues.queue('expire').getJobState(id), 'delayed');
    open.push(new JobWorkers(handlers(record), { connection, prefix }));
    await eventually('the delayed job to run', async () =>
      done.includes('before-restart') ? true : undefined,
    );
    assert.equal(await queues.queue('expire').getJobState(id), 'completed');
  });

  it('has running workers reconnect and take new work after a restart', async () => {
    await restartRedis();
    await queues.add('expire', expireJob('after-restart'));
    await eventually('the new job to run', async () => (done.includes('after-restart') ? true : undefined));
  });
});
