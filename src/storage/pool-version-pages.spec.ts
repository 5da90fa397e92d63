/**
 * Keys with many versions on a 4+2 pool: older versions live in version pages (meta/pages.ts) and every operation
 * still sees every version. Checked on the drives themselves: each head stays small and lists exactly the page
 * files its object directory holds (no page lost, none left behind), through reads and deletes by id, the Suspended
 * `null` replacement deep in the history, metadata updates, a drive offline while pages are written, a lost page
 * file, and deleting every version.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { decodeMeta, type MetaFile } from './meta/meta-file';
import { HEAD_MAX, PAGE_FILE_PREFIX } from './meta/pages';
import type { ErasurePool } from './pool';

describe('version pages on a 4+2 pool', () => {
  const tmp = tempDrives(6, 'version-pages');
  let pool: ErasurePool;
  let drives: FaultyDrive[];

  before(async () => {
    // A small inline threshold, so some versions keep their data in data directories next to the pages.
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2, inlineThreshold: 64 }));
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  /** Versions 0..n-1 of `key`: version i's body is `key#i`, every seventh one large enough for a data dir. */
  const body = (key: string, i: number): Buffer =>
    Buffer.from(`${key}#${i}`.padEnd(i % 7 === 0 ? 200 : 0, '.'));
  async function putVersions(bucket: string, key: string, from: number, to: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = from; i < to; i++)
      ids.push((await pool.putObject(bucket, key, streamOf(body(key, i)))).versionId);
    return ids;
  }
  async function versionedBucket(bucket: string): Promise<void> {
    await pool.makeBucket(bucket);
    await pool.putBucketVersioning(bucket, 'Enabled');
  }
  /** Every version id of a key, newest first, through listings of `maxKeys`. */
  async function listIds(bucket: string, maxKeys = 1000): Promise<string[]> {
    const ids: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await pool.listObjectVersions(bucket, { maxKeys, keyMarker, versionIdMarker });
      ids.push(...page.versions.map((v) => v.versionId));
      if (!page.isTruncated) return ids;
      ({ nextKeyMarker: keyMarker, nextVersionIdMarker: versionIdMarker } = page);
    }
  }
  /** Each drive's head of a key, and the page files in its object directory. */
  async function onDisk(bucket: string, key: string): Promise<{ head: MetaFile | null; files: string[] }[]> {
    return Promise.all(
      drives.map(async (d, p) => {
        const raw = await d.readMeta(bucket, key);
        const dir = join(tmp.paths[p], bucket, key);
        const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(PAGE_FILE_PREFIX)) : [];
        return { head: raw && decodeMeta(raw), files: files.sort() };
      }),
    );
  }
  /** Asserts every drive's head is small and lists exactly its page files; returns the page count per drive. */
  async function checkDrives(bucket: string, key: string): Promise<number[]> {
    return (await onDisk(bucket, key)).map(({ head, files }, p) => {
      assert.ok(!head || head.versions.length <= HEAD_MAX, `drive ${p}: head of ${head?.versions.length}`);
      const listed = (head?.pages ?? []).map((r) => PAGE_FILE_PREFIX + r.id).sort();
      assert.deepEqual(files, listed, `drive ${p}: page files are exactly the listed pages`);
      return listed.length;
    });
  }

  it('keeps most of 250 versions in pages, lists them all newest first and reads any of them by id', async () => {
    await versionedBucket('many');
    const ids = await putVersions('many', 'k', 0, 250);
    const pages = await checkDrives('many', 'k');
    assert.ok(
      pages.every((n) => n >= 1),
      `every drive has pages: ${pages.join(',')}`,
    );
    for (const size of [1000, 33]) assert.deepEqual(await listIds('many', size), [...ids].reverse());
    for (const i of [0, 1, 7, 200, 249]) {
      const got = await pool.getObject('many', 'k', { versionId: ids[i] });
      assert.equal((await readAll(got.stream)).toString(), body('k', i).toString(), `version ${i}`);
      assert.equal(got.info.isLatest, i === 249);
    }
    assert.equal(
      (await readAll((await pool.getObject('many', 'k')).stream)).toString(),
      body('k', 249).toString(),
    );
    const listed = await pool.listObjects('many');
    assert.deepEqual(
      listed.objects.map((o) => [o.key, o.versionId]),
      [['k', ids[249]]],
    );
  });

  it('deletes paged versions by id, page by page, and drops every file with the last version', async () => {
    await versionedBucket('deletes');
    const ids = await putVersions('deletes', 'k', 0, 150);
    for (const i of [0, 75, 76, 148]) await pool.deleteObject('deletes', 'k', { versionId: ids[i] });
    const left = ids.filter((_, i) => ![0, 75, 76, 148].includes(i));
    assert.deepEqual(await listIds('deletes'), [...left].reverse());
    await assert.rejects(pool.getObjectInfo('deletes', 'k', { versionId: ids[75] }), {
      code: 'VersionNotFound',
    });
    await checkDrives('deletes', 'k');

    // Every version of the head gone: the latest is now in a page, and reads, lists and writes still find it.
    for (const id of left.slice(-40)) await pool.deleteObject('deletes', 'k', { versionId: id });
    const remaining = left.slice(0, -40);
    const latest = await pool.getObjectInfo('deletes', 'k');
    assert.deepEqual([latest.versionId, latest.isLatest], [remaining[remaining.length - 1], true]);
    assert.equal((await pool.listObjects('deletes')).objects[0]?.versionId, latest.versionId);
    const added = await pool.putObject('deletes', 'k', streamOf(Buffer.from('after')));
    assert.ok(added.modTime.getTime() > latest.modTime.getTime());
    assert.deepEqual(await listIds('deletes'), [added.versionId, ...remaining.reverse()]);

    for (const id of await listIds('deletes')) await pool.deleteObject('deletes', 'k', { versionId: id });
    await assert.rejects(pool.getObjectInfo('deletes', 'k'), { code: 'ObjectNotFound' });
    for (const p of tmp.paths)
      assert.ok(!existsSync(join(p, 'deletes', 'k')), `${p}: object directory removed`);
  });

  it('replaces the null version deep in the history of a Suspended bucket', async () => {
    await pool.makeBucket('suspended');
    await pool.putObject('suspended', 'k', streamOf(Buffer.from('first null')));
    await pool.putBucketVersioning('suspended', 'Enabled');
    const ids = await putVersions('suspended', 'k', 0, 150);
    await pool.putBucketVersioning('suspended', 'Suspended');
    const replaced = await pool.putObject('suspended', 'k', streamOf(Buffer.from('second null')));
    assert.equal(replaced.versionId, 'null');
    assert.deepEqual(await listIds('suspended'), ['null', ...[...ids].reverse()]);
    const got = await pool.getObject('suspended', 'k', { versionId: 'null' });
    assert.equal((await readAll(got.stream)).toString(), 'second null');
    await checkDrives('suspended', 'k');
  });

  it('updates a paged version in place without disturbing the others', async () => {
    await versionedBucket('updates');
    const ids = await putVersions('updates', 'k', 0, 120);
    await pool.updateObjectVersion('updates', 'k', ids[3], (v) => ({ ...v, tags: { cold: 'yes' } }));
    assert.deepEqual((await pool.getObjectInfo('updates', 'k', { versionId: ids[3] })).tags, { cold: 'yes' });
    assert.deepEqual(await listIds('updates'), [...ids].reverse());
    const got = await pool.getObject('updates', 'k', { versionId: ids[3] });
    assert.equal((await readAll(got.stream)).toString(), body('k', 3).toString());
    await checkDrives('updates', 'k');
  });

  it('stays right with a drive offline while pages are written, and heal brings the drive back', async () => {
    await versionedBucket('offline');
    const before = await putVersions('offline', 'k', 0, 40);
    drives[2].mode = 'offline';
    const during = await putVersions('offline', 'k', 70, 140);
    await pool.deleteObject('offline', 'k', { versionId: before[5] });
    drives[2].mode = 'ok';
    const all = [...before.filter((_, i) => i !== 5), ...during].reverse();
    assert.deepEqual(await listIds('offline'), all);
    assert.equal((await pool.getObjectInfo('offline', 'k', { versionId: during[0] })).versionId, during[0]);
    // (The reads above may have healed it in the background already; this heal then finds nothing to do.)
    const healed = await pool.healObject('offline', 'k');
    assert.ok(healed.ok, JSON.stringify(healed));
    // The healed drive alone (with two others offline) now answers for every version.
    drives[0].mode = 'offline';
    drives[1].mode = 'offline';
    try {
      assert.deepEqual(await listIds('offline'), all);
    } finally {
      drives[0].mode = 'ok';
      drives[1].mode = 'ok';
    }
    await checkDrives('offline', 'k');
  });

  it('keeps the older versions a drive that missed the spills holds in its head, once each, next to new ones', async () => {
    await versionedBucket('behind');
    const early = await putVersions('behind', 'k', 0, 20);
    drives[3].mode = 'offline';
    const spilled = await putVersions('behind', 'k', 20, 45); // the other drives page their older versions
    await pool.drainHealQueue(); // heals asked for while the drive was away must not bring it up to date first
    drives[3].mode = 'ok';
    const [last] = await putVersions('behind', 'k', 45, 46);
    // Read at once: a background heal may rewrite this drive next.
    const { head } = (await onDisk('behind', 'k'))[3];
    const ids = head!.versions.map((v) => v.versionId);
    assert.equal(new Set(ids).size, ids.length, 'a version appears twice in the head');
    assert.deepEqual(ids, [last, ...[...early].reverse()]);
    assert.deepEqual(await listIds('behind'), [last, ...spilled.reverse(), ...early.reverse()]);
  });

  it('reads past a lost page file by quorum, and heal rewrites it and removes stray pages', async () => {
    await versionedBucket('lost');
    const ids = await putVersions('lost', 'k', 0, 120);
    const [first] = await onDisk('lost', 'k');
    const lostPage = first.files[0];
    rmSync(join(tmp.paths[0], 'lost', 'k', lostPage));
    const stray = `${PAGE_FILE_PREFIX}00000000-0000-4000-8000-00000000beef`;
    writeFileSync(join(tmp.paths[1], 'lost', 'k', stray), 'left by a crash between a page and its head');
    assert.deepEqual(await listIds('lost'), [...ids].reverse());
    const got = await pool.getObject('lost', 'k', { versionId: ids[1] });
    assert.equal((await readAll(got.stream)).toString(), body('k', 1).toString());
    // A write still succeeds (the drive with the lost page sits it out).
    const added = await pool.putObject('lost', 'k', streamOf(Buffer.from('one more')));
    const healed = await pool.healObject('lost', 'k');
    assert.ok(healed.ok, JSON.stringify(healed));
    assert.ok(!existsSync(join(tmp.paths[1], 'lost', 'k', stray)), 'the stray page was removed');
    await checkDrives('lost', 'k');
    drives[1].mode = 'offline';
    drives[2].mode = 'offline';
    try {
      assert.deepEqual(await listIds('lost'), [added.versionId, ...[...ids].reverse()]);
    } finally {
      drives[1].mode = 'ok';
      drives[2].mode = 'ok';
    }
  });
});
