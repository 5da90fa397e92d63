/**
 * Versions whose data lives in a cloud tier (set-remote.ts) on a 4+2 pool, part 1: releasing local data (inline and
 * data dir versions, refusals, identity checks, write quorum), reads through a registered RemoteReader (whole and
 * ranged, InvalidObjectState without one), listings, and remote versions deep in a key's version pages. Part 2
 * (pool-remote-restore.spec.ts): restore, deletes and overwrites, heal. Checked on the drives themselves: which
 * data dirs exist and what each drive's metadata says (test/fixtures/remote-pool.ts).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ObjectVersion } from './meta/version';
import { randomBytes } from '../../test/fixtures/prng';
import { readAll, streamOf } from '../../test/fixtures/temp-drives';
import { toCold, restored, useRemotePool } from '../../test/fixtures/remote-pool';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import type { ErasurePool } from './pool';

describe('versions in a cloud tier on a 4+2 pool', () => {
  const t = useRemotePool(
    'pool-remote',
    ['rel-b', 'rd-b', 'rs-b', 'del-b', 'heal', 'list-b', 'deep'],
    ['rs-b', 'del-b', 'heal', 'deep'],
  );
  const { rand, reads, changes, putAndUpload, dataDirs, tmpEntries, records } = t;
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  before(() => {
    ({ pool, drives } = t);
  });

  describe('release', () => {
    it('releases a data-dir version: remote record on every drive, then its data dir gone', async () => {
      const bytes = randomBytes(rand, 300 * 1024);
      const put = await putAndUpload('rel-b', 'big', bytes);
      assert.ok(dataDirs('rel-b', 'big').every((d) => d.length === 1));
      // Local records carry no flag at all: records written before remote versions existed read the same way.
      assert.ok((await records('rel-b', 'big', put.versionId)).every((r) => !('remote' in r)));
      const info = await pool.releaseVersionData('rel-b', 'big', put.versionId, toCold);
      assert.equal(info.remote, true);
      assert.equal(info.storageClass, 'COLD');
      assert.equal(info.etag, put.etag);
      assert.equal(info.size, bytes.length);
      assert.deepEqual(info.modTime, put.modTime);
      assert.deepEqual(dataDirs('rel-b', 'big'), [[], [], [], [], [], []]);
      for (const r of await records('rel-b', 'big', put.versionId)) {
        assert.equal(r.remote, true);
        assert.equal(r.inline, false);
        assert.equal(r.tier?.remoteKey, `rk/${put.versionId}`);
      }
      const head = await pool.getObjectInfo('rel-b', 'big');
      assert.equal(head.remote, true);
      assert.equal(head.storageClass, 'COLD');
      assert.equal(head.contentType, 'text/x-test');
      assert.deepEqual(tmpEntries(), [], 'the release marker is gone');
      assert.deepEqual(
        changes.at(-1),
        { kind: 'object', bucket: 'rel-b', key: 'big', latest: info },
        'a release is a change, with the released version as the latest',
      );
    });

    it('releases an inline version: its shard frames leave the metadata with the old record', async () => {
      const bytes = randomBytes(rand, 1000);
      const put = await putAndUpload('rel-b', 'small', bytes);
      assert.ok((await records('rel-b', 'small', put.versionId)).every((r) => r.inline && r.frame));
      const info = await pool.releaseVersionData('rel-b', 'small', put.versionId, toCold);
      assert.equal(info.remote, true);
      for (const r of await records('rel-b', 'small', put.versionId)) {
        assert.equal(r.remote, true);
        assert.equal(r.frame, false, 'no inline frame left');
      }
      assert.ok(bytes.equals(await readAll((await pool.getObject('rel-b', 'small')).stream)));
    });

    it('refuses when the update says no, or changes the identity, or carries no tier state', async () => {
      const bytes = randomBytes(rand, 200 * 1024);
      const put = await putAndUpload('rel-b', 'refuse', bytes);
      await assert.rejects(
        pool.releaseVersionData('rel-b', 'refuse', put.versionId, () => null),
        { code: 'PreconditionFailed' },
      );
      const changed: ((v: ObjectVersion) => ObjectVersion)[] = [
        (v) => ({ ...toCold(v), etag: 'x' }),
        (v) => ({ ...toCold(v), size: v.size + 1 }),
        (v) => ({ ...toCold(v), modTime: v.modTime + 1 }),
        (v) => ({ ...toCold(v), contentType: 'other' }),
        (v) => ({ ...toCold(v), parts: [{ ...v.parts[0], size: 1 }] }),
        (v) => ({ ...toCold(v), userMetadata: { a: 'b' } }),
        (v) => ({ ...v }),
      ];
      for (const update of changed) {
        await assert.rejects(pool.releaseVersionData('rel-b', 'refuse', put.versionId, update), {
          code: 'InvalidArgument',
        });
      }
      const info = await pool.getObjectInfo('rel-b', 'refuse');
      assert.equal(info.remote, undefined);
      assert.equal(info.tier, undefined);
      assert.ok(dataDirs('rel-b', 'refuse').every((d) => d.length === 1));
      assert.ok(bytes.equals(await readAll((await pool.getObject('rel-b', 'refuse')).stream)));
      assert.deepEqual(tmpEntries(), []);
    });

    it('refuses a delete marker and an unknown version', async () => {
      await pool.putObject('del-b', 'marked', streamOf(Buffer.from('x')));
      const marker = await pool.deleteObject('del-b', 'marked');
      await assert.rejects(pool.releaseVersionData('del-b', 'marked', marker.versionId!, toCold), {
        code: 'InvalidArgument',
      });
      await assert.rejects(
        pool.releaseVersionData('del-b', 'marked', '0190d6e5-0000-7000-8000-000000000000', toCold),
        {
          code: 'VersionNotFound',
        },
      );
    });

    it('fails with WriteQuorum and keeps the local version when too few drives take the record', async () => {
      const bytes = randomBytes(rand, 100 * 1024);
      const put = await putAndUpload('rel-b', 'quorum', bytes);
      for (const p of [0, 1, 2]) drives[p].mode = 'fail-writes';
      await assert.rejects(pool.releaseVersionData('rel-b', 'quorum', put.versionId, toCold), {
        code: 'WriteQuorum',
      });
      for (const d of drives) d.mode = 'ok';
      const info = await pool.getObjectInfo('rel-b', 'quorum');
      assert.equal(info.remote, undefined);
      assert.ok(dataDirs('rel-b', 'quorum').every((d) => d.length === 1));
      assert.ok(bytes.equals(await readAll((await pool.getObject('rel-b', 'quorum')).stream)));
      assert.equal(reads.length, 0);
    });

    it('releases an already remote version again as a metadata change (a retried last step)', async () => {
      const put = await putAndUpload('rel-b', 'twice', randomBytes(rand, 10 * 1024));
      await pool.releaseVersionData('rel-b', 'twice', put.versionId, toCold);
      const again = await pool.releaseVersionData('rel-b', 'twice', put.versionId, (v) => ({
        ...v,
        tier: { ...v.tier!, status: 'verified' },
      }));
      assert.equal(again.remote, true);
      assert.equal(again.tier?.status, 'verified');
    });
  });

  describe('reading a remote version', () => {
    it('reads through the registered reader, whole and ranged, and fails InvalidObjectState without one', async () => {
      const bytes = randomBytes(rand, 150 * 1024);
      const put = await putAndUpload('rd-b', 'obj', bytes);
      await pool.releaseVersionData('rd-b', 'obj', put.versionId, toCold);
      const whole = await pool.getObject('rd-b', 'obj');
      assert.equal(whole.info.remote, true);
      assert.ok(bytes.equals(await readAll(whole.stream)));
      assert.equal(reads.length, 1);
      assert.equal(reads[0].range, undefined);
      assert.equal(reads[0].info.tier?.remoteKey, `rk/${put.versionId}`);
      const ranged = await pool.getObject('rd-b', 'obj', { range: { start: 1000, end: 70_000 } });
      assert.ok(bytes.subarray(1000, 70_001).equals(await readAll(ranged.stream)));
      assert.deepEqual(reads[1].range, { start: 1000, end: 70_000 });
      await assert.rejects(pool.getObject('rd-b', 'obj', { range: { start: 0, end: bytes.length } }), {
        code: 'InvalidRange',
      });
      pool.setRemoteReader(null);
      await assert.rejects(pool.getObject('rd-b', 'obj'), { code: 'InvalidObjectState' });
      await assert.rejects(pool.getObject('rd-b', 'obj', { versionId: put.versionId }), {
        code: 'InvalidObjectState',
      });
      assert.equal((await pool.getObjectInfo('rd-b', 'obj')).remote, true, 'HEAD needs no reader');
    });
  });

  describe('listings', () => {
    it('list remote versions with the tier as their storage class', async () => {
      const a = await putAndUpload('list-b', 'a', randomBytes(rand, 10 * 1024));
      await putAndUpload('list-b', 'b', randomBytes(rand, 100));
      await pool.releaseVersionData('list-b', 'a', a.versionId, toCold);
      const objects = await pool.listObjects('list-b');
      assert.deepEqual(
        objects.objects.map((o) => [o.key, o.storageClass, o.remote ?? false]),
        [
          ['a', 'COLD', true],
          ['b', 'STANDARD', false],
        ],
      );
      const versions = await pool.listObjectVersions('list-b');
      assert.deepEqual(
        versions.versions.map((o) => [o.key, o.storageClass, o.tier?.tier]),
        [
          ['a', 'COLD', 'COLD'],
          ['b', 'STANDARD', undefined],
        ],
      );
    });
  });

  describe('version pages', () => {
    it('releases, reads, restores and deletes versions deep in the paged history', async () => {
      const bodies = new Map<string, Buffer>();
      const ids: string[] = [];
      for (let i = 0; i < 45; i++) {
        const b = randomBytes(rand, i % 5 === 0 ? 9000 : 300);
        const info = await putAndUpload('deep', 'hot', b);
        bodies.set(info.versionId, b);
        ids.push(info.versionId);
      }
      const deep = [ids[2], ids[5], ids[10]]; // paged (the head keeps the newest few), inline and data dir
      for (const id of deep) await pool.releaseVersionData('deep', 'hot', id, toCold);
      for (let i = 45; i < 90; i++) {
        const info = await putAndUpload('deep', 'hot', randomBytes(rand, 200)); // more spills and merges
        ids.push(info.versionId);
      }
      const listed = await pool.getObjectVersions('deep', 'hot');
      assert.equal(listed.length, 90);
      for (const v of listed) assert.equal(v.remote === true, deep.includes(v.versionId), v.versionId);
      for (const id of deep) {
        const got = await pool.getObject('deep', 'hot', { versionId: id });
        assert.equal(got.info.remote, true);
        assert.ok(bodies.get(id)!.equals(await readAll(got.stream)));
      }
      const r = await pool.healObject('deep', 'hot');
      assert.ok(r.ok, JSON.stringify(r));
      assert.equal(r.orphansRemoved, 0);

      await pool.restoreVersionData('deep', 'hot', ids[10], streamOf(bodies.get(ids[10])!), restored);
      reads.length = 0;
      const local = await pool.getObject('deep', 'hot', { versionId: ids[10] });
      assert.ok(bodies.get(ids[10])!.equals(await readAll(local.stream)));
      assert.equal(reads.length, 0);
      const del = await pool.deleteObject('deep', 'hot', { versionId: ids[5] });
      assert.equal(del.tier?.remoteKey, `rk/${ids[5]}`);
      const after = await pool.getObjectVersions('deep', 'hot');
      assert.equal(after.length, 89);
      assert.deepEqual(
        after.filter((v) => v.tier).map((v) => [v.versionId, v.remote ?? false]),
        [
          [ids[10], false],
          [ids[2], true],
        ],
      );
      assert.ok((await pool.healObject('deep', 'hot')).ok);
    });
  });
});
