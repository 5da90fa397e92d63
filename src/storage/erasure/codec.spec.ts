/** codec.ts: shard sizes, stream geometry, bitrot framing helpers and default parity. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xxh64 } from '@node-rs/xxhash';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import {
  bits,
  checkShardHash,
  defaultParity,
  Geometry,
  HASH_SIZE,
  MAX_DATA_SHARDS,
  MAX_PARITY_SHARDS,
  rsEncode,
  rsParitySync,
  shardSize,
  writeShardHash,
} from './codec';
import { encodeStream, MemorySink } from './encoder';

const MiB = 1024 * 1024;

describe('shardSize', () => {
  const table: [blockLen: number, k: number, expected: number][] = [
    [0, 2, 8],
    [1, 2, 8],
    [16, 2, 8],
    [17, 2, 16],
    [1, 12, 8],
    [96, 12, 8],
    [97, 12, 16],
    [MiB - 1, 2, 524288],
    [MiB, 2, 524288],
    [MiB + 1, 2, 524296],
    [MiB, 4, 262144],
    [MiB, 8, 131072],
    [MiB, 12, 87384],
    [MiB - 1, 12, 87384],
  ];
  for (const [len, k, expected] of table) {
    it(`${len} bytes over ${k} data shards -> ${expected}`, () => {
      assert.equal(shardSize(len, k), expected);
    });
  }

  it('is the smallest multiple of 8 (at least 8) that holds a k-th of the block', () => {
    for (const k of [1, 2, 3, 4, 5, 7, 8, 12, 16]) {
      for (let len = 0; len < 600; len++) {
        const s = shardSize(len, k);
        assert.equal(s % 8, 0);
        assert.ok(s * k >= len, `${len}/${k}`);
        assert.ok(s === 8 || (s - 8) * k < len, `${len}/${k} is not minimal: ${s}`);
      }
    }
  });
});

describe('Geometry', () => {
  // [k, object size, blocks, shard bytes of the last block, shard file size] for 1 MiB blocks.
  const table: [number, number, number, number, number][] = [
    [2, 0, 0, 0, 0],
    [2, 1, 1, 8, 16],
    [2, MiB - 1, 1, 524288, 524296],
    [2, MiB, 1, 524288, 524296],
    [2, MiB + 1, 2, 8, 524312],
    [4, 0, 0, 0, 0],
    [4, 1, 1, 8, 16],
    [4, MiB - 1, 1, 262144, 262152],
    [4, MiB, 1, 262144, 262152],
    [4, MiB + 1, 2, 8, 262168],
    [8, 0, 0, 0, 0],
    [8, 1, 1, 8, 16],
    [8, MiB - 1, 1, 131072, 131080],
    [8, MiB, 1, 131072, 131080],
    [8, MiB + 1, 2, 8, 131096],
    [12, 0, 0, 0, 0],
    [12, 1, 1, 8, 16],
    [12, MiB - 1, 1, 87384, 87392],
    [12, MiB, 1, 87384, 87392],
    [12, MiB + 1, 2, 8, 87408],
  ];

  for (const [k, size, blocks, lastShard, fileSize] of table) {
    const m = Math.min(k, 4);
    it(`k=${k}, ${size} bytes: ${blocks} blocks, shard files of ${fileSize} bytes, as encodeStream writes`, async () => {
      const g = new Geometry(k, m, MiB, size);
      assert.equal(g.blocks, blocks);
      assert.equal(g.fullShard, shardSize(MiB, k));
      assert.equal(g.fullFrame, HASH_SIZE + g.fullShard);
      if (blocks > 0) {
        assert.equal(g.shardLen(blocks - 1), lastShard);
        assert.equal(g.blockLen(blocks - 1), size - (blocks - 1) * MiB);
        for (let b = 0; b < blocks; b++) assert.equal(g.frameOffset(b), b * g.fullFrame);
      }
      assert.equal(g.shardFileSize(), fileSize);

      const data = randomBytes(seededRandom(size + k), size);
      const sinks = Array.from({ length: k + m }, () => new MemorySink());
      const result = await encodeStream([data], { k, m, blockSize: MiB, sinks, writeQuorum: k + m });
      assert.equal(result.size, size);
      for (const [i, sink] of sinks.entries()) assert.equal(sink.contents().length, fileSize, `shard ${i}`);
    });
  }

  it('matches odd block sizes too', async () => {
    for (const [k, m, blockSize, size] of [
      [3, 2, 1000, 2501],
      [5, 3, 777, 777 * 4],
      [7, 1, 100, 1],
    ]) {
      const g = new Geometry(k, m, blockSize, size);
      const sinks = Array.from({ length: k + m }, () => new MemorySink());
      await encodeStream([Buffer.alloc(size, 7)], {
        k,
        m,
        blockSize,
        sinks,
        writeQuorum: k + m,
        inFlight: 1,
      });
      for (const sink of sinks)
        assert.equal(sink.contents().length, g.shardFileSize(), `${k}+${m}/${blockSize}`);
    }
  });
});

describe('bitrot framing', () => {
  it('writes xxh64 of the shard seeded with the block index (u64 LE) and checks it', () => {
    const shard = Buffer.from('some shard bytes');
    const frame = Buffer.alloc(HASH_SIZE + 4);
    writeShardHash(shard, 3, frame, 4);
    assert.equal(frame.readBigUInt64LE(4), xxh64(shard, 3n));
    assert.equal(checkShardHash(shard, 3, frame, 4), true);
    assert.equal(checkShardHash(shard, 2, frame, 4), false, 'a frame checked as another block fails');
    const flipped = Buffer.from(shard);
    flipped[3] ^= 0x10;
    assert.equal(checkShardHash(flipped, 3, frame, 4), false);
  });
});

describe('rsEncode', () => {
  it('rebuilds any lost shards from any k others', async () => {
    const k = 4;
    const m = 2;
    const shard = 64;
    const data = randomBytes(seededRandom(1), k * shard);
    const parity = Buffer.alloc(m * shard);
    await rsEncode(k, m, bits(0, k), bits(k, k + m), data, parity, shard);
    for (const lost of [
      [0, 1],
      [2, 5],
      [3, 4],
      [4, 5],
    ]) {
      const d = Buffer.from(data);
      const p = Buffer.from(parity);
      for (const i of lost) (i < k ? d : p).fill(0, (i % k) * shard, ((i % k) + 1) * shard);
      const present = bits(0, k + m) & ~lost.reduce((mask, i) => mask | (1 << i), 0);
      await rsEncode(k, m, present, bits(0, k + m) & ~present, d, p, shard);
      assert.ok(d.equals(data), `data after losing ${lost.join(',')}`);
      assert.ok(p.equals(parity), `parity after losing ${lost.join(',')}`);
    }
  });

  it('builds bit masks', () => {
    assert.equal(bits(0, 0), 0);
    assert.equal(bits(0, 4), 0b1111);
    assert.equal(bits(4, 6), 0b110000);
  });
});

describe('rsParitySync', () => {
  /** Parity from the addon, into a buffer that starts as garbage (both paths must overwrite every byte). */
  async function nativeParity(k: number, m: number, data: Buffer, shard: number): Promise<Buffer> {
    const parity = randomBytes(seededRandom(shard), m * shard);
    await rsEncode(k, m, bits(0, k), bits(k, k + m), data, parity, shard);
    return parity;
  }

  /** `len` bytes at byte offset `skew` of a larger buffer (skew 0: 8-aligned; otherwise the byte-wise path). */
  function placed(bytes: Buffer, skew: number): Buffer {
    const backing = Buffer.alloc(bytes.length + 16);
    const view = backing.subarray(skew, skew + bytes.length);
    bytes.copy(view);
    return view;
  }

  it('computes exactly the addon parity for every k+m it supports, aligned or not', async () => {
    const rand = seededRandom(7);
    for (let k = 1; k <= MAX_DATA_SHARDS; k++) {
      for (let m = 1; m <= MAX_PARITY_SHARDS; m++) {
        // Packets (shard / 8) of 1 and 2 bytes, up to 64, up to 512 (unaligned ones go through the padded copy),
        // and above 512 (unaligned ones go byte by byte).
        const shards = [
          8,
          16,
          8 * randomInt(rand, 3, 64),
          8 * randomInt(rand, 65, 512),
          8 * randomInt(rand, 513, 640),
        ];
        for (const shard of shards) {
          const data = randomBytes(rand, k * shard);
          const expected = await nativeParity(k, m, data, shard);
          for (const skew of [0, 3]) {
            const parity = placed(randomBytes(rand, m * shard), skew);
            rsParitySync(k, m, placed(data, skew), parity, shard);
            assert.ok(parity.equals(expected), `k=${k} m=${m} shard=${shard} skew=${skew}`);
          }
        }
      }
    }
  });

  it('matches the addon where it cuts packets smaller than shard / w (large shards, many data shards)', async () => {
    // (1 + k*w) * shard/w > 1 MiB makes the addon halve its packet size, which changes the parity bytes.
    const k = 20;
    const m = 4;
    const shard = 64 * 1024;
    const data = randomBytes(seededRandom(11), k * shard);
    const parity = Buffer.alloc(m * shard);
    rsParitySync(k, m, data, parity, shard);
    assert.ok(parity.equals(await nativeParity(k, m, data, shard)));
  });

  it('gives parity the addon decodes: any k shards rebuild the rest', async () => {
    const k = 4;
    const m = 2;
    const shard = 1024;
    const data = randomBytes(seededRandom(3), k * shard);
    const parity = Buffer.alloc(m * shard);
    rsParitySync(k, m, data, parity, shard);
    const d = Buffer.from(data);
    d.fill(0, 0, 2 * shard);
    await rsEncode(k, m, bits(2, k + m), bits(0, 2), d, Buffer.from(parity), shard);
    assert.ok(d.equals(data));
  });
});

describe('defaultParity', () => {
  const table: [number, number][] = [
    [2, 1],
    [3, 1],
    [4, 2],
    [5, 2],
    [6, 3],
    [7, 3],
    [8, 4],
    [12, 4],
    [16, 4],
  ];
  for (const [drives, parity] of table) {
    it(`${drives} drives -> parity ${parity}`, () => assert.equal(defaultParity(drives), parity));
  }
});
