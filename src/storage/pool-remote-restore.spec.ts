/**
 * Versions whose data lives in a cloud tier (set-remote.ts) on a 4+2 pool, part 2: restoring a local copy (verified
 * against the ETag, single-part and multipart) and releasing it again, deletes and overwrites reporting the removed
 * tier state, and heal of drives that missed a release. Part 1 is pool-remote.spec.ts.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { randomBytes } from '../../test/fixtures/prng';
import { readAll, streamOf } from '../../test/fixtures/temp-drives';
import { md5, toCold, restored, useRemotePool } from '../../test/fixtures/remote-pool';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import type { ErasurePool } from './pool';

describe('restores, deletes and heal of versions in a cloud tier on a 4+2 pool', () => {
  const t = useRemotePool(
    'pool-remote-restore',
    ['rel-b', 'rd-b', 'rs-b', 'del-b', 'heal', 'list-b', 'deep'],
    ['rs-b', 'del-b', 'heal', 'deep'],
  );
  const { rand, tier, reads, changes, putAndUpload, dataDirs, tmpEntries, records } = t;
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  before(() => {
    ({ pool, drives } = t);
  });

  describe('restore', () => {
    it('restores a data-dir version, reads it locally, and releases it again', async () => {
      const bytes = randomBytes(rand, 260 * 1024);
      const put = await putAndUpload('rs-b', 'obj', bytes);
      await pool.releaseVersionData('rs-b', 'obj', put.versionId, toCold);
      const info = await pool.restoreVersionData('rs-b', 'obj', put.versionId, streamOf(bytes), restored);
      assert.equal(info.remote, undefined);
      assert.equal(info.storageClass, 'COLD', 'a restored copy still reports its tier');
      assert.ok(dataDirs('rs-b', 'obj').every((d) => d.length === 1));
      const got = await pool.getObject('rs-b', 'obj', { range: { start: 5, end: 200_000 } });
      assert.ok(bytes.subarray(5, 200_001).equals(await readAll(got.stream)));
      assert.equal(reads.length, 0, 'read locally');
      const v = (await records('rs-b', 'obj', put.versionId))[0];
      assert.deepEqual(v.lifecycle, { restore: { expiry: 1234 } });
      assert.equal(v.tier?.remoteKey, `rk/${put.versionId}`);

      await pool.releaseVersionData('rs-b', 'obj', put.versionId, (cur) => {
        const next = { ...cur };
        delete next.lifecycle;
        return next;
      });
      assert.deepEqual(dataDirs('rs-b', 'obj'), [[], [], [], [], [], []]);
      assert.equal((await pool.getObjectInfo('rs-b', 'obj')).remote, true);
      assert.deepEqual(tmpEntries(), []);
    });

    it('restores an inline version', async () => {
      const bytes = randomBytes(rand, 3000);
      const put = await putAndUpload('rs-b', 'small', bytes);
      await pool.releaseVersionData('rs-b', 'small', put.versionId, toCold);
      await pool.restoreVersionData('rs-b', 'small', put.versionId, streamOf(bytes, 700), restored);
      assert.ok(
        (await records('rs-b', 'small', put.versionId)).every((r) => r.inline && r.frame && !r.remote),
      );
      assert.ok(bytes.equals(await readAll((await pool.getObject('rs-b', 'small')).stream)));
      assert.equal(reads.length, 0);
    });

    it('refuses wrong, short and long bodies, a refusing update and a local version, leaving nothing behind', async () => {
      for (const size of [2000, 90 * 1024]) {
        const bytes = randomBytes(rand, size);
        const key = `bad-${size}`;
        const put = await putAndUpload('rs-b', key, bytes);
        await pool.restoreVersionData('rs-b', key, put.versionId, streamOf(bytes), restored).then(
          () => assert.fail('a local version was restored'),
          (err: unknown) => assert.equal((err as { code: string }).code, 'PreconditionFailed'),
        );
        await pool.releaseVersionData('rs-b', key, put.versionId, toCold);
        const wrong = Buffer.from(bytes);
        wrong[size - 1] ^= 1;
        const attempts: [Buffer, string][] = [
          [wrong, 'BadDigest'],
          [bytes.subarray(0, size - 1), 'IncompleteBody'],
          [Buffer.concat([bytes, Buffer.from('!')]), 'InvalidArgument'],
        ];
        for (const [body, code] of attempts) {
          await assert.rejects(
            pool.restoreVersionData('rs-b', key, put.versionId, streamOf(body), restored),
            {
              code,
            },
          );
        }
        await assert.rejects(
          pool.restoreVersionData('rs-b', key, put.versionId, streamOf(bytes), () => null),
          {
            code: 'PreconditionFailed',
          },
        );
        await assert.rejects(
          pool.restoreVersionData('rs-b', key, put.versionId, streamOf(bytes), (v) => ({
            ...v,
            etag: md5(wrong),
          })),
          { code: 'InvalidArgument' },
        );
        assert.equal((await pool.getObjectInfo('rs-b', key)).remote, true);
        assert.deepEqual(dataDirs('rs-b', key), [[], [], [], [], [], []]);
        assert.deepEqual(tmpEntries(), []);
      }
    });

    it('restores a multipart version part by part, verifying every part', async () => {
      const part1 = randomBytes(rand, 5 * 1024 * 1024);
      const part2 = randomBytes(rand, 70 * 1024);
      const uploadId = await pool.newMultipartUpload('rs-b', 'mp');
      const p1 = await pool.putObjectPart('rs-b', 'mp', uploadId, 1, streamOf(part1));
      const p2 = await pool.putObjectPart('rs-b', 'mp', uploadId, 3, streamOf(part2));
      const done = await pool.completeMultipartUpload('rs-b', 'mp', uploadId, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 3, etag: p2.etag },
      ]);
      const all = Buffer.concat([part1, part2]);
      tier.set(`rs-b/mp/${done.versionId}`, all);
      await pool.releaseVersionData('rs-b', 'mp', done.versionId, toCold);
      const wrong = Buffer.from(all);
      wrong[part1.length + 10] ^= 1;
      await assert.rejects(pool.restoreVersionData('rs-b', 'mp', done.versionId, streamOf(wrong), restored), {
        code: 'BadDigest',
      });
      const info = await pool.restoreVersionData(
        'rs-b',
        'mp',
        done.versionId,
        streamOf(all, 100_000),
        restored,
      );
      assert.equal(info.etag, done.etag);
      assert.deepEqual(
        info.parts.map((p) => [p.number, p.size]),
        [
          [1, part1.length],
          [3, part2.length],
        ],
      );
      const got = await pool.getObject('rs-b', 'mp', {
        range: { start: part1.length - 5, end: part1.length + 5 },
      });
      assert.ok(all.subarray(part1.length - 5, part1.length + 6).equals(await readAll(got.stream)));
      assert.ok(all.equals(await readAll((await pool.getObject('rs-b', 'mp')).stream)));
      assert.equal(reads.length, 0);
      assert.ok((await pool.healObject('rs-b', 'mp')).ok);
    });
  });

  describe('deletes and overwrites report the removed tier state', () => {
    it('a delete by id of a remote version', async () => {
      const put = await putAndUpload('del-b', 'byid', randomBytes(rand, 50 * 1024));
      await pool.releaseVersionData('del-b', 'byid', put.versionId, toCold);
      changes.length = 0;
      const res = await pool.deleteObject('del-b', 'byid', { versionId: put.versionId });
      assert.equal(res.tier?.remoteKey, `rk/${put.versionId}`);
      assert.equal(res.removed?.versionId, put.versionId);
      assert.deepEqual(
        changes.map((c) => (c.kind === 'object' ? c.removed?.map((r) => r.versionId) : undefined)),
        [[put.versionId]],
      );
      await assert.rejects(pool.getObjectInfo('del-b', 'byid'), { code: 'ObjectNotFound' });
      assert.deepEqual(dataDirs('del-b', 'byid'), [[], [], [], [], [], []]);
    });

    it('a delete of a local version reports nothing', async () => {
      const put = await pool.putObject('del-b', 'plain', streamOf(Buffer.from('plain')));
      const res = await pool.deleteObject('del-b', 'plain', { versionId: put.versionId });
      assert.equal(res.tier, undefined);
      assert.equal(res.removed, undefined);
    });

    it('an Unversioned delete, a Suspended delete marker and overwrites of the null version', async () => {
      await pool.makeBucket('unv-b');
      const a = await putAndUpload('unv-b', 'k', randomBytes(rand, 20 * 1024));
      await pool.releaseVersionData('unv-b', 'k', a.versionId, toCold);
      changes.length = 0;
      await pool.putObject('unv-b', 'k', streamOf(Buffer.from('new')));
      const put = changes.find((c) => c.kind === 'object');
      assert.ok(put?.kind === 'object');
      assert.equal(put.removed?.[0].tier?.remoteKey, 'rk/null');
      assert.equal(put.removed?.[0].remote, true);
      await pool.releaseVersionData('unv-b', 'k', 'null', toCold);
      const del = await pool.deleteObject('unv-b', 'k');
      assert.equal(del.tier?.remoteKey, 'rk/null');

      await pool.makeBucket('susp');
      await pool.putBucketVersioning('susp', 'Suspended');
      await putAndUpload('susp', 'k', randomBytes(rand, 20 * 1024));
      await pool.releaseVersionData('susp', 'k', 'null', toCold);
      const marker = await pool.deleteObject('susp', 'k');
      assert.equal(marker.deleteMarker, true);
      assert.equal(marker.tier?.remoteKey, 'rk/null');
    });
  });

  describe('heal', () => {
    it('leaves a remote version alone: no rebuild, no failure', async () => {
      const put = await putAndUpload('heal', 'quiet', randomBytes(rand, 80 * 1024));
      await pool.releaseVersionData('heal', 'quiet', put.versionId, toCold);
      const r = await pool.healObject('heal', 'quiet');
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.healedDrives, []);
      assert.equal(r.orphansRemoved, 0);
    });

    it('brings a drive that failed the release to the remote record and removes its data dir', async () => {
      const bytes = randomBytes(rand, 80 * 1024);
      const put = await putAndUpload('heal', 'missed', bytes);
      drives[4].mode = 'fail-writes';
      await pool.releaseVersionData('heal', 'missed', put.versionId, toCold);
      drives[4].mode = 'ok';
      assert.deepEqual(
        dataDirs('heal', 'missed').map((d) => d.length),
        [0, 0, 0, 0, 1, 0],
      );
      assert.equal((await records('heal', 'missed', put.versionId))[4].remote, undefined);
      await pool.drainHealQueue();
      const r = await pool.healObject('heal', 'missed');
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(dataDirs('heal', 'missed'), [[], [], [], [], [], []]);
      assert.ok((await records('heal', 'missed', put.versionId)).every((v) => v.remote === true));
      assert.ok(bytes.equals(await readAll((await pool.getObject('heal', 'missed')).stream)));
    });

    it('heals a drive that was offline during the release once it is back', async () => {
      const put = await putAndUpload('heal', 'offline', randomBytes(rand, 2000));
      drives[1].mode = 'offline';
      await pool.releaseVersionData('heal', 'offline', put.versionId, toCold);
      await pool.drainHealQueue(); // the heal queued by the release cannot reach the drive yet
      drives[1].mode = 'ok';
      const stale = (await records('heal', 'offline', put.versionId))[1];
      assert.ok(stale.inline && stale.frame && !stale.remote, 'the offline drive still has the local record');
      assert.equal((await pool.getObjectInfo('heal', 'offline')).remote, true);
      await pool.drainHealQueue(); // the read saw the stale drive and queued a heal
      const recs = await records('heal', 'offline', put.versionId);
      assert.ok(
        recs.every((v) => v.remote === true && !v.frame),
        JSON.stringify(recs),
      );
    });

    it('copies a remote record to a drive that lost the whole object', async () => {
      const put = await putAndUpload('heal', 'lost', randomBytes(rand, 90 * 1024));
      await pool.releaseVersionData('heal', 'lost', put.versionId, toCold);
      await drives[2].inner.deleteMeta('heal', 'lost');
      const r = await pool.healObject('heal', 'lost');
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.healedDrives, [drives[2].endpoint]);
      assert.ok((await records('heal', 'lost', put.versionId)).every((v) => v.remote === true));
    });
  });
});
