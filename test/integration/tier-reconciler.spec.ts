/**
 * The tier reconciler over a real pool, a real redis-server, the local KMS and real tier backends on our offline
 * cloud servers (OSS with exact V4 signatures, and s3rver). The RECON tier's prefix holds, when the pass runs:
 * - a transitioned version's object (referenced), and an object a version names in its `transitioning` intent (a
 *   crash between upload and commit: referenced, kept);
 * - an orphan planted directly under the prefix, older than the grace (3 s), and one planted just before the pass
 *   (younger than the grace: kept).
 * A dry run reports exactly that and removes nothing; the real pass removes only the old orphan, and the metrics
 * count it as an orphan removal. Deleting the version with the intent then removes its object (a remote delete of a
 * `transitioning` version). A tier the gateway does not have is refused.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { NoSuchTierError } from '../../src/lifecycle/engine/tier-reconciler';
import { newRemoteKey, sourceMetadata, tierRecordOf } from '../../src/tiers/tier-state';
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

const GRACE_SECONDS = 3;

for (const cloud of ['oss', 's3'] as const) {
  describe(`the reconciler on an ${cloud} tier`, { timeout: 120_000 }, () => {
    let t: TierEngine;

    before(async () => {
      t = await startTierEngine(cloud, ['RECON'], { orphanGraceSeconds: GRACE_SECONDS });
      await t.pool.makeBucket('recon');
      await t.pool.makeBucket('norules');
      await putRules(t.pool, 'recon', ['RECON'], transitionRule('cold', 'RECON'));
    });
    after(async () => {
      await t?.close();
    });

    it('removes an old orphan only, keeps young and referenced objects; a dry run removes nothing', async () => {
      const backend = t.backends.RECON;
      await t.pool.putObject('recon', 'moved', patternStream(1, 3000), { size: 3000 });
      const moved = tierRecordOf(await untilRemote(t.pool, 'recon', 'moved'))!;

      // A version whose intent names a remote key whose upload finished, but not its commit.
      const pending = await t.pool.putObject('norules', 'pending', patternStream(2, 2000), { size: 2000 });
      const pendingKey = newRemoteKey();
      await t.pool.updateObjectVersion('norules', 'pending', pending.versionId, (cur) => ({
        ...cur,
        tier: { tier: 'RECON', status: 'transitioning', remoteKey: pendingKey, startedAt: Date.now() },
      }));
      await backend.put(pendingKey, Readable.from([Buffer.alloc(2100, 1)]), {
        size: 2100,
        metadata: sourceMetadata(pending),
      });
      // An orphan whose source version is gone (its metadata names a key that no longer has it).
      const gone = await t.pool.putObject('norules', 'gone', patternStream(3, 100), { size: 100 });
      await t.pool.deleteObject('norules', 'gone');
      await backend.put('old-orphan', Readable.from([Buffer.alloc(1234, 2)]), {
        size: 1234,
        metadata: sourceMetadata(gone),
      });
      await delay(GRACE_SECONDS * 1000 + 1500);
      await backend.put('young-orphan', Readable.from([Buffer.alloc(10, 3)]), { size: 10 });

      const dry = await t.engine.reconciler!.reconcile('RECON', { dryRun: true });
      assert.deepEqual(
        { ...dry, details: dry.details.map((d) => [d.key, d.size, d.removed, d.source?.key]) },
        {
          tier: 'RECON',
          dryRun: true,
          graceSeconds: GRACE_SECONDS,
          listed: 4,
          referenced: 2,
          young: 1,
          orphans: 1,
          removed: 0,
          details: [['old-orphan', 1234, false, 'gone']],
        },
      );
      assert.ok(await backend.head('old-orphan'), 'a dry run removes nothing');

      const real = await t.engine.reconciler!.reconcile('RECON');
      assert.equal(real.dryRun, false);
      assert.deepEqual(
        [real.listed, real.referenced, real.young, real.orphans, real.removed],
        [4, 2, 1, 1, 1],
      );
      assert.equal(await backend.head('old-orphan'), null, 'the old orphan is removed');
      for (const key of [moved.remoteKey, pendingKey, 'young-orphan'])
        assert.ok(await backend.head(key), `${key} is kept`);
      const got = await readAll((await t.pool.getObject('recon', 'moved')).stream);
      assert.ok(got.equals(patternBytes(1, 0, 3000)), 'the transitioned version still reads through');

      const text = t.metrics.render(undefined);
      const orphan = { tier: 'RECON', reason: 'orphan' };
      assert.equal(metricValue(text, 'tiergate_tier_remote_deleted_objects_total', orphan), 1, text);
      assert.equal(metricValue(text, 'tiergate_tier_remote_deleted_bytes_total', orphan), 1234);
      assert.equal(metricValue(text, 'tiergate_tier_transitioned_objects_total', { tier: 'RECON' }), 1);
      assert.equal(metricValue(text, 'tiergate_tier_transitioned_bytes_total', { tier: 'RECON' }), 3000);
      assert.equal(metricValue(text, 'tiergate_tier_read_through_total', { tier: 'RECON' }), 1);
      assert.equal(metricValue(text, 'tiergate_tier_read_through_bytes_total', { tier: 'RECON' }), 3000);

      // Removing the version whose intent names the object queues its remote delete like any other.
      await t.pool.deleteObject('norules', 'pending');
      await until('the intent’s object removed', async () =>
        (await backend.head(pendingKey)) === null ? true : undefined,
      );
    });

    it('refuses a tier it does not have', async () => {
      await assert.rejects(t.engine.reconciler!.reconcile('NOPE'), NoSuchTierError);
    });
  });
}
