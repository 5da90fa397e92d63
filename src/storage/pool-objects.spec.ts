/**
 * Bucket and object semantics of the ObjectLayer on a 4+2 pool: bucket lifecycle and names, conditional and
 * digest-checked PUTs that store nothing when they fail, metadata-only version updates, and inline objects that
 * span several erasure blocks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import { SYS_VOLUME, TMP_DIR } from './layout';
import type { ErasurePool } from './pool';

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** Every file (not directory) below `dir`, relative to it. */
function files(dir: string, base = dir): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

describe('ObjectLayer buckets and objects on a 4+2 pool', () => {
  const tmp = tempDrives(6, 'pool-objects');
  let pool: ErasurePool;

  const read = async (bucket: string, key: string): Promise<Buffer> =>
    readAll((await pool.getObject(bucket, key)).stream);
  /** Files of a bucket on every drive. */
  const bucketFiles = (bucket: string): string[] => tmp.paths.flatMap((p) => files(join(p, bucket)));
  const tmpFiles = (): string[] => tmp.paths.flatMap((p) => files(join(p, SYS_VOLUME, TMP_DIR)));
  const dataDirs = (bucket: string, key: string): string[][] =>
    tmp.paths.map((p) =>
      existsSync(join(p, bucket, key))
        ? readdirSync(join(p, bucket, key)).filter((n) => n.startsWith('%d.'))
        : [],
    );

  before(async () => {
    ({ pool } = await faultyPool(tmp.paths, { parity: 2 }));
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  describe('buckets', () => {
    it('refuses to create a bucket twice', async () => {
      await pool.makeBucket('twice');
      await assert.rejects(pool.makeBucket('twice'), { code: 'BucketExists' });
      assert.equal((await pool.headBucket('twice')).name, 'twice');
    });

    it('refuses invalid bucket names everywhere', async () => {
      for (const name of [
        'ab',
        'Upper',
        'has_underscore',
        '-dash',
        'a..b',
        '10.0.0.1',
        '../etc',
        '.tiergate.sys',
      ]) {
        await assert.rejects(pool.makeBucket(name), { code: 'InvalidBucketName' }, `makeBucket ${name}`);
        await assert.rejects(pool.headBucket(name), { code: 'InvalidBucketName' }, `headBucket ${name}`);
        await assert.rejects(pool.deleteBucket(name), { code: 'InvalidBucketName' }, `deleteBucket ${name}`);
        await assert.rejects(pool.listObjects(name), { code: 'InvalidBucketName' }, `listObjects ${name}`);
        await assert.rejects(pool.putObject(name, 'k', streamOf(Buffer.from('x'))), {
          code: 'InvalidBucketName',
        });
      }
      for (const p of tmp.paths) assert.equal(existsSync(join(p, '..', 'etc')), false);
    });

    it('answers BucketNotFound for a missing bucket', async () => {
      const missing = 'no-such-bucket';
      await assert.rejects(pool.headBucket(missing), { code: 'BucketNotFound' });
      await assert.rejects(pool.deleteBucket(missing), { code: 'BucketNotFound' });
      await assert.rejects(pool.listObjects(missing), { code: 'BucketNotFound' });
      await assert.rejects(pool.getObject(missing, 'k'), { code: 'BucketNotFound' });
      await assert.rejects(pool.getObjectInfo(missing, 'k'), { code: 'BucketNotFound' });
      await assert.rejects(pool.putObject(missing, 'k', streamOf(Buffer.from('x'))), {
        code: 'BucketNotFound',
      });
      await assert.rejects(pool.newMultipartUpload(missing, 'k'), { code: 'BucketNotFound' });
      for (const p of tmp.paths) assert.equal(existsSync(join(p, missing)), false, 'nothing created for it');
    });

    it('refuses to delete a non-empty bucket, then deletes it once emptied', async () => {
      await pool.makeBucket('full');
      await pool.putObject('full', 'a/b', streamOf(Buffer.from('data')));
      await assert.rejects(pool.deleteBucket('full'), { code: 'BucketNotEmpty' });
      assert.equal((await read('full', 'a/b')).toString(), 'data');
      await pool.deleteObject('full', 'a/b');
      await pool.deleteBucket('full');
      await assert.rejects(pool.headBucket('full'), { code: 'BucketNotFound' });
      await assert.rejects(pool.putObject('full', 'x', streamOf(Buffer.from('x'))), {
        code: 'BucketNotFound',
      });
      for (const p of tmp.paths) assert.equal(existsSync(join(p, 'full')), false);
      await pool.makeBucket('full');
      await assert.rejects(pool.getObjectInfo('full', 'a/b'), { code: 'ObjectNotFound' });
    });

    it('lists buckets sorted by name', async () => {
      for (const name of ['zeta', 'alpha', 'mid.1', 'mid-1', 'mid0', '9lives']) await pool.makeBucket(name);
      const names = (await pool.listBuckets()).map((b) => b.name);
      const expected = ['zeta', 'alpha', 'mid.1', 'mid-1', 'mid0', '9lives', 'twice', 'full'].sort();
      assert.deepEqual(names, expected);
    });
  });

  describe('conditional PUT', () => {
    const bucket = 'conditional';
    const big = randomBytes(seededRandom(1), 300 * 1024);
    before(() => pool.makeBucket(bucket));

    for (const [kind, first, second] of [
      ['inline', Buffer.from('first'), Buffer.from('second')],
      ['streamed', big, Buffer.concat([big, Buffer.from('!')])],
    ] as const) {
      it(`ifNoneMatch creates once and refuses to overwrite (${kind})`, async () => {
        const key = `inm-${kind}`;
        await pool.putObject(bucket, key, streamOf(first), { ifNoneMatch: true });
        await assert.rejects(pool.putObject(bucket, key, streamOf(second), { ifNoneMatch: true }), {
          code: 'PreconditionFailed',
        });
        assert.ok((await read(bucket, key)).equals(first));
        assert.deepEqual(tmpFiles(), [], 'the refused body left no staging');
        assert.ok(dataDirs(bucket, key).every((d) => d.length === (kind === 'inline' ? 0 : 1)));
      });

      it(`ifMatch overwrites only the matching ETag (${kind})`, async () => {
        const key = `im-${kind}`;
        await assert.rejects(pool.putObject(bucket, key, streamOf(first), { ifMatch: md5(first) }), {
          code: 'ObjectNotFound',
        });
        await assert.rejects(pool.getObjectInfo(bucket, key), { code: 'ObjectNotFound' });
        await pool.putObject(bucket, key, streamOf(first));
        await assert.rejects(pool.putObject(bucket, key, streamOf(second), { ifMatch: md5(second) }), {
          code: 'PreconditionFailed',
        });
        assert.ok((await read(bucket, key)).equals(first));
        const info = await pool.putObject(bucket, key, streamOf(second), { ifMatch: `"${md5(first)}"` });
        assert.equal(info.etag, md5(second));
        assert.ok((await read(bucket, key)).equals(second));
        await pool.putObject(bucket, key, streamOf(first), { ifMatch: '*' });
        assert.ok((await read(bucket, key)).equals(first));
        assert.deepEqual(tmpFiles(), []);
        assert.ok(dataDirs(bucket, key).every((d) => d.length === (kind === 'inline' ? 0 : 1)));
      });
    }
  });

  describe('Content-MD5', () => {
    const bucket = 'digest';
    before(() => pool.makeBucket(bucket));

    for (const [kind, body] of [
      ['inline', Buffer.from('hello world')],
      ['empty', Buffer.alloc(0)],
      ['streamed', randomBytes(seededRandom(2), 2 * 1024 * 1024 + 3)],
    ] as const) {
      it(`stores nothing when the digest does not match (${kind})`, async () => {
        const key = `bad-${kind}`;
        await assert.rejects(
          pool.putObject(bucket, key, streamOf(body), {
            expectedMd5: md5(Buffer.from('other')),
            size: body.length,
          }),
          { code: 'BadDigest' },
        );
        await assert.rejects(pool.getObjectInfo(bucket, key), { code: 'ObjectNotFound' });
        assert.deepEqual(bucketFiles(bucket), []);
        assert.deepEqual(tmpFiles(), []);
        const info = await pool.putObject(bucket, key, streamOf(body), {
          expectedMd5: md5(body).toUpperCase(),
        });
        assert.equal(info.etag, md5(body));
        assert.ok((await read(bucket, key)).equals(body));
        await pool.deleteObject(bucket, key);
      });
    }

    it('keeps the previous version when an overwrite has a bad digest', async () => {
      const old = randomBytes(seededRandom(3), 200 * 1024);
      await pool.putObject(bucket, 'keep', streamOf(old));
      const dirsBefore = dataDirs(bucket, 'keep');
      const next = Buffer.concat([old, old]);
      await assert.rejects(pool.putObject(bucket, 'keep', streamOf(next), { expectedMd5: md5(old) }), {
        code: 'BadDigest',
      });
      assert.ok((await read(bucket, 'keep')).equals(old));
      assert.deepEqual(dataDirs(bucket, 'keep'), dirsBefore, 'no data dir added or removed');
      assert.deepEqual(tmpFiles(), []);
    });

    it('fails a body shorter or longer than its declared size with IncompleteBody', async () => {
      for (const [len, size] of [
        [10, 11],
        [10, 9],
        [300 * 1024, 300 * 1024 + 1],
        [300 * 1024, 300 * 1024 - 1],
      ]) {
        await assert.rejects(pool.putObject(bucket, 'sized', streamOf(Buffer.alloc(len, 1)), { size }), {
          code: 'IncompleteBody',
        });
      }
      await assert.rejects(pool.getObjectInfo(bucket, 'sized'), { code: 'ObjectNotFound' });
      assert.deepEqual(tmpFiles(), []);
    });
  });

  describe('updateObjectVersion', () => {
    const bucket = 'updates';
    before(() => pool.makeBucket(bucket));

    for (const [kind, body] of [
      ['inline', Buffer.from('small body')],
      ['streamed', randomBytes(seededRandom(4), 1536 * 1024)],
    ] as const) {
      it(`changes tags and keeps the data readable (${kind})`, async () => {
        const key = `tagged-${kind}`;
        const put = await pool.putObject(bucket, key, streamOf(body), {
          tags: { old: '1' },
          userMetadata: { owner: 'me' },
          contentType: 'application/x-test',
        });
        const dirs = dataDirs(bucket, key);
        const updated = await pool.updateObjectVersion(bucket, key, 'null', (v) => ({
          ...v,
          tags: { new: '2', project: 'zoë' },
        }));
        assert.deepEqual(updated.tags, { new: '2', project: 'zoë' });
        const info = await pool.getObjectInfo(bucket, key);
        assert.deepEqual(info.tags, { new: '2', project: 'zoë' });
        assert.deepEqual(info.userMetadata, { owner: 'me' });
        assert.equal(info.contentType, 'application/x-test');
        assert.equal(info.etag, put.etag);
        assert.equal(info.size, body.length);
        assert.equal(info.modTime.getTime(), put.modTime.getTime());
        assert.ok((await read(bucket, key)).equals(body));
        assert.deepEqual(dataDirs(bucket, key), dirs, 'the data stays where it was');
        const listed = (await pool.listObjects(bucket, { prefix: key })).objects;
        assert.deepEqual(
          listed.map((o) => [o.key, o.etag]),
          [[key, put.etag]],
        );
        // A second update sees the first.
        await pool.updateObjectVersion(bucket, key, 'null', (v) => {
          assert.deepEqual(v.tags, { new: '2', project: 'zoë' });
          return { ...v, tags: {} };
        });
        assert.deepEqual((await pool.getObjectInfo(bucket, key)).tags, {});
        assert.ok((await read(bucket, key)).equals(body));
      });
    }

    it('leaves the version alone when the update returns null', async () => {
      await pool.putObject(bucket, 'same', streamOf(Buffer.from('x')), { tags: { a: 'b' } });
      const info = await pool.updateObjectVersion(bucket, 'same', 'null', () => null);
      assert.deepEqual(info.tags, { a: 'b' });
      assert.deepEqual((await pool.getObjectInfo(bucket, 'same')).tags, { a: 'b' });
    });

    it("refuses to change a version's identity or data", async () => {
      await pool.putObject(bucket, 'fixed', streamOf(Buffer.from('fixed')));
      for (const change of [
        { size: 1 },
        { versionId: 'other' },
        { modTime: 1 },
        { dataDir: 'elsewhere' },
        { inline: false },
      ]) {
        await assert.rejects(
          pool.updateObjectVersion(bucket, 'fixed', 'null', (v) => ({ ...v, ...change })),
          { code: 'InvalidArgument' },
          JSON.stringify(change),
        );
      }
      assert.equal((await read(bucket, 'fixed')).toString(), 'fixed');
    });

    it('answers VersionNotFound for a version that does not exist', async () => {
      await assert.rejects(
        pool.updateObjectVersion(bucket, 'same', 'no-such-version', (v) => v),
        { code: 'VersionNotFound' },
      );
    });
  });
});

describe('inline objects spanning several erasure blocks', () => {
  // blockSize below the inline threshold (128 KiB): an inline object is encoded as several blocks into memory
  // sinks. The encoder keeps up to 3 blocks in flight, so their frames can complete out of order.
  const tmp = tempDrives(6, 'pool-inline-blocks');
  let pool: ErasurePool;

  before(async () => {
    ({ pool } = await faultyPool(tmp.paths, { parity: 2, blockSize: 4096 }));
    await pool.makeBucket('inline');
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('reads back exactly what was written', async () => {
    const rand = seededRandom(42);
    const bad: string[] = [];
    for (let i = 0; i < 60; i++) {
      const body = randomBytes(rand, 120 * 1024 + i);
      await pool.putObject('inline', `obj-${i}`, streamOf(body), { size: body.length });
      try {
        const got = await readAll((await pool.getObject('inline', `obj-${i}`)).stream);
        if (!got.equals(body)) bad.push(`obj-${i}: different bytes, no error`);
      } catch (err) {
        bad.push(`obj-${i}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(bad, []);
  });
});
