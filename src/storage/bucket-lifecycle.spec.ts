/**
 * The ObjectLayer's bucket lifecycle document on a 4+2 pool: stored on every drive, read by majority, kept across
 * a reopen of the pool on the same drives, readable with a drive offline, gone with the bucket, and refused for a
 * bucket that does not exist. The bytes are opaque here (the lifecycle folder owns their format).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { faultyPool, tempDrives } from '../../test/fixtures/temp-drives';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { BUCKETS_DIR, SYS_VOLUME } from './layout';
import type { ErasurePool } from './pool';

describe('ObjectLayer bucket lifecycle documents', () => {
  const tmp = tempDrives(6, 'bucket-lifecycle');
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  const docA = Buffer.from('{"lifecycle":"A"}');
  const docB = Buffer.from('{"lifecycle":"B"}');
  const onDisk = (bucket: string): boolean[] =>
    tmp.paths.map((p) => existsSync(join(p, SYS_VOLUME, BUCKETS_DIR, bucket, 'config', 'lifecycle')));

  before(async () => {
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2 }));
    await pool.makeBucket('lcb');
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('is null until one is stored, then replaced and removed', async () => {
    assert.equal(await pool.getBucketLifecycle('lcb'), null);
    await pool.putBucketLifecycle('lcb', docA);
    assert.deepEqual(await pool.getBucketLifecycle('lcb'), docA);
    assert.deepEqual(onDisk('lcb'), [true, true, true, true, true, true]);
    await pool.putBucketLifecycle('lcb', docB);
    assert.deepEqual(await pool.getBucketLifecycle('lcb'), docB);
    await pool.deleteBucketLifecycle('lcb');
    assert.equal(await pool.getBucketLifecycle('lcb'), null);
    assert.deepEqual(onDisk('lcb'), [false, false, false, false, false, false]);
    await pool.deleteBucketLifecycle('lcb'); // deleting none is not an error
  });

  it('survives reopening the pool on the same drives', async () => {
    await pool.putBucketLifecycle('lcb', docA);
    await pool.shutdown();
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2 }));
    assert.deepEqual(await pool.getBucketLifecycle('lcb'), docA);
  });

  it('is read by majority with a drive offline', async () => {
    await pool.shutdown();
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2 }));
    drives[0].mode = 'offline';
    try {
      assert.deepEqual(await pool.getBucketLifecycle('lcb'), docA);
    } finally {
      drives[0].mode = 'ok';
    }
  });

  it('goes away with the bucket', async () => {
    await pool.makeBucket('gone');
    await pool.putBucketLifecycle('gone', docA);
    await pool.deleteBucket('gone');
    assert.deepEqual(onDisk('gone'), [false, false, false, false, false, false]);
    await pool.makeBucket('gone');
    assert.equal(await pool.getBucketLifecycle('gone'), null);
  });

  it('never caches a document read while the bucket was being deleted (it came back after a recreate)', async () => {
    // Reads racing a DeleteBucket (the lifecycle engine scans a bucket right after its rules change): whatever
    // they read before the removal must not be served from the cache to the recreated bucket.
    for (let round = 0; round < 20; round++) {
      await pool.makeBucket('racy');
      await pool.putBucketLifecycle('racy', docA);
      await pool.deleteBucketLifecycle('racy').then(() => pool.putBucketLifecycle('racy', docB));
      const reads: Promise<unknown>[] = [];
      const deleted = pool.deleteBucket('racy');
      for (let i = 0; i < 8; i++) {
        reads.push(pool.getBucketLifecycle('racy').catch(() => undefined));
        await new Promise((r) => setImmediate(r));
      }
      await deleted;
      await Promise.all(reads);
      await pool.makeBucket('racy');
      assert.equal(await pool.getBucketLifecycle('racy'), null, `round ${round}`);
      await pool.deleteBucket('racy');
    }
  });

  it('refuses a bucket that does not exist', async () => {
    await assert.rejects(pool.getBucketLifecycle('nosuch'), { code: 'BucketNotFound' });
    await assert.rejects(pool.putBucketLifecycle('nosuch', docA), { code: 'BucketNotFound' });
    await assert.rejects(pool.deleteBucketLifecycle('nosuch'), { code: 'BucketNotFound' });
  });
});
