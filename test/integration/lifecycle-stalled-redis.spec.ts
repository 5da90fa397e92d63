/**
 * A write is never held hostage by a stalled Redis: the lifecycle engine's scheduling after a change waits at most
 * SCHEDULE_TIMEOUT_MS (a deadline shared by the changes of the same moment), then leaves the key to the scanner.
 * Redis here is up but silent (SIGSTOP): the connection stays ready, so nothing short-cuts the wait.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { SCHEDULE_TIMEOUT_MS } from '../../src/lifecycle/engine/lifecycle-engine';
import type { JobQueues } from '../../src/lifecycle/queues/job-queues';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import type { ErasurePool } from '../../src/storage/pool';
import { doc, parse, rule } from '../fixtures/lifecycle-docs';
import { startPlainEngine, type PlainEngine } from '../fixtures/plain-engine';
import { redisClient, startRedis } from '../fixtures/redis-server';
import { tempDrives } from '../fixtures/temp-drives';

describe('scheduling after a write while Redis stalls', { timeout: 60_000 }, () => {
  const tmp = tempDrives(4, 'stalled-redis');
  let own: Awaited<ReturnType<typeof startRedis>>;
  let redis: Redis;
  let queues: JobQueues;
  let rig: PlainEngine | undefined;
  let pool: ErasurePool;

  before(async () => {
    own = await startRedis({ appendOnly: false });
    redis = redisClient(own.redis.port);
    rig = await startPlainEngine(tmp.paths, redis, { label: 'stalled', daySeconds: 1 });
    ({ pool, queues } = rig);
    await pool.makeBucket('data');
    const rules = doc(
      rule(
        '<ID>exp</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>5</Days></Expiration>',
      ),
    );
    await pool.putBucketLifecycle('data', encodeLifecycle(parse(rules)));
  });
  after(async () => {
    await rig?.close();
    redis?.disconnect();
    await own?.remove();
    tmp.cleanup();
  });

  it('lets every write of a burst finish within the bound, then schedules normally again', async () => {
    const put = (key: string): Promise<unknown> =>
      pool.putObject('data', key, Readable.from([Buffer.from(key)]), { size: key.length });
    await put('before');
    assert.deepEqual(await queuedKeys(queues), ['before'], 'scheduled: its expiry job is queued');

    const elapsed = await own.stalled(async () => {
      assert.equal(redis.status, 'ready', 'stalled, not disconnected');
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 20 }, (_, i) => put(`during-${i}`)));
      return Date.now() - t0;
    });
    // A bound, not a speed: without it these writes would wait for Redis as long as it stays silent.
    assert.ok(elapsed < 2 * SCHEDULE_TIMEOUT_MS, `the writes took ${elapsed} ms`);
    const info = await pool.getObjectInfo('data', 'during-0');
    assert.equal(info.size, 'during-0'.length, 'the write itself is durable');
    await put('after');
    assert.ok((await queuedKeys(queues)).includes('after'), 'scheduling works again once Redis answers');
  });
});

/** Keys with an expiry job waiting in the queue. */
async function queuedKeys(queues: JobQueues): Promise<string[]> {
  const jobs = await queues.queue('expire').getJobs(['delayed', 'waiting']);
  return jobs.map((j) => (j.data as { key: string }).key).sort();
}
