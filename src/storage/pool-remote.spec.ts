/**
 * Versions whose data lives in a cloud tier (set-remote.ts) on a 4+2 pool: releasing local data (inline and data
 * dir versions, refusals, identity checks, write quorum), reads through a registered RemoteReader (whole and
 * ranged, InvalidObjectState without one), restoring a local copy (verified against the ETag, single-part and
 * multipart) and releasing it again, deletes and overwrites reporting the removed tier state, heal of drives that
 * missed a release, listings, and remote versions deep in a key's version pages. Checked on the drives themselves:
 * which data dirs exist and what each drive's metadata says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import { SYS_VOLUME, TMP_DIR } from './layout';
import { decodeMeta } from './meta/meta-file';
import type { ObjectVersion } from './meta/version';
import type { ByteRange, ObjectChange, ObjectInfo } from './object-layer';
import type { ErasurePool } from './pool';

const INLINE = 4096;
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** The update a transition's last step makes: the version now lives in tier COLD. */
function toCold(v: ObjectVersion): ObjectVersion {
  return { ...v, tier: { tier: 'COLD', status: 'transitioned', remoteKey: `rk/${v.versionId}` } };
}

/** The update a restore makes: tier state kept, restore bookkeeping added. */
function restored(v: ObjectVersion): ObjectVersion {
  return { ...v, lifecycle: { ...v.lifecycle, restore: { expiry: 1234 } } };
}

describe('versions in a cloud tier on a 4+2 pool', () => {
  const tmp = tempDrives(6, 'pool-remote');
  const rand = seededRandom(7);
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  /** What the fake tier holds, by `bucket/key/versionId`. */
  const tier = new Map<string, Buffer>();
  const reads: { info: ObjectInfo; range?: ByteRange }[] = [];
  const changes: ObjectChange[] = [];

  before(async () => {
    ({ pool, drives } = await faultyPool(tmp.paths, {
      parity: 2,
      inlineThreshold: INLINE,
      blockSize: 64 * 1024,
    }));
    pool.onChange(async (c) => void changes.push(c));
    for (const b of ['rel-b', 'rd-b', 'rs-b', 'del-b', 'heal', 'list-b', 'deep']) await pool.makeBucket(b);
    for (const b of ['rs-b', 'del-b', 'heal', 'deep']) await pool.putBucketVersioning(b, 'Enabled');
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });
  beforeEach(() => {
    for (const d of drives) d.mode = 'ok';
    pool.setRemoteReader(async (info, range) => {
      reads.push({ info, range });
      const bytes = tier.get(`${info.bucket}/${info.key}/${info.versionId}`);
      assert.ok(bytes, `the tier holds ${info.key}`);
      return streamOf(range ? bytes.subarray(range.start, range.end + 1) : bytes);
    });
    reads.length = 0;
    changes.length = 0;
  });

  /** PUTs `bytes` and copies them to the fake tier (as a transition would before releasing). */
  async function putAndUpload(bucket: string, key: string, bytes: Buffer): Promise<ObjectInfo> {
    const info = await pool.putObject(bucket, key, streamOf(bytes), { contentType: 'text/x-test' });
    tier.set(`${bucket}/${key}/${info.versionId}`, bytes);
    return info;
  }
  const dataDirs = (bucket: string, key: string): string[][] =>
    tmp.paths.map((p) =>
      existsSync(join(p, bucket, key))
        ? readdirSync(join(p, bucket, key)).filter((n) => n.startsWith('%d.'))
        : [],
    );
  const tmpEntries = (): string[] =>
    tmp.paths.flatMap((p) =>
      existsSync(join(p, SYS_VOLUME, TMP_DIR)) ? readdirSync(join(p, SYS_VOLUME, TMP_DIR)) : [],
    );
  /** Each drive's record of one version, with whether the drive holds an inline frame for it. */
  async function records(
    bucket: string,
    key: string,
    versionId: string,
  ): Promise<(ObjectVersion & { frame: boolean })[]> {
    return Promise.all(
      drives.map(async (d) => {
        const raw = await d.inner.readMeta(bucket, key);
        assert.ok(raw, `${d.endpoint} has metadata for ${key}`);
        const meta = decodeMeta(raw);
        const v = meta.versions.find((x) => x.versionId === versionId);
        assert.ok(v, `${d.endpoint} has version ${versionId}`);
        return { ...v, frame: meta.inline.has(v.dataDir) };
      }),
    );
  }

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
        { kind: 'object', bucket: 'rel-b', key: 'big' },
        'a release is a change',
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
