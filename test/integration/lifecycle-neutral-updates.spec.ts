/**
 * The lifecycle engine re-plans a key after an in-place update only when the update changed a fact the rules read
 * (tags, say). A transition's intent changes none, and re-planning after it cost every transition a queue round
 * trip for a job that already exists. A refused update tells no change at all. Real pool, real redis-server; the
 * queue wrapper counts the jobs it is asked to add.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import type { JobKind, JobPayloads } from '../../src/lifecycle/queues/job-types';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import { doc, parse, rule } from '../fixtures/lifecycle-docs';
import { startPlainEngine, type PlainEngine } from '../fixtures/plain-engine';
import { redisClient, sharedRedis } from '../fixtures/redis-server';
import { streamOf, tempDrives } from '../fixtures/temp-drives';

/** JobQueues that records every job it is asked to add (the jobs still go to Redis). */
class CountingQueues extends JobQueues {
  readonly asked: string[] = [];

  override addMany<K extends JobKind>(
    kind: K,
    jobs: readonly { payload: JobPayloads[K]; delay?: number }[],
  ): Promise<string[]> {
    for (const _ of jobs) this.asked.push(kind);
    return super.addMany(kind, jobs);
  }
}

describe('lifecycle engine: in-place updates that change no rule fact', () => {
  const tmp = tempDrives(4, 'lifecycle-neutral');
  let redis: Redis;
  let rig: PlainEngine<CountingQueues>;

  before(async () => {
    redis = redisClient((await sharedRedis()).port);
    // A one-hour lifecycle day: nothing comes due while the test runs.
    rig = await startPlainEngine(tmp.paths, redis, {
      label: 'neutral',
      daySeconds: 3600,
      queues: (settings) => new CountingQueues(settings),
    });
    await rig.pool.makeBucket('bkt');
    const filter = '<Filter><Tag><Key>t</Key><Value>yes</Value></Tag></Filter>';
    const expiration = '<Expiration><Days>1</Days></Expiration>';
    await rig.pool.putBucketLifecycle(
      'bkt',
      encodeLifecycle(parse(doc(rule(`<ID>e</ID>${filter}<Status>Enabled</Status>${expiration}`)))),
    );
  });
  after(async () => {
    await rig?.close();
    redis?.disconnect();
    tmp.cleanup();
  });

  it('re-plans after a tag update, not after an intent or a refused update', async () => {
    const { versionId } = await rig.pool.putObject('bkt', 'k', streamOf(Buffer.from('x')), { size: 1 });
    assert.deepEqual(rig.queues.asked, [], 'untagged: the rule does not apply');

    await rig.pool.updateObjectVersion('bkt', 'k', versionId, (cur) => ({ ...cur, tags: { t: 'yes' } }));
    assert.deepEqual(rig.queues.asked, ['expire'], 'the tag makes the rule apply: its expiration is queued');

    // What a transition's first step writes: an intent, which leaves size, time, tags and storage class alone.
    const intent = { tier: 'COLD', status: 'transitioning', remoteKey: 'r', startedAt: Date.now() };
    const after = await rig.pool.updateObjectVersion('bkt', 'k', versionId, (cur) => ({
      ...cur,
      tier: { ...intent },
    }));
    assert.equal(after.storageClass, 'STANDARD');
    await rig.pool.updateObjectVersion('bkt', 'k', versionId, () => null);
    assert.deepEqual(rig.queues.asked, ['expire'], 'nothing asked for again');

    await rig.pool.updateObjectVersion('bkt', 'k', versionId, (cur) => ({
      ...cur,
      tags: { t: 'yes', u: '1' },
    }));
    assert.deepEqual(rig.queues.asked, ['expire', 'expire'], 'another tag: planned again');
    assert.equal(
      await rig.queues.queue('expire').getDelayedCount(),
      1,
      'one job: both plans named the same one',
    );
  });
});
