/**
 * tier-streams.ts countedBody: an upload body passes through unchanged, counted, hashed (on the calling thread or
 * on a hasher's worker, the same digest), and fails when it is longer or shorter than its declared size.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { Md5Hasher } from '../common/md5-hasher';
import { TierError } from './tier-error';
import { countedBody } from './tier-streams';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `data` as a stream of chunks of the given sizes, cycled. */
function chunked(data: Buffer, sizes: number[]): Readable {
  const parts: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    parts.push(data.subarray(off, off + n));
    off += n;
  }
  return Readable.from(parts, { objectMode: false });
}

describe('countedBody', () => {
  const hasher = new Md5Hasher();
  const rand = seededRandom(29);
  after(() => hasher.close());

  for (const where of ['the calling thread', 'a hasher worker'] as const) {
    it(`passes the bytes through, counts them and hashes them (on ${where})`, async () => {
      const data = randomBytes(rand, 700_000);
      const body = countedBody(chunked(data, [65_552, 1, 300_000]), data.length, 'T', {
        md5: true,
        hasher: where === 'a hasher worker' ? hasher : undefined,
      });
      assert.deepEqual(await drain(body.stream), data);
      assert.equal(body.count(), data.length);
      assert.equal(await body.md5(), createHash('md5').update(data).digest('hex'));
    });
  }

  it('has no digest unless asked for one', async () => {
    const body = countedBody(Readable.from([Buffer.alloc(10)]), 10, 'T');
    await drain(body.stream);
    assert.equal(await body.md5(), undefined);
  });

  it('fails a body longer than its declared size', async () => {
    const body = countedBody(Readable.from([Buffer.alloc(6), Buffer.alloc(6)]), 10, 'T', {
      md5: true,
      hasher,
    });
    await assert.rejects(drain(body.stream), (err) => err instanceof TierError && /longer/.test(err.message));
    assert.equal(await body.md5(), undefined);
  });

  it('fails a body shorter than its declared size', async () => {
    const body = countedBody(Readable.from([Buffer.alloc(6)]), 10, 'T', { md5: true, hasher });
    await assert.rejects(
      drain(body.stream),
      (err) => err instanceof TierError && /has 6 bytes/.test(err.message),
    );
    assert.equal(await body.md5(), undefined);
  });

  it('fails with its source', async () => {
    const source = new Readable({ read() {} });
    const body = countedBody(source, 10, 'T', { md5: true, hasher });
    const drained = drain(body.stream);
    source.destroy(new Error('disk gone'));
    await assert.rejects(drained, /disk gone/);
  });
});
