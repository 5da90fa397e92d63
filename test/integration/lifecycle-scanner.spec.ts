/**
 * The scanner asks for the jobs of a whole listing page at once: they reach Redis as one bulk add per kind and
 * page, not one round trip (and one BullMQ pipeline) per key, which made a scan of many due objects cost more main
 * thread than the work it scheduled. Real pool (no engine: nothing is scheduled at write time), real redis-server;
 * each queue's addBulk is wrapped to count its calls, and the jobs are read back from Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { BucketRules } from '../../src/lifecycle/engine/bucket-rules';
import { LifecycleScanner } from '../../src/lifecycle/engine/scanner';
import { LifecycleScheduler } from '../../src/lifecycle/engine/scheduler';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import type { JobKind } from '../../src/lifecycle/queues/job-types';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { abortAfter, doc, ENABLED, EXPIRE_1, parse, rule } from '../fixtures/lifecycle-docs';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';
import { streamOf, tempDrives } from '../fixtures/temp-drives';

/** More keys than one listing page (1000) holds. */
const KEYS = 1030;
const UPLOADS = 3;

describe('lifecycle scanner: the jobs of a page go to Redis together', () => {
  const tmp = tempDrives(4, 'lifecycle-scanner');
  let redis: Redis;
  let pool: ErasurePool;
  let queues: JobQueues;
  let scanner: LifecycleScanner;
  /** addBulk calls per kind: the number of jobs in each. */
  const bulks = new Map<JobKind, number[]>();

  before(async () => {
    redis = redisClient((await sharedRedis()).port);
    pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
    queues = new JobQueues({ connection: redis, prefix: uniquePrefix('scanner') });
    for (const kind of ['expire', 'abort-multipart'] as const) {
      const queue = queues.queue(kind);
      const real = queue.addBulk.bind(queue);
      bulks.set(kind, []);
      queue.addBulk = (jobs) => {
        bulks.get(kind)!.push(jobs.length);
        return real(jobs);
      };
    }
    const rules = new BucketRules(pool);
    // A one-hour lifecycle day: every job is delayed, none runs (no worker anyway).
    scanner = new LifecycleScanner(pool, rules, new LifecycleScheduler(pool, queues, rules, 3600));
    await pool.makeBucket('bkt');
    const one = Buffer.from('x');
    for (let i = 0; i < KEYS; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, KEYS - i) }, (_, j) =>
          pool.putObject('bkt', `k/${String(i + j).padStart(5, '0')}`, streamOf(one), { size: 1 }),
        ),
      );
    }
    for (let i = 0; i < UPLOADS; i++) await pool.newMultipartUpload('bkt', `upload-${i}`);
    const rules1 = rule(`<ID>e</ID><Filter></Filter>${ENABLED}${EXPIRE_1}${abortAfter(1)}`);
    await pool.putBucketLifecycle('bkt', encodeLifecycle(parse(doc(rules1))));
  });
  after(async () => {
    await queues?.close();
    await pool?.shutdown();
    redis?.disconnect();
    tmp.cleanup();
  });

  it('adds one bulk per kind and listing page, and a second scan changes nothing', async () => {
    const report = await scanner.scan('bkt');
    assert.deepEqual(report, { buckets: 1, versions: KEYS, uploads: UPLOADS, scheduled: KEYS + UPLOADS });
    const expire = bulks.get('expire')!;
    assert.equal(expire.length, 2, `one bulk per page of versions, not ${expire.length}`);
    assert.equal(expire[0] + expire[1], KEYS);
    assert.deepEqual(bulks.get('abort-multipart'), [UPLOADS], 'one bulk for the page of uploads');
    assert.equal(await queues.queue('expire').getDelayedCount(), KEYS);
    assert.equal(await queues.queue('abort-multipart').getDelayedCount(), UPLOADS);
    const ids = new Set(
      (await queues.queue('expire').getDelayed(0, -1)).map((j) => (j.data as { key: string }).key),
    );
    assert.equal(ids.size, KEYS, 'a job per key');

    assert.deepEqual(await scanner.scan('bkt'), report);
    assert.equal(await queues.queue('expire').getDelayedCount(), KEYS, 'the same ids: nothing added twice');
    assert.equal(await queues.queue('abort-multipart').getDelayedCount(), UPLOADS);
  });
});
