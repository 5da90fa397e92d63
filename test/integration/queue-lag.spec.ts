/**
 * Queue lag (JobQueues.lags, the tiergate_queue_lag_seconds gauge) on a real redis-server, with no worker running:
 * - an empty queue has no lag; a job waiting since it was added lags by its age;
 * - a delayed job lags only once past due, by how long it has been due;
 * - the gauge renders per queue.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { GatewayMetrics } from '../../src/admin/metrics.service';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import { metricValue } from '../fixtures/tier-engine';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';

describe('queue lag', () => {
  let redis: Redis;
  let queues: JobQueues;

  before(async () => {
    redis = redisClient((await sharedRedis()).port);
    queues = new JobQueues({ connection: redis, prefix: uniquePrefix('lag') });
  });
  after(async () => {
    await queues?.close();
    redis?.disconnect();
  });

  it('is the age of the most overdue job, waiting or delayed', async () => {
    const empty = await queues.lags();
    assert.equal(empty['remote-delete'], 0);
    assert.equal(empty.reconcile, 0);

    const start = Date.now();
    await queues.add('remote-delete', { tier: 'T', remoteKey: 'k', bucket: 'b', key: 'o', versionId: 'v' });
    // Due in 300 ms, and in an hour.
    await queues.add('reconcile', { tier: 'T', slot: 1 }, { delay: 300 });
    await queues.add('reconcile', { tier: 'T', slot: 2 }, { delay: 3_600_000 });
    assert.equal((await queues.lags()).reconcile, 0, 'not due yet: no lag');
    await delay(1300);
    const lags = await queues.lags();
    const elapsed = (Date.now() - start) / 1000;
    assert.ok(
      lags['remote-delete'] >= 1.2 && lags['remote-delete'] <= elapsed,
      String(lags['remote-delete']),
    );
    assert.ok(lags.reconcile >= 0.9 && lags.reconcile <= elapsed - 0.3 + 0.05, String(lags.reconcile));
    assert.equal(lags.expire, 0);

    const text = new GatewayMetrics().render(undefined, await queues.counts(), lags);
    assert.equal(
      metricValue(text, 'tiergate_queue_lag_seconds', { queue: 'remote-delete' }),
      lags['remote-delete'],
    );
    assert.equal(metricValue(text, 'tiergate_queue_lag_seconds', { queue: 'expire' }), 0);
  });
});
