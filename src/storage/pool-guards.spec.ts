/**
 * The hooks the lifecycle engine relies on, on a real 4+2 pool: guarded deletes (the guard sees the right target
 * and, for a delete by id, every version of the key newest first, pages included; a refusing guard changes nothing
 * and fails with PreconditionFailed), guarded multipart aborts, and change events (one per durable change, after
 * it is durable, none for a write that failed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import type { DeleteGuardView, ObjectChange } from './object-layer';
import { openObjectLayer, type ErasurePool } from './pool';

describe('guarded deletes, guarded aborts and change events on a 4+2 pool', () => {
  const tmp = tempDrives(6, 'pool-guards');
  let pool: ErasurePool;
  const changes: ObjectChange[] = [];
  let stopListening: () => void;

  before(async () => {
    pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 6, parity: 2, fsync: false });
    stopListening = pool.onChange(async (c) => {
      changes.push(c);
    });
    await pool.makeBucket('plain');
    await pool.makeBucket('ver');
    await pool.putBucketVersioning('ver', 'Enabled');
    await pool.makeBucket('susp');
    await pool.putBucketVersioning('susp', 'Suspended');
  });
  after(async () => {
    stopListening();
    await pool.shutdown();
    tmp.cleanup();
  });

  const put = (bucket: string, key: string, body = 'x') =>
    pool.putObject(bucket, key, streamOf(Buffer.from(body)), { size: Buffer.byteLength(body) });

  it('unversioned: the guard sees the null version with every version; refusing keeps it', async () => {
    await put('plain', 'k', 'one');
    const seen: DeleteGuardView[] = [];
    await assert.rejects(pool.deleteObject('plain', 'k', { guard: (v) => (seen.push(v), false) }), {
      code: 'PreconditionFailed',
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].target?.versionId, 'null');
    assert.equal(seen[0].target?.size, 3);
    assert.deepEqual(
      seen[0].versions?.map((v) => v.versionId),
      ['null'],
    );
    assert.equal((await pool.getObjectInfo('plain', 'k')).size, 3, 'still there');
    await pool.deleteObject('plain', 'k', { guard: () => true });
    await assert.rejects(pool.getObjectInfo('plain', 'k'), { code: 'ObjectNotFound' });
  });

  it('versioned, no id: the guard sees the latest version; accepting adds a marker', async () => {
    const v1 = await put('ver', 'm', 'a');
    const v2 = await put('ver', 'm', 'bb');
    let target: DeleteGuardView | undefined;
    await assert.rejects(
      pool.deleteObject('ver', 'm', { guard: (v) => ((target = v), v.target?.versionId === v1.versionId) }),
      { code: 'PreconditionFailed' },
    );
    assert.equal(target?.target?.versionId, v2.versionId);
    assert.equal(target?.versions, undefined, 'a delete without id does not read every version');
    const out = await pool.deleteObject('ver', 'm', { guard: (v) => v.target?.versionId === v2.versionId });
    assert.equal(out.deleteMarker, true);
    const list = await pool.listObjectVersions('ver', { prefix: 'm' });
    assert.deepEqual(
      list.versions.map((v) => [v.versionId === out.versionId ? 'marker' : v.versionId, v.deleteMarker]),
      [
        ['marker', true],
        [v2.versionId, false],
        [v1.versionId, false],
      ],
    );
  });

  it('suspended, no id: a guarded delete adds the null marker only when the guard agrees', async () => {
    await put('susp', 's');
    await assert.rejects(pool.deleteObject('susp', 's', { guard: () => false }), {
      code: 'PreconditionFailed',
    });
    assert.equal((await pool.getObjectInfo('susp', 's')).deleteMarker, false);
    const out = await pool.deleteObject('susp', 's', { guard: (v) => v.target?.versionId === 'null' });
    assert.deepEqual(out, { versionId: 'null', deleteMarker: true });
  });

  it('by id: the guard sees every version newest first, pages included', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 80; i++) ids.push((await put('ver', 'deep', `v${i}`)).versionId); // spills into pages
    const oldest = ids[0];
    let view: DeleteGuardView | undefined;
    await pool.deleteObject('ver', 'deep', {
      versionId: oldest,
      guard: (v) => ((view = v), true),
    });
    assert.equal(view?.target?.versionId, oldest);
    assert.deepEqual(
      view?.versions?.map((v) => v.versionId),
      [...ids].reverse(),
    );
    assert.equal(view?.versions?.indexOf(view.target), ids.length - 1, 'the target is one of the versions');
    assert.equal(view?.versions?.[0].isLatest, true);
    await assert.rejects(pool.getObjectInfo('ver', 'deep', { versionId: oldest }), {
      code: 'VersionNotFound',
    });
    await assert.rejects(pool.deleteObject('ver', 'deep', { versionId: ids[1], guard: () => false }), {
      code: 'PreconditionFailed',
    });
    assert.equal((await pool.getObjectInfo('ver', 'deep', { versionId: ids[1] })).versionId, ids[1]);
  });

  it('aborts an upload only when its guard agrees, and shows the guard its initiation time', async () => {
    const before = Date.now();
    const uploadId = await pool.newMultipartUpload('plain', 'up');
    let initiated: Date | undefined;
    await assert.rejects(
      pool.abortMultipartUpload('plain', 'up', uploadId, { guard: (t) => ((initiated = t), false) }),
      { code: 'PreconditionFailed' },
    );
    assert.ok(initiated && initiated.getTime() >= before && initiated.getTime() <= Date.now());
    assert.equal((await pool.listMultipartUploads('plain')).uploads.length, 1);
    await pool.abortMultipartUpload('plain', 'up', uploadId, { guard: () => true });
    assert.equal((await pool.listMultipartUploads('plain')).uploads.length, 0);
  });

  it('reports each durable change once, in order, and nothing for a failed write', async () => {
    changes.length = 0;
    const info = await put('ver', 'events');
    await pool.updateObjectVersion('ver', 'events', info.versionId, (v) => ({ ...v, tags: { a: 'b' } }));
    await pool.deleteObject('ver', 'events');
    const uploadId = await pool.newMultipartUpload('ver', 'events');
    await pool.putBucketLifecycle('ver', Buffer.from('{}'));
    await pool.deleteBucketLifecycle('ver');
    await assert.rejects(
      pool.putObject('ver', 'events', streamOf(Buffer.from('abc')), { size: 3, ifMatch: '"0123"' }),
      { code: 'ObjectNotFound' }, // If-Match with only a delete marker current: S3's 404
    );
    await assert.rejects(pool.deleteObject('ver', 'events', { guard: () => false }), {
      code: 'PreconditionFailed',
    });
    const object = { kind: 'object', bucket: 'ver', key: 'events' };
    const first = changes[0];
    assert.equal(
      first.kind === 'object' && first.latest?.versionId,
      info.versionId,
      'a PUT names its version',
    );
    assert.equal(first.kind === 'object' && first.latest?.isLatest, true);
    assert.deepEqual(
      changes
        .map((c) =>
          c.kind === 'upload'
            ? { ...c, initiated: 'date' }
            : c.kind === 'object'
              ? { ...c, latest: undefined, updated: undefined }
              : c,
        )
        .map((c) => JSON.parse(JSON.stringify(c)) as unknown),
      [
        object,
        object,
        object,
        { kind: 'upload', bucket: 'ver', key: 'events', uploadId, initiated: 'date' },
        { kind: 'lifecycle', bucket: 'ver' },
        { kind: 'lifecycle', bucket: 'ver' },
      ],
    );
  });

  it('a delete in an unversioned bucket reports that no version is left', async () => {
    await put('plain', 'last');
    changes.length = 0;
    await pool.deleteObject('plain', 'last');
    assert.deepEqual(changes, [{ kind: 'object', bucket: 'plain', key: 'last', latest: null }]);
  });

  it("getObjectVersions reads one key's versions, pages included, as ListObjectVersions lists them", async () => {
    const listed = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await pool.listObjectVersions('ver', { prefix: 'deep', keyMarker, versionIdMarker });
      listed.push(...page.versions.filter((v) => v.key === 'deep'));
      if (!page.isTruncated) break;
      ({ nextKeyMarker: keyMarker, nextVersionIdMarker: versionIdMarker } = page);
    }
    const read = await pool.getObjectVersions('ver', 'deep');
    assert.equal(read.length, 79);
    assert.deepEqual(read, listed);
    assert.deepEqual(await pool.getObjectVersions('ver', 'no-such-key'), []);
    await assert.rejects(pool.getObjectVersions('no-such-bucket', 'k'), { code: 'BucketNotFound' });
  });

  it("tells the key's latest version with an in-place update of it, and nothing it would have to read", async () => {
    await put('ver', 'upd', 'old');
    const older = (await pool.getObjectInfo('ver', 'upd')).versionId;
    await put('ver', 'upd', 'new');
    const newest = (await pool.getObjectInfo('ver', 'upd')).versionId;
    const tag = (versionId: string) =>
      pool.updateObjectVersion('ver', 'upd', versionId, (cur) => ({ ...cur, tags: { t: versionId } }));
    changes.length = 0;
    const updated = await tag(newest);
    await tag(older);
    assert.equal(changes.length, 2);
    const [ofNewest, ofOlder] = changes as Extract<ObjectChange, { kind: 'object' }>[];
    assert.deepEqual(ofNewest.latest, updated, 'the latest, as written');
    assert.deepEqual(ofNewest.latest?.tags, { t: newest });
    assert.equal(ofOlder.latest, undefined, 'an older version: the latest is not known without a read');
    // Both carry the version before and after, so a listener can tell what changed.
    assert.deepEqual(ofNewest.updated?.after, updated);
    assert.deepEqual(
      [ofNewest.updated?.before.tags, ofNewest.updated?.before.versionId],
      [{}, newest],
      'before: the version as it was',
    );
    assert.deepEqual([ofOlder.updated?.before.tags, ofOlder.updated?.after.tags], [{}, { t: older }]);
    assert.equal(ofOlder.updated?.after.isLatest, false);

    // A refused update writes nothing and tells nothing.
    changes.length = 0;
    const same = await pool.updateObjectVersion('ver', 'upd', newest, () => null);
    assert.deepEqual(same, updated, 'resolves to the version as it is');
    assert.deepEqual(changes, []);
  });

  it('waits for its listeners before a write returns, and survives a listener that fails', async () => {
    let finished = false;
    const off = pool.onChange(async () => {
      await new Promise((r) => setTimeout(r, 50));
      finished = true;
    });
    const failing = pool.onChange(async () => {
      throw new Error('listener down');
    });
    try {
      await put('plain', 'wait');
      assert.equal(finished, true, 'the PUT returned before its listener finished');
    } finally {
      off();
      failing();
    }
  });
});
