/**
 * Remote deletes through the lifecycle engine over a real pool, a real redis-server, the local KMS and real tier
 * backends on our offline cloud servers (OSS with exact V4 signatures, and s3rver), without HTTP:
 * - removing a transitioned version removes its remote object: a DELETE by version id in a versioned bucket, an
 *   unversioned DELETE, an unversioned overwrite, and a lifecycle expiration of a transitioned object;
 * - with the tier down (connection refused, then 503s) the remote delete fails, backs off and retries, the failures
 *   show in the metrics, and it completes once the tier is back; the object survives the outage until then;
 * - the per-tier metrics count the transitions, the read-through bytes and the remote deletes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { jobId } from '../../src/lifecycle/queues/job-id';
import { tierRecordOf } from '../../src/tiers/tier-state';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import {
  metricValue,
  putRules,
  startTierEngine,
  transitionRule,
  until,
  untilRemote,
  type TierEngine,
} from '../fixtures/tier-engine';

const KiB = 1024;

for (const cloud of ['oss', 's3'] as const) {
  describe(`remote deletes on an ${cloud} tier`, { timeout: 240_000 }, () => {
    let t: TierEngine;

    before(async () => {
      t = await startTierEngine(cloud, ['COLD']);
      for (const b of ['versioned', 'plain', 'expiring']) await t.pool.makeBucket(b);
      await t.pool.putBucketVersioning('versioned', 'Enabled');
      await putRules(t.pool, 'versioned', ['COLD'], transitionRule('cold', 'COLD'));
      await putRules(t.pool, 'plain', ['COLD'], transitionRule('cold', 'COLD'));
      // Transitioned after one (1-second) day, expired after four.
      await putRules(
        t.pool,
        'expiring',
        ['COLD'],
        transitionRule('cold', 'COLD', '<Expiration><Days>4</Days></Expiration>'),
      );
    });
    after(async () => {
      await t?.close();
    });

    /** The remote key of a remote version, after checking the tier holds it. */
    async function remoteKeyOf(bucket: string, key: string, versionId?: string): Promise<string> {
      const info = await untilRemote(t.pool, bucket, key, versionId);
      const record = tierRecordOf(info);
      assert.equal(record?.status, 'transitioned');
      assert.ok(await t.backends.COLD.head(record.remoteKey), 'the tier holds the object');
      return record.remoteKey;
    }

    function untilGone(remoteKey: string): Promise<true> {
      return until(`remote ${remoteKey} deleted`, async () =>
        (await t.backends.COLD.head(remoteKey)) === null ? true : undefined,
      );
    }

    it('DELETE of a version by id in a versioned bucket removes its remote copy', async () => {
      // Each transitioned while current (the rule has no noncurrent transition).
      const v1 = await t.pool.putObject('versioned', 'a', patternStream(1, 10 * KiB), { size: 10 * KiB });
      const k1 = await remoteKeyOf('versioned', 'a', v1.versionId);
      const v2 = await t.pool.putObject('versioned', 'a', patternStream(2, 10 * KiB), { size: 10 * KiB });
      const k2 = await remoteKeyOf('versioned', 'a', v2.versionId);
      await t.pool.deleteObject('versioned', 'a', { versionId: v1.versionId });
      await untilGone(k1);
      // The other version's copy stays, and still reads through.
      assert.ok(await t.backends.COLD.head(k2), 'the remaining version keeps its remote object');
      const got = await readAll((await t.pool.getObject('versioned', 'a')).stream);
      assert.ok(got.equals(patternBytes(2, 0, 10 * KiB)));
      // A DELETE without id only adds a marker: every version stays, so does its copy.
      await t.pool.deleteObject('versioned', 'a');
      await delay(500);
      assert.ok(await t.backends.COLD.head(k2), 'a delete marker removes no remote object');
    });

    it('an unversioned DELETE removes the remote copy', async () => {
      await t.pool.putObject('plain', 'b', patternStream(3, 5 * KiB), { size: 5 * KiB });
      const k = await remoteKeyOf('plain', 'b');
      await t.pool.deleteObject('plain', 'b');
      await untilGone(k);
    });

    it('an unversioned overwrite removes the replaced version’s remote copy', async () => {
      await t.pool.putObject('plain', 'c', patternStream(4, 5 * KiB), { size: 5 * KiB });
      const k = await remoteKeyOf('plain', 'c');
      await t.pool.putObject('plain', 'c', patternStream(5, 6 * KiB), { size: 6 * KiB });
      await untilGone(k);
      const got = await readAll((await t.pool.getObject('plain', 'c')).stream);
      assert.ok(got.equals(patternBytes(5, 0, 6 * KiB)), 'the new version reads back');
    });

    it('a lifecycle expiration of a transitioned object removes the remote copy', async () => {
      await t.pool.putObject('expiring', 'e', patternStream(6, 7 * KiB), { size: 7 * KiB });
      const k = await remoteKeyOf('expiring', 'e');
      await until('e expired', async () =>
        (await t.pool.getObjectVersions('expiring', 'e')).length === 0 ? true : undefined,
      );
      await untilGone(k);
    });

    it('backs off while the tier refuses connections, then answers 503, and completes once it is back', async () => {
      await t.pool.putObject('plain', 'd', patternStream(7, 9 * KiB), { size: 9 * KiB });
      const k = await remoteKeyOf('plain', 'd');
      const failures = (): number =>
        metricValue(t.metrics.render(undefined), 'tiergate_tier_failures_total', {
          tier: 'COLD',
          operation: 'remote-delete',
        });
      const before = failures();
      const id = jobId('remote-delete', {
        tier: 'COLD',
        remoteKey: k,
        bucket: 'plain',
        key: 'd',
        versionId: 'null',
      });

      await t.tap.outage('refuse');
      await t.pool.deleteObject('plain', 'd');
      await until('two refused attempts', async () => (failures() >= before + 2 ? true : undefined));
      await t.tap.outage('503');
      const during503 = t.tap.log.length;
      const mid = failures();
      await until('two attempts answered 503', async () => (failures() >= mid + 2 ? true : undefined));
      assert.ok(
        t.tap.log.slice(during503).some((r) => r.status === 503),
        'the tier answered 503 to the retries',
      );
      const job = await t.queues.queue('remote-delete').getJob(id);
      assert.ok(job, 'the remote delete is one job, named by tier and remote key');
      assert.notEqual(await job.getState(), 'failed', 'an outage does not exhaust the retries');

      await t.tap.outage('none');
      assert.ok(await t.backends.COLD.head(k), 'the object survived the outage');
      await untilGone(k);
      await until('the job completed', async () =>
        (await t.queues.queue('remote-delete').getJob(id))?.finishedOn ? true : undefined,
      );
      const done = (await t.queues.queue('remote-delete').getJob(id))!;
      assert.equal(await done.getState(), 'completed');
      assert.ok(done.attemptsMade >= 4, `retried (${done.attemptsMade} attempts made)`);
    });

    it('counts transitions, read-through bytes and remote deletes per tier', async () => {
      const text = t.metrics.render(undefined);
      const m = (name: string, labels: Record<string, string> = { tier: 'COLD' }): number =>
        metricValue(text, name, labels);
      // a (two versions), b, c (and perhaps its overwrite, by now), e, d.
      assert.ok(m('tiergate_tier_transitioned_objects_total') >= 6, text);
      assert.ok(
        m('tiergate_tier_transitioned_bytes_total') >= 2 * 10 * KiB + 5 * KiB + 5 * KiB + 7 * KiB + 9 * KiB,
      );
      // The read of a's second version and of c's overwrite (if it was transitioned when read).
      assert.ok(m('tiergate_tier_read_through_total') >= 1);
      assert.ok(m('tiergate_tier_read_through_bytes_total') >= 10 * KiB);
      const deleted = { tier: 'COLD', reason: 'version-removed' };
      assert.equal(m('tiergate_tier_remote_deleted_objects_total', deleted), 5, text);
      assert.ok(
        m('tiergate_tier_remote_deleted_bytes_total', deleted) >
          10 * KiB + 5 * KiB + 5 * KiB + 7 * KiB + 9 * KiB,
      );
      assert.ok(m('tiergate_tier_failures_total', { tier: 'COLD', operation: 'remote-delete' }) >= 4);
    });
  });
}
