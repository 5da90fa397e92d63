/**
 * decoder.ts: encode -> decode round trips, reconstruction from any k shards, and bitrot / short reads / read
 * errors detected, reported once per shard, and repaired in the output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import { BufferSource } from './sources';
import { Geometry, HASH_SIZE } from './codec';
import { BlockReader, decodeRange, type ShardSource } from './decoder';
import { encodeStream, MemorySink } from './encoder';

/** Encodes `data` into one framed shard stream per shard index. */
async function encode(data: Buffer, k: number, m: number, blockSize: number): Promise<Buffer[]> {
  const sinks = Array.from({ length: k + m }, () => new MemorySink());
  // One block in flight: MemorySink appends, so blocks must reach it in order.
  await encodeStream([data], { k, m, blockSize, sinks, writeQuorum: k + m, inFlight: 1 });
  return sinks.map((s) => s.contents());
}

/** A source over a shard stream that counts reads and can be made to fail. */
class TestSource implements ShardSource {
  reads = 0;
  private readonly inner: BufferSource;

  constructor(
    buf: Buffer,
    private readonly fail?: string,
  ) {
    this.inner = new BufferSource(buf);
  }

  async readv(buffers: Buffer[], position: number): Promise<number> {
    this.reads++;
    if (this.fail) throw new Error(this.fail);
    return this.inner.readv(buffers, position);
  }
}

async function decode(
  files: (Buffer | null)[],
  g: Geometry,
  start = 0,
  end = g.size - 1,
  onBadShard?: (i: number, reason: string) => void,
): Promise<Buffer> {
  const sources = files.map((f) => (f ? new BufferSource(f) : null));
  const out: Buffer[] = [];
  for await (const c of decodeRange({ geometry: g, sources, onBadShard }, start, end))
    out.push(Buffer.from(c));
  return Buffer.concat(out);
}

/** Every way to choose `r` of `n` positions. */
function combinations(n: number, r: number): number[][] {
  if (r === 0) return [[]];
  const out: number[][] = [];
  for (let first = 0; first <= n - r; first++) {
    for (const rest of combinations(n - first - 1, r - 1))
      out.push([first, ...rest.map((x) => x + first + 1)]);
  }
  return out;
}

describe('decodeRange round trips', () => {
  const configs: [k: number, m: number, blockSize: number, sizes: number[]][] = [
    [2, 1, 64, [1, 63, 64, 65, 1000]],
    [2, 2, 100, [1, 99, 100, 101, 777]],
    [4, 2, 1024, [1, 1023, 1024, 1025, 5000]],
    [6, 3, 4096, [4095, 4096 * 3 + 17]],
    [8, 4, 2048, [20_000]],
    [12, 4, 4800, [4799, 50_000]],
  ];
  for (const [k, m, blockSize, sizes] of configs) {
    it(`${k}+${m} in ${blockSize}-byte blocks: whole objects and random ranges`, async () => {
      const rand = seededRandom(k * 100 + m);
      for (const size of sizes) {
        const data = randomBytes(rand, size);
        const files = await encode(data, k, m, blockSize);
        const g = new Geometry(k, m, blockSize, size);
        assert.ok((await decode(files, g)).equals(data), `${size} bytes`);
        for (let i = 0; i < 10; i++) {
          const start = randomInt(rand, 0, size - 1);
          const end = randomInt(rand, start, size - 1);
          assert.ok(
            (await decode(files, g, start, end)).equals(data.subarray(start, end + 1)),
            `[${start}, ${end}]`,
          );
        }
      }
    });
  }

  it('yields nothing for an empty object or an empty range', async () => {
    assert.equal((await decode([null, null, null], new Geometry(2, 1, 64, 0))).length, 0);
    const files = await encode(Buffer.from('hello'), 2, 1, 64);
    assert.equal((await decode(files, new Geometry(2, 1, 64, 5), 3, 2)).length, 0);
  });

  it('reads only the k data shards when they are healthy', async () => {
    const data = randomBytes(seededRandom(3), 5000);
    const files = await encode(data, 4, 2, 1024);
    const sources = files.map((f) => new TestSource(f));
    const out: Buffer[] = [];
    for await (const c of decodeRange({ geometry: new Geometry(4, 2, 1024, 5000), sources }, 0, 4999))
      out.push(c);
    assert.ok(Buffer.concat(out).equals(data));
    assert.deepEqual(
      sources.map((s) => s.reads),
      [5, 5, 5, 5, 0, 0],
    );
  });
});

describe('decodeRange with missing shards', () => {
  const configs: [k: number, m: number, sample?: number][] = [
    [2, 1],
    [2, 2],
    [3, 3],
    [4, 2],
    [6, 3],
    [8, 4, 60],
    [12, 4, 60],
  ];
  for (const [k, m, sample] of configs) {
    it(`${k}+${m}: reconstructs with any ${m} sources missing, fails with ReadQuorum at ${m + 1}`, async () => {
      const rand = seededRandom(k + m);
      const blockSize = 512;
      const size = blockSize * 3 + 200;
      const data = randomBytes(rand, size);
      const files = await encode(data, k, m, blockSize);
      const g = new Geometry(k, m, blockSize, size);
      let losses = combinations(k + m, m);
      if (sample !== undefined) losses = losses.filter((_, i) => i % Math.ceil(losses.length / sample) === 0);
      for (const lost of losses) {
        const got = await decode(
          files.map((f, i) => (lost.includes(i) ? null : f)),
          g,
        );
        assert.ok(got.equals(data), `lost ${lost.join(',')}`);
      }
      const overLimit = combinations(k + m, m + 1);
      const tooMany = overLimit[randomInt(rand, 0, overLimit.length - 1)];
      await assert.rejects(
        decode(
          files.map((f, i) => (tooMany.includes(i) ? null : f)),
          g,
        ),
        { code: 'ReadQuorum' },
      );
    });
  }
});

describe('decodeRange with damaged shards', () => {
  const k = 4;
  const m = 2;
  const blockSize = 1024;
  const size = blockSize * 4 + 100;
  const data = randomBytes(seededRandom(77), size);
  const g = new Geometry(k, m, blockSize, size);

  const flip = (file: Buffer, offset: number, bit = 0): Buffer => {
    const out = Buffer.from(file);
    out[offset] ^= 1 << bit;
    return out;
  };

  const cases: [name: string, shard: number, offset: (g: Geometry) => number, missing?: number[]][] = [
    ['a bit in the first data byte of shard 0, block 0', 0, () => HASH_SIZE],
    ['a bit in the last byte of shard 3, block 2', 3, (g) => g.frameOffset(3) - 1],
    ['a bit in the hash of shard 1, block 1', 1, (g) => g.frameOffset(1) + 3],
    ['a bit in the short last block of shard 2', 2, (g) => g.frameOffset(4) + HASH_SIZE + 1],
    ['a bit in parity shard 4 (data shard 0 missing)', 4, (g) => g.frameOffset(2) + 20, [0]],
    [
      'a bit in parity shard 5, never read (data shard 0 missing, parity 4 suffices)',
      5,
      () => HASH_SIZE,
      [0],
    ],
  ];
  for (const [name, shard, offset, missing = []] of cases) {
    it(`repairs and reports ${name}`, async () => {
      const files: (Buffer | null)[] = await encode(data, k, m, blockSize);
      files[shard] = flip(files[shard]!, offset(g), 5);
      for (const i of missing) files[i] = null;
      const reports: [number, string][] = [];
      const got = await decode(files, g, 0, size - 1, (i, reason) => reports.push([i, reason]));
      assert.ok(got.equals(data));
      // A parity shard is only read (and so only found bad) when a data shard is missing and it is next in line.
      const read = shard < k || shard - k < missing.length;
      assert.deepEqual(reports, read ? [[shard, 'bitrot hash mismatch']] : []);
    });
  }

  it('reports a shard once, however many of its blocks are bad', async () => {
    const files = await encode(data, k, m, blockSize);
    let file = files[2];
    for (let b = 0; b < g.blocks; b++) file = flip(file, g.frameOffset(b) + HASH_SIZE + 7);
    files[2] = file;
    const reports: number[] = [];
    assert.ok((await decode(files, g, 0, size - 1, (i) => reports.push(i))).equals(data));
    assert.deepEqual(reports, [2]);
  });

  it('repairs m damaged shards and fails with ReadQuorum at m + 1', async () => {
    const files = await encode(data, k, m, blockSize);
    files[0] = flip(files[0], HASH_SIZE + 1);
    files[3] = flip(files[3], g.frameOffset(3) + 30);
    const reports: number[] = [];
    assert.ok((await decode(files, g, 0, size - 1, (i) => reports.push(i))).equals(data));
    assert.deepEqual(reports.sort(), [0, 3]);
    // m + 1 bad shards within one block (block 3: shards 0, 3 and 5) cannot be reconstructed.
    files[0] = flip(files[0], g.frameOffset(3) + 30);
    files[5] = flip(files[5], g.frameOffset(3) + 30);
    await assert.rejects(decode(files, g), { code: 'ReadQuorum' });
  });

  it('reports a truncated shard file as a short read', async () => {
    const files = await encode(data, k, m, blockSize);
    files[1] = files[1].subarray(0, g.frameOffset(2) + 10);
    const reports: [number, string][] = [];
    assert.ok((await decode(files, g, 0, size - 1, (i, reason) => reports.push([i, reason]))).equals(data));
    assert.deepEqual(reports, [[1, 'short read']]);
  });

  it('reports a source that throws, with its error', async () => {
    const files = await encode(data, k, m, blockSize);
    const sources = files.map((f, i) => new TestSource(f, i === 2 ? 'EIO on /dev/sdc' : undefined));
    const reports: [number, string][] = [];
    const out: Buffer[] = [];
    for await (const c of decodeRange(
      { geometry: g, sources, onBadShard: (i, r) => reports.push([i, r]) },
      0,
      size - 1,
    ))
      out.push(c);
    assert.ok(Buffer.concat(out).equals(data));
    assert.deepEqual(reports, [[2, 'EIO on /dev/sdc']]);
  });

  it('does not report the reads that closed sources refuse once the consumer left', async () => {
    // A GET the client aborted: its sources are closed while blocks read ahead still have reads in flight. Those
    // fail, which says nothing about the shards: no report (no warning, no heal), and no parity is tried.
    const files = await encode(data, k, m, blockSize);
    let closed = false;
    let refused = 0;
    let parityRefused = 0;
    const sources: ShardSource[] = files.map((f, i) => {
      const inner = new BufferSource(f);
      return {
        async readv(buffers: Buffer[], position: number): Promise<number> {
          await new Promise((r) => setTimeout(r, 10));
          if (closed) {
            refused++;
            if (i >= k) parityRefused++;
            throw new Error('shard source is closed');
          }
          return inner.readv(buffers, position);
        },
      };
    });
    const reports: [number, string][] = [];
    for await (const c of decodeRange(
      { geometry: g, sources, onBadShard: (i, r) => reports.push([i, r]) },
      0,
      size - 1,
    )) {
      assert.ok(c.equals(data.subarray(0, blockSize)));
      break;
    }
    closed = true;
    await new Promise((r) => setTimeout(r, 50)); // the reads in flight end
    assert.ok(refused >= k, `${refused} reads of blocks read ahead were refused`);
    assert.equal(parityRefused, 0, 'no parity shard is tried for a block nobody will read');
    assert.deepEqual(reports, []);
  });

  it('rebuilds the parity shards too when asked (healing)', async () => {
    const files = await encode(data, k, m, blockSize);
    const reader = new BlockReader({
      geometry: g,
      sources: files.map((f, i) => (i === 1 || i === 5 ? null : new BufferSource(f))),
    });
    for (let b = 0; b < g.blocks; b++) {
      const { data: d, parity, shard } = await reader.readBlock(b, true);
      for (let i = 0; i < k + m; i++) {
        const want = files[i].subarray(g.frameOffset(b) + HASH_SIZE, g.frameOffset(b) + HASH_SIZE + shard);
        const got =
          i < k
            ? d.subarray(i * shard, (i + 1) * shard)
            : parity.subarray((i - k) * shard, (i - k + 1) * shard);
        assert.ok(got.equals(want), `block ${b} shard ${i}`);
      }
    }
  });
});
