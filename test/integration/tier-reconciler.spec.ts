/**
 * The tier reconciler over a real pool, a real redis-server, the local KMS and real tier backends on our offline
 * cloud servers (OSS with exact V4 signatures, s3rver, and our S3 server with SigV4). The RECON tier's prefix holds,
 * when the pass runs:
 * - a transitioned version's object (referenced), and an object a version names in its `transitioning` intent (a
 *   transition between upload and commit, still running: it holds its object's Redis lock; referenced, kept);
 * - an orphan planted directly under the prefix, older than the grace (3 s), and one planted just before the pass
 *   (younger than the grace: kept).
 * A dry run reports exactly that and removes nothing; the real pass removes only the old orphan, and the metrics
 * count it as an orphan removal. Deleting the version with the intent then removes its object (a remote delete of a
 * `transitioning` version). A tier the gateway does not have is refused.
 *
 * Open multipart uploads (left through the cloud's own client, as a killed gateway leaves them), where the server
 * lists them (OSS, our S3 server): one whose key a version's `transitioning` intent names (an upload in flight: kept
 * however old), one of an attempt whose intent a later attempt replaced (older than the grace: aborted), and one
 * younger than the grace (kept). A dry run reports the same and aborts nothing; the metrics count the abort. On
 * s3rver, which answers ListMultipartUploads 501 NotImplemented, the pass still reconciles the objects and says
 * why it listed no uploads.
 *
 * Stale intents (older than the grace): one whose object's lock is held (an attempt still running) is kept; one no
 * attempt holds (a transition killed between upload and commit, its job lost) is dropped, and the object it named
 * is removed as an orphan in the same pass; the version stays local and readable. A dry run drops nothing.
 * A tier whose credentials may not list multipart uploads (403) is still reconciled for its objects, and says why.
 * A pass that lists a few objects at a time (batches of 1 and 3) reports exactly what a pass of one batch does, and
 * removes the same orphan.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  NoSuchTierError,
  TierReconciler,
  type ReconcileReport,
} from '../../src/lifecycle/engine/tier-reconciler';
import { fixedTiers } from '../../src/tiers/read-through';
import { newRemoteKey, sourceMetadata, tierRecordOf } from '../../src/tiers/tier-state';
import { openUpload } from '../fixtures/cloud/open-upload';
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

for (const cloud of ['oss', 's3', 's3-archive'] as const) {
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
    /** A reconciler like the engine's that holds `batchSize` listed objects at a time. */
    const batched = (batchSize: number): TierReconciler =>
      new TierReconciler(
        t.pool,
        fixedTiers(t.backends),
        GRACE_SECONDS,
        t.metrics,
        t.locks,
        undefined,
        batchSize,
      );

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

      const dryReport = await t.engine.reconciler!.reconcile('RECON', { dryRun: true });
      const { uploadsNotListed, ...dry } = dryReport;
      if (cloud === 's3') assert.match(uploadsNotListed ?? '', /does not implement ListMultipartUploads/);
      else assert.equal(uploadsNotListed, undefined);
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
          uploadsListed: 0,
          uploadsReferenced: 0,
          uploadsYoung: 0,
          uploadsStale: 0,
          uploadsAborted: 0,
          uploadDetails: [],
          intentsStale: 1,
          intentsDropped: 0,
          restores: 0,
          restoreJobs: 0,
        },
      );
      assert.ok(await backend.head('old-orphan'), 'a dry run removes nothing');
      // Listed a few objects at a time (a walk of the namespace per batch), a pass finds exactly the same.
      for (const size of [1, 3]) {
        assert.deepEqual(
          await batched(size).reconcile('RECON', { dryRun: true }),
          dryReport,
          `batches of ${size}`,
        );
      }

      // The pending transition is still running (on some gateway): it holds its object's lock. This pass lists one
      // object at a time: the old orphan comes in its third batch.
      const real = await t.locks.withLock('norules/pending', () => batched(1).reconcile('RECON'));
      assert.equal(real.dryRun, false);
      assert.deepEqual(
        [real.intentsStale, real.intentsDropped],
        [1, 0],
        'a running attempt keeps its intent',
      );
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

    if (cloud !== 's3')
      it('aborts an old open upload no version references; keeps young and referenced ones; a dry run aborts nothing', async () => {
        const backend = t.backends.RECON;
        const def = t.definitions.RECON;
        const intent = (remoteKey: string) => ({
          tier: 'RECON',
          status: 'transitioning' as const,
          remoteKey,
          startedAt: Date.now(),
        });
        // A transition still uploading: its intent names the upload's key.
        const held = await t.pool.putObject('norules', 'held', patternStream(4, 1000), { size: 1000 });
        const heldKey = newRemoteKey();
        await t.pool.updateObjectVersion('norules', 'held', held.versionId, (cur) => ({
          ...cur,
          tier: intent(heldKey),
        }));
        const heldId = await openUpload(def, heldKey);
        // An attempt killed mid-upload, whose intent the retry replaced with its own fresh key.
        const retried = await t.pool.putObject('norules', 'retried', patternStream(5, 1000), { size: 1000 });
        const killedKey = newRemoteKey();
        await t.pool.updateObjectVersion('norules', 'retried', retried.versionId, (cur) => ({
          ...cur,
          tier: intent(killedKey),
        }));
        const killedId = await openUpload(def, killedKey);
        await t.pool.updateObjectVersion('norules', 'retried', retried.versionId, (cur) => ({
          ...cur,
          tier: intent(newRemoteKey()),
        }));
        await delay(GRACE_SECONDS * 1000 + 1500);
        const youngKey = newRemoteKey();
        const youngId = await openUpload(def, youngKey);
        const open = async () => {
          const ids: string[] = [];
          for await (const u of backend.listUploads()) ids.push(u.uploadId);
          return ids.sort();
        };
        const uploadsOf = (r: ReconcileReport) => ({
          counts: [r.uploadsListed, r.uploadsReferenced, r.uploadsYoung, r.uploadsStale, r.uploadsAborted],
          details: r.uploadDetails.map((d) => [d.key, d.uploadId, d.aborted]),
          notListed: r.uploadsNotListed,
        });

        const dry = await t.engine.reconciler!.reconcile('RECON', { dryRun: true });
        assert.deepEqual(uploadsOf(dry), {
          counts: [3, 1, 1, 1, 0],
          details: [[killedKey, killedId, false]],
          notListed: undefined,
        });
        assert.ok(Date.parse(dry.uploadDetails[0].initiated) < Date.now() - GRACE_SECONDS * 1000);
        assert.deepEqual(await open(), [heldId, killedId, youngId].sort(), 'a dry run aborts nothing');

        // The held transition is still uploading: it holds its object's lock. The retry's own intent is stale too,
        // and nothing holds its lock: dropped.
        const real = await t.locks.withLock('norules/held', () => t.engine.reconciler!.reconcile('RECON'));
        assert.deepEqual([real.intentsStale, real.intentsDropped], [2, 1]);
        assert.equal((await t.pool.getObjectInfo('norules', 'retried')).tier, undefined);
        assert.equal(tierRecordOf(await t.pool.getObjectInfo('norules', 'held'))?.remoteKey, heldKey);
        assert.deepEqual(uploadsOf(real), {
          counts: [3, 1, 1, 1, 1],
          details: [[killedKey, killedId, true]],
          notListed: undefined,
        });
        assert.deepEqual(
          await open(),
          [heldId, youngId].sort(),
          'only the killed attempt’s upload is aborted',
        );
        const text = t.metrics.render(undefined);
        assert.equal(metricValue(text, 'tiergate_tier_uploads_aborted_total', { tier: 'RECON' }), 1, text);

        // Once the version holding the intent is gone, nothing references its upload: aborted past the grace.
        await t.pool.deleteObject('norules', 'held');
        const after = await t.engine.reconciler!.reconcile('RECON');
        assert.deepEqual(uploadsOf(after).counts, [2, 0, 1, 1, 1]);
        assert.deepEqual(await open(), [youngId]);
        await backend.abortUpload(youngKey, youngId);
      });

    it('drops a stale intent no attempt holds, then removes the object it named', async () => {
      const backend = t.backends.RECON;
      // A transition killed between its upload and its commit, whose job was lost: the intent stays behind.
      const crashed = await t.pool.putObject('norules', 'crashed', patternStream(6, 1500), { size: 1500 });
      const crashedKey = newRemoteKey();
      await t.pool.updateObjectVersion('norules', 'crashed', crashed.versionId, (cur) => ({
        ...cur,
        tier: { tier: 'RECON', status: 'transitioning', remoteKey: crashedKey, startedAt: Date.now() },
      }));
      await backend.put(crashedKey, Readable.from([Buffer.alloc(1600, 4)]), {
        size: 1600,
        metadata: sourceMetadata(crashed),
      });
      await delay(GRACE_SECONDS * 1000 + 1500);

      const dry = await t.engine.reconciler!.reconcile('RECON', { dryRun: true });
      assert.deepEqual([dry.intentsStale, dry.intentsDropped], [1, 0]);
      assert.ok(
        !dry.details.some((d) => d.key === crashedKey),
        'a dry run keeps the intent and what it names',
      );
      assert.equal(tierRecordOf(await t.pool.getObjectInfo('norules', 'crashed'))?.remoteKey, crashedKey);

      const real = await t.engine.reconciler!.reconcile('RECON');
      assert.deepEqual([real.intentsStale, real.intentsDropped], [1, 1]);
      assert.deepEqual(
        real.details.filter((d) => d.key === crashedKey).map((d) => d.removed),
        [true],
        'what the dropped intent named is an orphan of the same pass',
      );
      assert.equal(await backend.head(crashedKey), null);
      const info = await t.pool.getObjectInfo('norules', 'crashed');
      assert.equal(info.tier, undefined, 'the intent is gone');
      assert.equal(info.storageClass, 'STANDARD');
      const got = await readAll((await t.pool.getObject('norules', 'crashed')).stream);
      assert.ok(got.equals(patternBytes(6, 0, 1500)), 'the version is local and reads back');
    });

    if (cloud !== 's3')
      it('reconciles the objects of a tier whose credentials may not list uploads, and says so', async () => {
        const backend = t.backends.RECON;
        await backend.put('denied-orphan', Readable.from([Buffer.alloc(77, 5)]), { size: 77 });
        await delay(GRACE_SECONDS * 1000 + 1500);
        t.tap.failNext({
          match: (r) => r.method === 'GET' && r.query.uploads !== undefined,
          status: 403,
          code: 'AccessDenied',
        });
        const report = await t.engine.reconciler!.reconcile('RECON');
        assert.match(report.uploadsNotListed ?? '', /may not list multipart uploads/);
        assert.equal(report.uploadsListed, 0);
        assert.ok(report.details.some((d) => d.key === 'denied-orphan' && d.removed));
        assert.equal(await backend.head('denied-orphan'), null);
      });

    it('refuses a tier it does not have', async () => {
      await assert.rejects(t.engine.reconciler!.reconcile('NOPE'), NoSuchTierError);
      assert.throws(() => batched(0), RangeError);
    });
  });
}
