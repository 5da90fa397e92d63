/**
 * Streaming erasure encoder: bytes in, one framed shard stream per drive out, in bounded memory.
 *
 * The source is cut into blocks as it arrives (one copy, into a pooled block buffer); each full block is encoded on
 * the libuv pool and its frames written with positional writes, so up to `inFlight` blocks encode and hit the disks
 * while the next block fills. Memory is `(inFlight + 1) * blockSize * (k + m) / k`, whatever the object size.
 *
 * Quorum: a sink that fails is dropped; the encode fails with WriteQuorum as soon as fewer than `writeQuorum`
 * sinks are still alive, and succeeds otherwise (the dropped drives are healed later).
 */
import { storageError } from '../errors';
import {
  bits,
  Geometry,
  HASH_SIZE,
  rsEncode,
  rsParitySync,
  shardSize,
  SYNC_PARITY_MAX_BYTES,
  writeShardHash,
} from './codec';
import type { Md5Stream } from '../../common/md5-hasher';

/** Where one shard index's frames go. */
export interface ShardSink {
  write(frames: Buffer[], position: number): Promise<void>;
}

export interface EncodeOptions {
  k: number;
  m: number;
  blockSize: number;
  /** Sinks by shard index (length k+m); null for drives already known to be offline. */
  sinks: (ShardSink | null)[];
  writeQuorum: number;
  /** Sees every source chunk in order, on this thread. */
  onChunk?: (chunk: Buffer) => void;
  /** Gets every block's data in order, hashed off-thread (the MD5 for the ETag). */
  md5?: Md5Stream;
  /** Fails with IncompleteBody when the stream ends short of, or runs past, this many bytes. */
  expectedSize?: number;
  /** Blocks encoding or writing concurrently. */
  inFlight?: number;
}

export interface EncodeResult {
  size: number;
  /** Shard indexes whose sink failed (their drives need healing). */
  failed: Set<number>;
}

interface Block {
  data: Buffer;
  parity: Buffer;
  hashes: Buffer;
}

/** Encodes `source` into the sinks. */
export async function encodeStream(
  source: AsyncIterable<Buffer> | Iterable<Buffer>,
  opts: EncodeOptions,
): Promise<EncodeResult> {
  const { k, m, blockSize } = opts;
  const n = k + m;
  const full = shardSize(blockSize, k);
  const maxInFlight = opts.inFlight ?? 3;
  const free: Block[] = [];
  const failed = new Set<number>();
  opts.sinks.forEach((s, i) => s === null && failed.add(i));
  if (n - failed.size < opts.writeQuorum) {
    throw storageError(
      'WriteQuorum',
      `only ${n - failed.size} of ${n} drives online, need ${opts.writeQuorum}`,
    );
  }
  const geometry = new Geometry(k, m, blockSize, blockSize);
  const pending: Promise<void>[] = [];
  let firstError: Error | undefined;

  // A body known to be shorter than a block (inline objects) gets buffers of its own size, not a block's.
  const known = opts.expectedSize !== undefined && opts.expectedSize >= 0 ? opts.expectedSize : blockSize;
  const cap = known < blockSize ? shardSize(Math.max(known, 1), k) : full;
  // Block data lives in shared memory so the MD5 worker can read it without a copy.
  const takeBlock = (): Block =>
    free.pop() ?? {
      data: opts.md5 ? Buffer.from(new SharedArrayBuffer(cap * k)) : Buffer.allocUnsafe(cap * k),
      parity: Buffer.allocUnsafe(cap * m),
      hashes: Buffer.allocUnsafe(HASH_SIZE * n),
    };

  const flush = async (
    block: Block,
    len: number,
    index: number,
    hashed: Promise<void> | undefined,
  ): Promise<void> => {
    const shard = shardSize(len, k);
    block.data.fill(0, len, shard * k);
    if (shard * k <= SYNC_PARITY_MAX_BYTES) rsParitySync(k, m, block.data, block.parity, shard);
    else await rsEncode(k, m, bits(0, k), bits(k, n), block.data, block.parity, shard);
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const s =
        i < k
          ? block.data.subarray(i * shard, (i + 1) * shard)
          : block.parity.subarray((i - k) * shard, (i - k + 1) * shard);
      writeShardHash(s, index, block.hashes, i * HASH_SIZE);
      frames.push(s);
    }
    const position = geometry.frameOffset(index);
    await Promise.all(
      opts.sinks.map(async (sink, i) => {
        if (sink === null || failed.has(i)) return;
        try {
          await sink.write([block.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE), frames[i]], position);
        } catch {
          failed.add(i);
        }
      }),
    );
    await hashed;
    free.push(block);
    if (n - failed.size < opts.writeQuorum) {
      throw storageError(
        'WriteQuorum',
        `${failed.size} of ${n} drives failed during write, need ${opts.writeQuorum}`,
      );
    }
  };

  const dispatch = async (block: Block, len: number, index: number): Promise<void> => {
    // Queued here, synchronously and in block order, so the MD5 sees the blocks in order.
    const hashed = opts.md5?.update(block.data.subarray(0, len));
    hashed?.catch(() => undefined);
    const p = flush(block, len, index, hashed);
    p.catch((err: unknown) => (firstError ??= err instanceof Error ? err : new Error(String(err))));
    pending.push(p);
    if (pending.length >= maxInFlight) await pending.shift();
    if (firstError !== undefined) throw firstError;
  };

  let block = takeBlock();
  let fill = 0;
  let size = 0;
  let index = 0;
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (opts.expectedSize !== undefined && opts.expectedSize >= 0 && size > opts.expectedSize) {
        throw storageError('IncompleteBody', 'request body is longer than its declared length');
      }
      opts.onChunk?.(buf);
      let off = 0;
      while (off < buf.length) {
        const take = Math.min(blockSize - fill, buf.length - off);
        buf.copy(block.data, fill, off, off + take);
        fill += take;
        off += take;
        if (fill === blockSize) {
          await dispatch(block, fill, index++);
          block = takeBlock();
          fill = 0;
        }
      }
    }
    if (opts.expectedSize !== undefined && opts.expectedSize >= 0 && size !== opts.expectedSize) {
      throw storageError('IncompleteBody', `request body ended after ${size} of ${opts.expectedSize} bytes`);
    }
    if (fill > 0) await dispatch(block, fill, index++);
    await Promise.all(pending);
    if (firstError !== undefined) throw firstError;
  } catch (err) {
    await Promise.allSettled(pending);
    throw err;
  }
  return { size, failed };
}

let scratchBuf = Buffer.alloc(0);

/** `size` bytes of the module's scratch buffer (grown on demand); only for work that does not await. */
function scratch(size: number): Buffer {
  if (scratchBuf.length < size) scratchBuf = Buffer.allocUnsafe(Math.max(size, 64 * 1024));
  return scratchBuf.subarray(0, size);
}

/**
 * The shard streams of a body kept in memory (an inline object): byte for byte what encodeStream writes for it.
 * A body that fits in one block (every inline object at the default sizes) is encoded in one step, without sinks, a
 * block pool or a promise per frame, its k + m streams sharing one buffer; a longer one goes through encodeStream.
 * Empty streams for an empty body.
 */
export async function encodeInline(data: Buffer, k: number, m: number, blockSize: number): Promise<Buffer[]> {
  const n = k + m;
  if (data.length === 0) return Array.from({ length: n }, () => Buffer.alloc(0));
  if (data.length > blockSize) {
    const sinks = Array.from({ length: n }, () => new MemorySink());
    await encodeStream([data], { k, m, blockSize, sinks, writeQuorum: n, expectedSize: data.length });
    return sinks.map((s) => s.contents());
  }
  const shard = shardSize(data.length, k);
  // The parity is computed in place on a copy of the body: synchronously (every inline object at the default
  // sizes) in a scratch buffer reused by every call, since nothing else runs until the frames are copied out.
  const sync = k * shard <= SYNC_PARITY_MAX_BYTES;
  const work = sync ? scratch(n * shard) : Buffer.allocUnsafe(n * shard);
  data.copy(work, 0);
  work.fill(0, data.length, k * shard);
  const shards = work.subarray(0, k * shard);
  const parity = work.subarray(k * shard);
  if (sync) rsParitySync(k, m, shards, parity, shard);
  else await rsEncode(k, m, bits(0, k), bits(k, n), shards, parity, shard);
  const frame = HASH_SIZE + shard;
  const out = Buffer.allocUnsafe(n * frame);
  const streams: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const s = work.subarray(i * shard, (i + 1) * shard);
    writeShardHash(s, 0, out, i * frame);
    s.copy(out, i * frame + HASH_SIZE);
    streams.push(out.subarray(i * frame, (i + 1) * frame));
  }
  return streams;
}

/** A sink that keeps frames in memory (inline objects), placed by position like a file. */
export class MemorySink implements ShardSink {
  private buf = Buffer.alloc(0);
  private length = 0;

  async write(frames: Buffer[], position: number): Promise<void> {
    const size = frames.reduce((n, f) => n + f.length, 0);
    const end = position + size;
    if (end > this.buf.length) {
      const grown = Buffer.alloc(Math.max(end, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    let at = position;
    // Copied out: the encoder reuses its block buffers.
    for (const f of frames) at += f.copy(this.buf, at);
    this.length = Math.max(this.length, end);
  }

  /** The shard stream written so far. */
  contents(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}
