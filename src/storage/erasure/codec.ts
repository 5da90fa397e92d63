/**
 * Reed-Solomon through the native `@ronomon/reed-solomon` addon (Cauchy matrices, runs on the libuv pool so the
 * event loop keeps streaming while blocks encode; small blocks get their parity on the event loop from the same
 * matrices, see rsParitySync), plus the block geometry and the bitrot framing every shard uses.
 *
 * Geometry: object data is cut into blocks of `blockSize` bytes (the last one shorter). A block of L bytes becomes
 * k data shards of `shardSize(L, k)` bytes each (L split in order, zero-padded to a multiple of 8 as the codec
 * requires) and m parity shards of the same size. Shard i of every block goes, in block order, to one shard file.
 *
 * Bitrot framing: each shard block is stored as a frame `xxh64(shard, seed = block index) (u64 LE, 8 bytes) || shard`.
 * xxh64 runs at ~12 GB/s here, so every read verifies every byte it returns at a small fraction of the cost of the
 * disk read; seeding with the block index means a frame found at the wrong offset fails its check too.
 */
import { xxh64 } from '@node-rs/xxhash';

// The addon ships no types; this is its whole surface as documented in its README.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RS = require('@ronomon/reed-solomon') as {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): unknown;
  encode(
    context: unknown,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    callback: (error?: Error) => void,
  ): void;
};

/** Bytes of the bitrot hash in front of every shard block. */
export const HASH_SIZE = 8;
/** Largest data / parity shard counts the codec supports. */
export const MAX_DATA_SHARDS = RS.MAX_K;
export const MAX_PARITY_SHARDS = RS.MAX_M;

const contexts = new Map<string, unknown>();

/** A cached codec context for k+m (contexts are immutable and safe to share across concurrent calls). */
function context(k: number, m: number): unknown {
  const id = `${k}+${m}`;
  let ctx = contexts.get(id);
  if (!ctx) {
    ctx = RS.create(k, m);
    contexts.set(id, ctx);
  }
  return ctx;
}

/** Shard size for a block of `blockLen` bytes over k data shards. */
export function shardSize(blockLen: number, k: number): number {
  return Math.max(8, Math.ceil(Math.ceil(blockLen / k) / 8) * 8);
}

/** Geometry of one erasure-coded stream (one part). */
export class Geometry {
  readonly fullShard: number;
  readonly fullFrame: number;
  readonly blocks: number;
  readonly lastBlockLen: number;

  constructor(
    readonly k: number,
    readonly m: number,
    readonly blockSize: number,
    readonly size: number,
  ) {
    this.fullShard = shardSize(blockSize, k);
    this.fullFrame = HASH_SIZE + this.fullShard;
    this.blocks = Math.ceil(size / blockSize);
    this.lastBlockLen = size - (this.blocks - 1) * blockSize;
  }

  /** Data bytes in block i. */
  blockLen(i: number): number {
    return i === this.blocks - 1 ? this.lastBlockLen : this.blockSize;
  }

  /** Shard bytes of block i. */
  shardLen(i: number): number {
    return i === this.blocks - 1 ? shardSize(this.lastBlockLen, this.k) : this.fullShard;
  }

  /** Offset of block i's frame in a shard file (all earlier blocks are full). */
  frameOffset(i: number): number {
    return i * this.fullFrame;
  }

  /** Size of a whole shard file. */
  shardFileSize(): number {
    if (this.blocks === 0) return 0;
    return (this.blocks - 1) * this.fullFrame + HASH_SIZE + this.shardLen(this.blocks - 1);
  }
}

/**
 * Computes `targets` shards (bit i = shard i, parity at k..k+m-1) from `sources` in place. `data` holds the k data
 * shards back to back and `parity` the m parity shards, each `shard` bytes.
 */
export function rsEncode(
  k: number,
  m: number,
  sources: number,
  targets: number,
  data: Buffer,
  parity: Buffer,
  shard: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    RS.encode(context(k, m), sources, targets, data, 0, shard * k, parity, 0, shard * m, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

/**
 * Blocks of at most this many data bytes get their parity on the event loop (`rsParitySync`) instead of the libuv
 * pool: for a small block the pool's hand-off (a thread wake-up and a completion callback) costs more than the XORs.
 */
export const SYNC_PARITY_MAX_BYTES = 32 * 1024;

/**
 * Computes the m parity shards of k data shards on this thread, byte for byte what `rsEncode` computes for
 * `sources = bits(0, k), targets = bits(k, k + m)` (`codec.spec.ts` checks that for every k+m the addon supports).
 *
 * It reads the addon's own encoding bitmatrix from the codec context (a Buffer `[w, k, m, bitmatrix...]`) and applies
 * it as the addon's `dot` does: each shard is cut into w packets of `chunk` bytes, and packet a of parity shard r is the
 * XOR of the data packets whose bit is set in row r. `data` holds the k shards back to back, `parity` the m shards.
 */
export function rsParitySync(k: number, m: number, data: Buffer, parity: Buffer, shard: number): void {
  const ctx = context(k, m) as Buffer;
  const w = ctx[0];
  const chunk = dotChunkSize(w, k, shard);
  const rowBits = k * w * w;
  const words = chunk % 4 === 0 && data.byteOffset % 4 === 0 && parity.byteOffset % 4 === 0;
  if (!words && chunk <= PADDED_MAX_CHUNK) {
    paddedParity(ctx, k, m, data, parity, shard, chunk);
    return;
  }
  const src = words ? new Int32Array(data.buffer, data.byteOffset, (shard * k) >> 2) : null;
  const dst = words ? new Int32Array(parity.buffer, parity.byteOffset, (shard * m) >> 2) : null;
  for (let r = 0; r < m; r++) {
    const row = 3 + r * rowBits;
    for (let off = 0; off < shard; off += w * chunk) {
      let column = 0;
      for (let a = 0; a < w; a++) {
        const target = r * shard + off + a * chunk;
        let first = true;
        for (let b = 0; b < k; b++) {
          for (let c = 0; c < w; c++, column++) {
            if (ctx[row + column] === 0) continue;
            const source = b * shard + off + c * chunk;
            if (first) data.copy(parity, target, source, source + chunk);
            else if (src && dst) xorWords(src, source >> 2, dst, target >> 2, chunk >> 2);
            else xorBytes(data, source, parity, target, chunk);
            first = false;
          }
        }
      }
    }
  }
}

/**
 * Below this packet size, packets that are not 4-byte aligned (a packet size that is not a multiple of 4, as a 4 KiB
 * body on three data shards gives, or a body at an odd offset) are XORed as words in an aligned copy rather than
 * byte by byte: for small packets the byte loop's cost per packet dominates (measured on this host: 4 KiB on 3+3,
 * 171-byte packets, 61 us byte by byte against 23 us through the copy; at 1,250-byte packets bytes win, 90 against
 * 122 us, the copies costing more than the word loop saves).
 */
const PADDED_MAX_CHUNK = 512;

/**
 * rsParitySync for unaligned packets: each data packet is copied to a 4-byte-aligned slot of a scratch area, the
 * XORs run on words there, and the parity packets are copied back (the slots' padding bytes only ever meet other
 * padding bytes, and are never copied back). The bitmatrix walk repeats rsParitySync's on purpose: one walk shared
 * by both, over word indices with a word-copy loop for each first packet, made the aligned path slower (2+2, 4 KiB:
 * 10.9 against 7.1 us), since that path copies each first packet with Buffer.copy on the caller's buffers.
 */
function paddedParity(
  ctx: Buffer,
  k: number,
  m: number,
  data: Buffer,
  parity: Buffer,
  shard: number,
  chunk: number,
): void {
  const w = ctx[0];
  const rowBits = k * w * w;
  const packets = shard / chunk; // a multiple of w
  const stride = (chunk + 3) & ~3;
  const words = stride >> 2;
  const area = paddedScratch((k + m) * packets * stride);
  for (let i = 0; i < k * packets; i++) data.copy(area, i * stride, i * chunk, (i + 1) * chunk);
  const src = new Int32Array(area.buffer, area.byteOffset, k * packets * words);
  const out = k * packets * stride;
  const dst = new Int32Array(area.buffer, area.byteOffset + out, m * packets * words);
  const shardWords = packets * words;
  for (let r = 0; r < m; r++) {
    const row = 3 + r * rowBits;
    for (let group = 0; group < packets; group += w) {
      let column = 0;
      for (let a = 0; a < w; a++) {
        const target = r * shardWords + (group + a) * words;
        let first = true;
        for (let b = 0; b < k; b++) {
          for (let c = 0; c < w; c++, column++) {
            if (ctx[row + column] === 0) continue;
            const source = b * shardWords + (group + c) * words;
            if (first) copyWords(src, source, dst, target, words);
            else xorWords(src, source, dst, target, words);
            first = false;
          }
        }
      }
    }
  }
  for (let i = 0; i < m * packets; i++) {
    area.copy(parity, i * chunk, out + i * stride, out + i * stride + chunk);
  }
}

/** paddedParity's scratch area, reused (4-byte aligned: its own ArrayBuffer). */
let padded = Buffer.alloc(0);
function paddedScratch(size: number): Buffer {
  if (padded.length < size) padded = Buffer.allocUnsafeSlow(Math.max(size, 64 * 1024));
  return padded;
}

function copyWords(src: Int32Array, from: number, dst: Int32Array, to: number, count: number): void {
  for (let i = 0; i < count; i++) dst[to + i] = src[from + i];
}

/** The addon's packet size for a shard: shard / w, halved while the working set would spill a 1 MiB cache. */
function dotChunkSize(w: number, k: number, shard: number): number {
  let chunk = shard / w;
  while (chunk > 64 && chunk % 2 === 0 && (1 + k * w) * chunk > 1048576) chunk /= 2;
  return chunk;
}

function xorWords(src: Int32Array, from: number, dst: Int32Array, to: number, count: number): void {
  for (let i = 0; i < count; i++) dst[to + i] ^= src[from + i];
}

function xorBytes(src: Buffer, from: number, dst: Buffer, to: number, count: number): void {
  for (let i = 0; i < count; i++) dst[to + i] ^= src[from + i];
}

/** Bitmask with bits [from, to) set. */
export function bits(from: number, to: number): number {
  let mask = 0;
  for (let i = from; i < to; i++) mask |= 1 << i;
  return mask;
}

/** Writes the bitrot hash of block `block`'s shard into `into` at `offset` (8 bytes, LE). */
export function writeShardHash(shard: Buffer, block: number, into: Buffer, offset: number): void {
  into.writeBigUInt64LE(xxh64(shard, BigInt(block)), offset);
}

/** True when the 8-byte hash at `hash[offset]` is block `block`'s hash of the shard. */
export function checkShardHash(shard: Buffer, block: number, hash: Buffer, offset = 0): boolean {
  return hash.readBigUInt64LE(offset) === xxh64(shard, BigInt(block));
}

/** Default parity for a set size, as MinIO and RustFS choose it. */
export function defaultParity(setDriveCount: number): number {
  if (setDriveCount <= 3) return 1;
  if (setDriveCount <= 5) return 2;
  if (setDriveCount <= 7) return 3;
  return 4;
}
