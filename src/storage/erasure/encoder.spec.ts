/**
 * encoder.ts: the stream is cut into blocks and every shard frame lands at its position; declared lengths are
 * enforced; failing sinks are dropped until the write quorum is lost.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../../test/fixtures/prng';
import { checkShardHash, Geometry, HASH_SIZE } from './codec';
import { BufferSource } from './sources';
import { decodeRange } from './decoder';
import { encodeInline, encodeStream, MemorySink, type ShardSink } from './encoder';
import { Md5Hasher } from '../../common/md5-hasher';

/** A sink that honours positions, growing as needed; optionally fails from its `failFrom`-th write on. */
class PositionalSink implements ShardSink {
  buf = Buffer.alloc(0);
  writes = 0;
  failedWrites = 0;

  constructor(private readonly failFrom = Infinity) {}

  async write(frames: Buffer[], position: number): Promise<void> {
    this.writes++;
    if (this.writes >= this.failFrom) {
      this.failedWrites++;
      throw new Error('disk on fire');
    }
    const data = Buffer.concat(frames);
    if (this.buf.length < position + data.length) {
      const grown = Buffer.alloc(position + data.length);
      this.buf.copy(grown);
      this.buf = grown;
    }
    data.copy(this.buf, position);
  }
}

/** Yields `data` in chunks of the given sizes (cycled). */
function* chunks(data: Buffer, sizes: number[]): Generator<Buffer> {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    yield data.subarray(off, off + n);
    off += n;
  }
}

/** Reassembles the object from the data shards of positional shard files, verifying every frame's hash. */
function reassemble(files: Buffer[], g: Geometry): Buffer {
  const out: Buffer[] = [];
  for (let b = 0; b < g.blocks; b++) {
    const shard = g.shardLen(b);
    const parts: Buffer[] = [];
    for (let i = 0; i < g.k + g.m; i++) {
      const frame = files[i].subarray(g.frameOffset(b), g.frameOffset(b) + HASH_SIZE + shard);
      assert.equal(frame.length, HASH_SIZE + shard, `frame ${b} of shard ${i}`);
      assert.ok(checkShardHash(frame.subarray(HASH_SIZE), b, frame), `hash of frame ${b} of shard ${i}`);
      if (i < g.k) parts.push(frame.subarray(HASH_SIZE));
    }
    out.push(Buffer.concat(parts).subarray(0, g.blockLen(b)));
  }
  return Buffer.concat(out);
}

describe('encodeStream', () => {
  const configs: [k: number, m: number, blockSize: number, size: number, chunkSizes: number[]][] = [
    [2, 1, 64, 1, [1]],
    [2, 2, 64, 64, [7, 64, 1]],
    [4, 2, 1000, 3500, [333]],
    [4, 2, 1024, 10 * 1024 + 5, [4096, 1, 100]],
    [6, 3, 4096, 4096 * 5, [65536]],
    [12, 4, 4800, 50_000, [999]],
  ];
  for (const [k, m, blockSize, size, sizes] of configs) {
    it(`${k}+${m}, ${size} bytes in ${blockSize}-byte blocks: every frame at its position`, async () => {
      const data = randomBytes(seededRandom(size), size);
      const sinks = Array.from({ length: k + m }, () => new PositionalSink());
      const seen: Buffer[] = [];
      const result = await encodeStream(chunks(data, sizes), {
        k,
        m,
        blockSize,
        sinks,
        writeQuorum: k,
        onChunk: (c) => seen.push(Buffer.from(c)),
      });
      assert.equal(result.size, size);
      assert.deepEqual([...result.failed], []);
      const g = new Geometry(k, m, blockSize, size);
      for (const s of sinks) assert.equal(s.buf.length, g.shardFileSize());
      assert.ok(
        reassemble(
          sinks.map((s) => s.buf),
          g,
        ).equals(data),
      );
      assert.ok(Buffer.concat(seen).equals(data), 'onChunk saw every byte in order');
    });
  }

  it('accepts an async source and an empty one', async () => {
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('abc');
      await new Promise((r) => setTimeout(r, 1));
      yield Buffer.from('def');
    }
    const sinks = Array.from({ length: 3 }, () => new PositionalSink());
    assert.equal((await encodeStream(source(), { k: 2, m: 1, blockSize: 4, sinks, writeQuorum: 2 })).size, 6);
    const empty = Array.from({ length: 3 }, () => new PositionalSink());
    assert.equal(
      (await encodeStream([], { k: 2, m: 1, blockSize: 4, sinks: empty, writeQuorum: 2 })).size,
      0,
    );
    assert.deepEqual(
      empty.map((s) => s.writes),
      [0, 0, 0],
    );
  });

  it('computes the MD5 off-thread over every block in order', async () => {
    const hasher = new Md5Hasher();
    try {
      const data = randomBytes(seededRandom(5), 10_000);
      const md5 = hasher.open();
      const sinks = Array.from({ length: 6 }, () => new PositionalSink());
      await encodeStream(chunks(data, [777]), { k: 4, m: 2, blockSize: 1024, sinks, writeQuorum: 4, md5 });
      assert.equal(await md5.digest(), createHash('md5').update(data).digest('hex'));
      assert.ok(
        reassemble(
          sinks.map((s) => s.buf),
          new Geometry(4, 2, 1024, data.length),
        ).equals(data),
      );
    } finally {
      await hasher.close();
    }
  });

  describe('expectedSize', () => {
    const run = (data: Buffer, expectedSize: number, sizes = [100]) =>
      encodeStream(chunks(data, sizes), {
        k: 2,
        m: 1,
        blockSize: 256,
        sinks: [new PositionalSink(), new PositionalSink(), new PositionalSink()],
        writeQuorum: 2,
        expectedSize,
      });
    const data = Buffer.alloc(1000, 1);

    it('accepts exactly the declared length, or any length when it is -1', async () => {
      assert.equal((await run(data, 1000)).size, 1000);
      assert.equal((await run(data, -1)).size, 1000);
    });

    const cases: [string, number, number[]][] = [
      ['a body one byte short', 1001, [100]],
      ['a body ending mid-block', 2000, [100]],
      ['a body ending on a block boundary', 1024, [256]],
      ['a body one byte long', 999, [100]],
      ['a body long by a whole chunk', 900, [100]],
      ['a body long within its first chunk', 10, [1000]],
      ['a non-empty body declared empty', 0, [1]],
    ];
    for (const [name, expected, sizes] of cases) {
      it(`fails ${name} with IncompleteBody`, async () => {
        await assert.rejects(run(data, expected, sizes), { code: 'IncompleteBody' });
      });
    }

    it('stops reading a body as soon as it runs past its length', async () => {
      let pulled = 0;
      function* endless(): Generator<Buffer> {
        for (;;) {
          pulled++;
          yield Buffer.alloc(100);
        }
      }
      const sinks = [new PositionalSink(), new PositionalSink(), new PositionalSink()];
      await assert.rejects(
        encodeStream(endless(), { k: 2, m: 1, blockSize: 256, sinks, writeQuorum: 2, expectedSize: 550 }),
        {
          code: 'IncompleteBody',
        },
      );
      assert.equal(pulled, 6);
    });
  });

  describe('failing sinks (4+2, write quorum 4)', () => {
    const data = randomBytes(seededRandom(9), 8 * 1024);
    const encode = (sinks: (ShardSink | null)[]) =>
      encodeStream(chunks(data, [1000]), { k: 4, m: 2, blockSize: 1024, sinks, writeQuorum: 4, inFlight: 2 });

    const cases: [name: string, failFrom: number[], ok: boolean][] = [
      ['one sink failing from the start', [1, 0, 0, 0, 0, 0], true],
      ['two sinks failing mid-stream', [0, 0, 3, 0, 5, 0], true],
      ['three sinks failing from the start', [1, 1, 0, 0, 1, 0], false],
      ['a third sink failing on the last block', [1, 0, 2, 0, 0, 8], false],
    ];
    for (const [name, failFrom, ok] of cases) {
      it(`${ok ? 'succeeds' : 'fails with WriteQuorum'} with ${name}`, async () => {
        const sinks = failFrom.map((f) => new PositionalSink(f === 0 ? Infinity : f));
        const failing = failFrom.flatMap((f, i) => (f > 0 ? [i] : []));
        if (ok) {
          const result = await encode(sinks);
          assert.deepEqual([...result.failed].sort(), failing);
          const g = new Geometry(4, 2, 1024, data.length);
          for (const [i, s] of sinks.entries())
            if (!failing.includes(i)) assert.equal(s.buf.length, g.shardFileSize());
        } else {
          await assert.rejects(encode(sinks), { code: 'WriteQuorum' });
        }
        for (const i of failing) {
          assert.equal(sinks[i].failedWrites, 1, `a failed sink (${i}) is dropped, not written again`);
        }
      });
    }

    it('fails with WriteQuorum before reading the source when too few sinks are present', async () => {
      let pulled = false;
      function* source(): Generator<Buffer> {
        pulled = true;
        yield data;
      }
      const sinks = [null, null, null, new PositionalSink(), new PositionalSink(), new PositionalSink()];
      await assert.rejects(encodeStream(source(), { k: 4, m: 2, blockSize: 1024, sinks, writeQuorum: 4 }), {
        code: 'WriteQuorum',
      });
      assert.equal(pulled, false);
    });

    it('counts sinks that are absent from the start as failed', async () => {
      const sinks = [
        new PositionalSink(),
        null,
        new PositionalSink(),
        new PositionalSink(),
        null,
        new PositionalSink(),
      ];
      const result = await encode(sinks);
      assert.deepEqual([...result.failed].sort(), [1, 4]);
    });
  });
});

describe('MemorySink', () => {
  it('keeps what it is given, copied out of the caller’s (reused) buffers', async () => {
    const memory = new MemorySink();
    const sink: ShardSink = memory;
    const frame = Buffer.from('hash0123shard');
    await sink.write([frame.subarray(0, 8), frame.subarray(8)], 0);
    frame.fill(0);
    assert.equal(memory.contents().toString(), 'hash0123shard');
  });

  // ShardSink.write takes a position and the encoder writes blocks concurrently (inFlight), so frames can arrive
  // out of order; a sink that appends instead of placing them swaps blocks. Both frames carry valid hashes, so the
  // swap is not even detected on read (see the pool spec: inline objects of several blocks come back scrambled).
  it('places frames at their position even when they arrive out of order', async () => {
    const memory = new MemorySink();
    const sink: ShardSink = memory;
    await sink.write([Buffer.from('BBBB')], 4);
    await sink.write([Buffer.from('AAAA')], 0);
    assert.equal(memory.contents().toString(), 'AAAABBBB');
  });

  it('round-trips multi-block streams written with the default concurrency', async () => {
    const k = 4;
    const m = 2;
    const blockSize = 4096;
    const size = 30 * blockSize + 123;
    const TRIALS = 60;
    let scrambled = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const data = randomBytes(seededRandom(trial), size);
      const sinks = Array.from({ length: k + m }, () => new MemorySink());
      await encodeStream([data], { k, m, blockSize, sinks, writeQuorum: k + m });
      const g = new Geometry(k, m, blockSize, size);
      const out: Buffer[] = [];
      try {
        for await (const c of decodeRange(
          { geometry: g, sources: sinks.map((s) => new BufferSource(s.contents())) },
          0,
          size - 1,
        ))
          out.push(c);
        if (!Buffer.concat(out).equals(data)) scrambled++;
      } catch {
        scrambled++;
      }
    }
    assert.equal(scrambled, 0, `${scrambled} of ${TRIALS} streams did not decode to their data`);
  });
});

describe('encodeInline', () => {
  // Inline objects are encoded by encodeInline and read by the same decoder as streamed ones: its frames must be the
  // very bytes encodeStream writes, for parity computed on the event loop (up to 32 KiB) and on the libuv pool.
  it('writes the frames encodeStream writes, for every size class of a one-block body', async () => {
    const geometries = [
      [4, 2],
      [2, 1],
      [3, 3],
      [8, 4],
      [1, 1],
    ];
    const sizes = [1, 2, 3, 7, 64, 4095, 4096, 4097, 32 * 1024, 32 * 1024 + 1, 100_000, 128 * 1024];
    const blockSize = 1024 * 1024;
    for (const [k, m] of geometries) {
      for (const size of sizes) {
        const data = randomBytes(seededRandom(size * 31 + k), size);
        const sinks = Array.from({ length: k + m }, () => new MemorySink());
        await encodeStream([data], { k, m, blockSize, sinks, writeQuorum: k + m, expectedSize: size });
        const streams = await encodeInline(data, k, m, blockSize);
        assert.equal(streams.length, k + m);
        streams.forEach((s, i) =>
          assert.ok(s.equals(sinks[i].contents()), `k=${k} m=${m} size=${size}: shard ${i} differs`),
        );
      }
    }
  });

  it('gives empty streams for an empty body, and encodes a body of several blocks as encodeStream does', async () => {
    assert.deepEqual(
      (await encodeInline(Buffer.alloc(0), 4, 2, 4096)).map((s) => s.length),
      [0, 0, 0, 0, 0, 0],
    );
    const data = randomBytes(seededRandom(7), 3 * 4096 + 5);
    const sinks = Array.from({ length: 6 }, () => new MemorySink());
    await encodeStream([data], { k: 4, m: 2, blockSize: 4096, sinks, writeQuorum: 6 });
    const streams = await encodeInline(data, 4, 2, 4096);
    streams.forEach((s, i) => assert.ok(s.equals(sinks[i].contents()), `shard ${i} differs`));
  });
});
