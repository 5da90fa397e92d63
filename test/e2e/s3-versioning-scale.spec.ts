/**
 * Acceptance (issue 4), at scale, with @aws-sdk/client-s3 against the real app: a key with 10,000 versions (and
 * neighbours before and after it) lists in pages of several sizes without skipping or repeating a version: the
 * pages concatenated are exactly the PUTs' version ids, newest first, and old versions (kept in version pages on
 * the drives, storage/meta/pages.ts) read back by id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startGateway, versionedBucket, type TestGateway } from './harness';

const MANY_VERSIONS = 10_000;
/** PUTs in flight while writing them (they still commit one at a time under the key's lock). */
const WRITERS = 4;

/** `key@versionId` of every version and marker, page by page with `maxKeys`, and how many pages it took. */
async function listAll(
  s3: S3Client,
  bucket: string,
  maxKeys: number,
): Promise<{ entries: string[]; pages: number }> {
  const entries: string[] = [];
  let pages = 0;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        MaxKeys: maxKeys,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    pages++;
    const got = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
    assert.ok(got.length <= maxKeys, `page of ${got.length} entries with MaxKeys ${maxKeys}`);
    // Versions and DeleteMarkers arrive as two lists: restore the listing order (key, then newest first).
    got.sort(
      (a, b) =>
        (a.Key! < b.Key! ? -1 : a.Key! > b.Key! ? 1 : 0) ||
        b.LastModified!.getTime() - a.LastModified!.getTime(),
    );
    entries.push(...got.map((v) => `${v.Key}@${v.VersionId}`));
    if (!page.IsTruncated) return { entries, pages };
    assert.equal(got.length, maxKeys, 'a truncated page is full');
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

/** `key@versionId` of one key's versions, newest first. */
async function listKey(s3: S3Client, bucket: string, key: string): Promise<string[]> {
  const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (page.Versions ?? []).map((v) => `${v.Key}@${v.VersionId}`);
}

/** Up to `count` entries after the entry `start` (`key@versionId`), in pages of `maxKeys`. */
async function listFrom(
  s3: S3Client,
  bucket: string,
  start: string,
  maxKeys: number,
  count: number,
): Promise<string[]> {
  const out: string[] = [];
  let [keyMarker, versionIdMarker] = start.split('@') as [string | undefined, string | undefined];
  while (out.length < count) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        MaxKeys: maxKeys,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    const got = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])];
    out.push(...got.map((v) => `${v.Key}@${v.VersionId}`));
    if (!page.IsTruncated) break;
    assert.equal(got.length, maxKeys, 'a truncated page is full');
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  return out;
}

describe('versioning at scale', { timeout: 300_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;

  before(async () => {
    gw = await startGateway({ drives: 6 });
    s3 = gw.client();
  });
  after(() => gw?.close());

  it(`pages ${MANY_VERSIONS} versions of one key without skipping or repeating`, async (t) => {
    const bucket = 'many-versions';
    await versionedBucket(s3, bucket);
    // Neighbours on both sides, so pages cross key boundaries into and out of the big key.
    for (const key of ['a-before', 'z-after']) {
      for (let i = 0; i < 3; i++) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${i}` }));
      }
    }
    const started = performance.now();
    const written: { id: string; body: string }[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        while (next < MANY_VERSIONS) {
          const body = `m-many ${next++}`;
          const res = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'm-many', Body: body }));
          written.push({ id: res.VersionId!, body });
        }
      }),
    );
    t.diagnostic(`${MANY_VERSIONS} PUTs in ${Math.round(performance.now() - started)} ms`);
    const ids = new Set(written.map((w) => w.id));
    assert.equal(ids.size, MANY_VERSIONS, 'every PUT made its own version');

    const listed = performance.now();
    const whole = await listAll(s3, bucket, 1000);
    t.diagnostic(`listed in ${whole.pages} pages in ${Math.round(performance.now() - listed)} ms`);
    assert.equal(whole.pages, Math.ceil((MANY_VERSIONS + 6) / 1000));
    assert.equal(whole.entries.length, MANY_VERSIONS + 6);
    assert.equal(new Set(whole.entries).size, whole.entries.length, 'no version listed twice');
    const many = whole.entries.filter((e) => e.startsWith('m-many@')).map((e) => e.slice('m-many@'.length));
    assert.deepEqual(new Set(many), ids, 'exactly the versions the PUTs made');
    assert.deepEqual(whole.entries.slice(0, 3).concat(whole.entries.slice(-3)), [
      ...(await listKey(s3, bucket, 'a-before')),
      ...(await listKey(s3, bucket, 'z-after')),
    ]);
    // Pages that end at a different place in the big key each time.
    const odd = await listAll(s3, bucket, 997);
    assert.equal(odd.pages, Math.ceil(whole.entries.length / 997));
    assert.deepEqual(odd.entries, whole.entries, 'pages of 997 concatenated');
    // Single-entry pages across the start and the end of the big key.
    for (const from of [0, MANY_VERSIONS - 2]) {
      const start = whole.entries[from + 2];
      const paged = await listFrom(s3, bucket, start, 1, 5);
      assert.deepEqual(paged, whole.entries.slice(from + 3, from + 8), `pages of 1 after ${start}`);
    }
    // Old versions, long since moved out of the head into pages, read back by id.
    for (const w of [written[0], written[1], written[MANY_VERSIONS >> 1], written[MANY_VERSIONS - 1]]) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'm-many', VersionId: w.id }));
      assert.equal(await res.Body!.transformToString(), w.body);
    }
  });
});
