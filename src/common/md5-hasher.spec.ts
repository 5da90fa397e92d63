/**
 * md5-hasher.ts: digests from the worker equal node:crypto's, over shared buffers and over copied ones of any
 * chunking; a copying stream holds two slabs at most; a stopped worker fails what it owed instead of hanging.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { copyingMd5, Md5Hasher, SLAB_SIZE } from './md5-hasher';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('Md5Hasher', () => {
  const hasher = new Md5Hasher();
  const rand = seededRandom(83);
  after(() => hasher.close());

  it('hashes shared buffers in the order they were sent', async () => {
    const data = randomBytes(rand, 300_000);
    const shared = Buffer.from(new SharedArrayBuffer(data.length));
    data.copy(shared);
    const s = hasher.open();
    await Promise.all([s.update(shared.subarray(0, 1000)), s.update(shared.subarray(1000))]);
    assert.equal(await s.digest(), md5(data));
  });

  it('refuses a buffer that is not shared memory', async () => {
    await assert.rejects(hasher.open().update(Buffer.alloc(4)), TypeError);
  });

  it('hashes copied chunks of any size, slab boundaries included, for streams running at once', async () => {
    const sizes = [0, 1, 4096, 65_552, SLAB_SIZE - 1, SLAB_SIZE, SLAB_SIZE + 1, 3 * SLAB_SIZE + 17];
    const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(rand, 200_000 * i + 13));
    const digests = await Promise.all(
      bodies.map(async (body, i) => {
        const s = hasher.openCopying();
        let off = 0;
        for (let n = 0; off < body.length; n++) {
          const size = sizes[(n + i) % sizes.length];
          const wait = s.update(body.subarray(off, off + size));
          if (wait) await wait;
          off += size;
        }
        return s.digest();
      }),
    );
    assert.deepEqual(
      digests,
      bodies.map((b) => md5(b)),
    );
  });

  it('hashes chunks at every alignment (copied to their source address modulo 8, gaps skipped)', async () => {
    const body = randomBytes(rand, 2 * SLAB_SIZE + 1000);
    const backing = Buffer.allocUnsafeSlow(body.length + 8);
    const s = hasher.openCopying();
    // Chunks of 1 to 13 bytes, each from a source offset with its own remainder modulo 8.
    for (let off = 0, n = 0; off < body.length; n++) {
      const size = Math.min(1 + (n % 13), body.length - off);
      const shift = n % 8;
      body.copy(backing, off + shift, off, off + size);
      const wait = s.update(backing.subarray(off + shift, off + shift + size));
      if (wait) await wait;
      off += size;
    }
    assert.equal(await s.digest(), md5(body));
  });

  it('hashes an empty copying stream', async () => {
    assert.equal(await hasher.openCopying().digest(), md5(Buffer.alloc(0)));
  });

  it('makes a copying stream wait once it holds two slabs being hashed, and goes on after', async () => {
    // At offset 0 of its own memory (not a pooled slice), so each slab-sized chunk fills exactly one slab.
    const body = Buffer.allocUnsafeSlow(3 * SLAB_SIZE);
    randomBytes(rand, body.length).copy(body);
    const s = hasher.openCopying();
    // Nothing can have come back from the worker between these calls: two full slabs are in flight.
    assert.equal(s.update(body.subarray(0, SLAB_SIZE)), undefined);
    assert.equal(s.update(body.subarray(SLAB_SIZE, 2 * SLAB_SIZE)), undefined);
    const third = s.update(body.subarray(2 * SLAB_SIZE));
    assert.ok(third instanceof Promise);
    await third;
    assert.equal(await s.digest(), md5(body));
  });

  it('keeps the bytes it was given, not the caller buffer (which the caller may reuse at once)', async () => {
    const chunk = Buffer.alloc(1000, 7);
    const s = hasher.openCopying();
    assert.equal(s.update(chunk), undefined);
    chunk.fill(9);
    assert.equal(s.update(chunk), undefined);
    assert.equal(await s.digest(), md5(Buffer.concat([Buffer.alloc(1000, 7), Buffer.alloc(1000, 9)])));
  });

  it('fails what it owed when its worker stops, and starts a new worker for later streams', async () => {
    const own = new Md5Hasher();
    try {
      const s = own.openCopying();
      assert.equal(s.update(randomBytes(rand, SLAB_SIZE)), undefined); // one slab on its way to the worker
      const digest = s.digest();
      const closing = own.close();
      await assert.rejects(digest, /MD5 worker stopped/);
      await closing;
      const data = randomBytes(rand, 5000);
      const again = own.openCopying();
      assert.equal(again.update(data), undefined);
      assert.equal(await again.digest(), md5(data));
    } finally {
      await own.close();
    }
  });
});

describe('Md5Hasher whose worker stopped between two updates of a stream', () => {
  it('fails the stream rather than let a new worker hash the rest as if it were the whole', async () => {
    const own = new Md5Hasher();
    try {
      const shared = Buffer.from(new SharedArrayBuffer(1000));
      const s = own.open();
      await s.update(shared); // hashed and answered: nothing is owed when the worker stops
      await own.close();
      await assert.rejects(s.update(shared), /MD5 worker stopped/);
      await assert.rejects(s.digest(), /MD5 worker stopped/);
    } finally {
      await own.close();
    }
  });
});

describe('copyingMd5 without a hasher', () => {
  it('hashes on the calling thread, never asking the caller to wait', async () => {
    const data = randomBytes(seededRandom(5), 3 * SLAB_SIZE);
    const s = copyingMd5();
    assert.equal(s.update(data.subarray(0, 2 * SLAB_SIZE)), undefined);
    assert.equal(s.update(data.subarray(2 * SLAB_SIZE)), undefined);
    assert.equal(await s.digest(), md5(data));
  });
});
