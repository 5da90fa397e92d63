/**
 * Multipart uploads on a 4+2 pool: completion rules (order, ETags, minimum size), part replacement, abort,
 * idempotent completion, and pagination of uploads and parts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import { SYS_VOLUME, uploadDir } from './layout';
import type { ErasurePool } from './pool';
import { MIN_PART_SIZE } from './set-multipart';

const BUCKET = 'multipart';
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
/** S3's multipart ETag: md5 of the concatenated binary part MD5s, dash, part count. */
const multipartEtag = (parts: Buffer[]): string =>
  `${createHash('md5')
    .update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))
    .digest('hex')}-${parts.length}`;

describe('multipart uploads on a 4+2 pool', () => {
  const tmp = tempDrives(6, 'pool-multipart');
  let pool: ErasurePool;
  const rand = seededRandom(7);
  const big = randomBytes(rand, MIN_PART_SIZE);
  const big2 = randomBytes(rand, MIN_PART_SIZE + 1000);
  const tail = randomBytes(rand, 100 * 1024 + 7);

  /** Whether the upload's directory exists, per drive. */
  const uploadDirs = (key: string, uploadId: string): boolean[] =>
    tmp.paths.map((p) => existsSync(join(p, SYS_VOLUME, uploadDir(BUCKET, key, uploadId))));
  const put = (key: string, id: string, n: number, body: Buffer) =>
    pool.putObjectPart(BUCKET, key, id, n, streamOf(body), { size: body.length });

  before(async () => {
    ({ pool } = await faultyPool(tmp.paths, { parity: 2 }));
    await pool.makeBucket(BUCKET);
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('completes parts uploaded out of order into one object with the md5-of-md5s ETag', async () => {
    const key = 'assembled/object.bin';
    const id = await pool.newMultipartUpload(BUCKET, key, {
      contentType: 'application/x-mp',
      tags: { t: '1' },
    });
    const p2 = await put(key, id, 2, tail);
    const p1 = await put(key, id, 1, big);
    assert.equal(p1.etag, md5(big));
    assert.equal(p2.etag, md5(tail));
    assert.deepEqual(uploadDirs(key, id), [true, true, true, true, true, true]);

    const info = await pool.completeMultipartUpload(BUCKET, key, id, [
      { partNumber: 1, etag: `"${p1.etag}"` },
      { partNumber: 2, etag: p2.etag.toUpperCase() },
    ]);
    assert.equal(info.etag, multipartEtag([big, tail]));
    assert.equal(info.size, big.length + tail.length);
    const got = await readAll((await pool.getObject(BUCKET, key)).stream);
    assert.ok(got.equals(Buffer.concat([big, tail])));
    const head = await pool.getObjectInfo(BUCKET, key);
    assert.equal(head.etag, info.etag);
    assert.equal(head.contentType, 'application/x-mp');
    assert.deepEqual(head.tags, { t: '1' });
    assert.deepEqual(
      head.parts.map((p) => [p.number, p.size, p.etag]),
      [
        [1, big.length, md5(big)],
        [2, tail.length, md5(tail)],
      ],
    );
    const range = await readAll(
      (await pool.getObject(BUCKET, key, { range: { start: big.length - 5, end: big.length + 4 } })).stream,
    );
    assert.ok(range.equals(Buffer.concat([big, tail]).subarray(big.length - 5, big.length + 5)));
    assert.deepEqual(uploadDirs(key, id), [false, false, false, false, false, false]);
    assert.deepEqual((await pool.listMultipartUploads(BUCKET, { prefix: key })).uploads, []);

    // A retried Complete (the client never saw the first answer) gets the same object back.
    const again = await pool.completeMultipartUpload(BUCKET, key, id, [
      { partNumber: 1, etag: p1.etag },
      { partNumber: 2, etag: p2.etag },
    ]);
    assert.deepEqual(
      [again.etag, again.size, again.versionId, again.modTime.getTime()],
      [info.etag, info.size, info.versionId, info.modTime.getTime()],
    );
  });

  it('rejects parts out of order with InvalidPartOrder', async () => {
    const key = 'order';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const p1 = await put(key, id, 1, big);
    const p2 = await put(key, id, 2, tail);
    for (const parts of [
      [
        { partNumber: 2, etag: p2.etag },
        { partNumber: 1, etag: p1.etag },
      ],
      [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 1, etag: p1.etag },
      ],
    ]) {
      await assert.rejects(pool.completeMultipartUpload(BUCKET, key, id, parts), {
        code: 'InvalidPartOrder',
      });
    }
    await assert.rejects(pool.getObjectInfo(BUCKET, key), { code: 'ObjectNotFound' });
    assert.equal((await pool.listParts(BUCKET, key, id)).parts.length, 2, 'the upload is still there');
    await pool.abortMultipartUpload(BUCKET, key, id);
  });

  it('rejects unknown parts and wrong ETags with InvalidPart', async () => {
    const key = 'wrong-etag';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const p1 = await put(key, id, 1, tail);
    for (const parts of [
      [{ partNumber: 1, etag: md5(Buffer.from('something else')) }],
      [{ partNumber: 2, etag: p1.etag }],
      [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 3, etag: p1.etag },
      ],
      [],
    ]) {
      await assert.rejects(pool.completeMultipartUpload(BUCKET, key, id, parts), { code: 'InvalidPart' });
    }
    await assert.rejects(pool.getObjectInfo(BUCKET, key), { code: 'ObjectNotFound' });
    await pool.abortMultipartUpload(BUCKET, key, id);
  });

  it('rejects a part below 5 MiB that is not the last with EntityTooSmall', async () => {
    const key = 'too-small';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const small = Buffer.alloc(MIN_PART_SIZE - 1, 1);
    const p1 = await put(key, id, 1, small);
    const p2 = await put(key, id, 2, tail);
    await assert.rejects(
      pool.completeMultipartUpload(BUCKET, key, id, [
        { partNumber: 1, etag: p1.etag },
        { partNumber: 2, etag: p2.etag },
      ]),
      { code: 'EntityTooSmall' },
    );
    await assert.rejects(pool.getObjectInfo(BUCKET, key), { code: 'ObjectNotFound' });
    // The last part may be small, and parts may be skipped.
    const info = await pool.completeMultipartUpload(BUCKET, key, id, [{ partNumber: 2, etag: p2.etag }]);
    assert.equal(info.etag, multipartEtag([tail]));
    assert.ok((await readAll((await pool.getObject(BUCKET, key)).stream)).equals(tail));
  });

  it('replaces a re-uploaded part, deleting the old one', async () => {
    const key = 'reupload';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const first = await put(key, id, 1, big);
    const second = await put(key, id, 1, big2);
    assert.notEqual(first.etag, second.etag);
    const listed = await pool.listParts(BUCKET, key, id);
    assert.deepEqual(
      listed.parts.map((p) => [p.partNumber, p.etag, p.size]),
      [[1, second.etag, big2.length]],
    );
    for (const p of tmp.paths) {
      const names = readdirSync(join(p, SYS_VOLUME, uploadDir(BUCKET, key, id)));
      assert.equal(
        names.filter((n) => /^part\.1\.[0-9a-f-]+$/.test(n)).length,
        1,
        `one shard file of part 1 on ${p}`,
      );
    }
    await assert.rejects(
      pool.completeMultipartUpload(BUCKET, key, id, [{ partNumber: 1, etag: first.etag }]),
      { code: 'InvalidPart' },
    );
    const info = await pool.completeMultipartUpload(BUCKET, key, id, [{ partNumber: 1, etag: second.etag }]);
    assert.equal(info.size, big2.length);
    assert.ok((await readAll((await pool.getObject(BUCKET, key)).stream)).equals(big2));
  });

  it('refuses a part whose digest does not match, keeping the previous one', async () => {
    const key = 'part-digest';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const p1 = await put(key, id, 1, tail);
    await assert.rejects(pool.putObjectPart(BUCKET, key, id, 1, streamOf(big), { expectedMd5: md5(tail) }), {
      code: 'BadDigest',
    });
    assert.deepEqual(
      (await pool.listParts(BUCKET, key, id)).parts.map((p) => p.etag),
      [p1.etag],
    );
    await pool.abortMultipartUpload(BUCKET, key, id);
  });

  it('abort removes the upload from every drive', async () => {
    const key = 'aborted/key';
    const id = await pool.newMultipartUpload(BUCKET, key);
    const p1 = await put(key, id, 1, big);
    assert.deepEqual(uploadDirs(key, id), [true, true, true, true, true, true]);
    await pool.abortMultipartUpload(BUCKET, key, id);
    assert.deepEqual(uploadDirs(key, id), [false, false, false, false, false, false]);
    await assert.rejects(pool.listParts(BUCKET, key, id), { code: 'NoSuchUpload' });
    await assert.rejects(put(key, id, 2, tail), { code: 'NoSuchUpload' });
    await assert.rejects(pool.completeMultipartUpload(BUCKET, key, id, [{ partNumber: 1, etag: p1.etag }]), {
      code: 'NoSuchUpload',
    });
    await assert.rejects(pool.abortMultipartUpload(BUCKET, key, id), { code: 'NoSuchUpload' });
    await assert.rejects(pool.getObjectInfo(BUCKET, key), { code: 'ObjectNotFound' });
    assert.equal(
      (await pool.listMultipartUploads(BUCKET)).uploads.some((u) => u.uploadId === id),
      false,
    );
  });

  it('refuses unknown upload ids and bad part numbers', async () => {
    const key = 'ids';
    await assert.rejects(pool.listParts(BUCKET, key, '00000000-0000-4000-8000-000000000000'), {
      code: 'NoSuchUpload',
    });
    await assert.rejects(pool.listParts(BUCKET, key, '../../../etc'), { code: 'NoSuchUpload' });
    const id = await pool.newMultipartUpload(BUCKET, key);
    await assert.rejects(pool.listParts(BUCKET, 'other-key', id), { code: 'NoSuchUpload' });
    for (const n of [0, -1, 10001, 1.5]) {
      await assert.rejects(put(key, id, n, tail), { code: 'InvalidArgument' }, `part ${n}`);
    }
    await pool.abortMultipartUpload(BUCKET, key, id);
  });

  it('pages through parts', async () => {
    const key = 'many-parts';
    const id = await pool.newMultipartUpload(BUCKET, key);
    for (const n of [5, 1, 3, 2, 4]) await put(key, id, n, Buffer.from(`part ${n}`));
    const all = await pool.listParts(BUCKET, key, id);
    assert.deepEqual(
      all.parts.map((p) => p.partNumber),
      [1, 2, 3, 4, 5],
    );
    assert.equal(all.isTruncated, false);
    const pages: number[][] = [];
    let marker: number | undefined;
    for (;;) {
      const page = await pool.listParts(BUCKET, key, id, { maxParts: 2, partNumberMarker: marker });
      pages.push(page.parts.map((p) => p.partNumber));
      if (!page.isTruncated) break;
      assert.equal(page.nextPartNumberMarker, page.parts[page.parts.length - 1].partNumber);
      marker = page.nextPartNumberMarker;
    }
    assert.deepEqual(pages, [[1, 2], [3, 4], [5]]);
    assert.deepEqual(
      (await pool.listParts(BUCKET, key, id, { partNumberMarker: 3 })).parts.map((p) => p.partNumber),
      [4, 5],
    );
    await pool.abortMultipartUpload(BUCKET, key, id);
  });

  describe('listMultipartUploads', () => {
    const ids = new Map<string, string[]>();

    before(async () => {
      for (const [key, count] of [
        ['list/k1', 1],
        ['list/k2', 6],
        ['list/k3', 1],
        ['list/sub/k4', 2],
        ['other', 1],
      ] as const) {
        for (let i = 0; i < count; i++) {
          const id = await pool.newMultipartUpload(BUCKET, key);
          ids.set(key, [...(ids.get(key) ?? []), id]);
          await delay(3); // distinct initiation times
        }
      }
    });

    const expected = (prefix: string): string[] =>
      [...ids]
        .filter(([key]) => key.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .flatMap(([, list]) => list);

    it('lists every upload, by key then initiation time', async () => {
      const res = await pool.listMultipartUploads(BUCKET, { prefix: 'list/' });
      assert.deepEqual(
        res.uploads.map((u) => u.uploadId),
        expected('list/'),
      );
      assert.equal(res.isTruncated, false);
      assert.ok(res.uploads.every((u) => u.bucket === BUCKET && u.storageClass === 'STANDARD'));
    });

    for (const maxUploads of [1, 2, 4]) {
      it(`pages with maxUploads ${maxUploads} without skipping or repeating an upload`, async () => {
        const seen: string[] = [];
        let keyMarker: string | undefined;
        let uploadIdMarker: string | undefined;
        for (let page = 0; page < 50; page++) {
          const res = await pool.listMultipartUploads(BUCKET, {
            prefix: 'list/',
            maxUploads,
            keyMarker,
            uploadIdMarker,
          });
          assert.ok(res.uploads.length <= maxUploads);
          seen.push(...res.uploads.map((u) => u.uploadId));
          if (!res.isTruncated) break;
          keyMarker = res.nextKeyMarker;
          uploadIdMarker = res.nextUploadIdMarker;
        }
        assert.deepEqual(seen, expected('list/'));
      });
    }

    it('starts after a key marker without an upload id marker', async () => {
      const res = await pool.listMultipartUploads(BUCKET, { keyMarker: 'list/k2' });
      assert.deepEqual(
        res.uploads.map((u) => u.key),
        ['list/k3', 'list/sub/k4', 'list/sub/k4', 'other'],
      );
    });
  });
});
