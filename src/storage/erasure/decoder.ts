/**
 * Streaming erasure decoder: reads each block from k healthy shards, checking every shard's bitrot hash, and
 * reconstructs missing or corrupt data shards from parity. Data shards are preferred, so a healthy read does no
 * decoding at all. A shard that fails (read error, short read, hash mismatch) is dropped for the rest of the stream
 * and reported through `onBadShard`, which is how reads trigger healing.
 */
import { storageError } from '../errors';
import { bits, checkShardHash, Geometry, HASH_SIZE, rsEncode } from './codec';

/** Where one shard index's frames come from. */
export interface ShardSource {
  readv(buffers: Buffer[], position: number): Promise<number>;
}

export interface DecodeOptions {
  geometry: Geometry;
  /** Sources by shard index (length k+m); null where the drive is offline or has no shard. */
  sources: (ShardSource | null)[];
  /** Called once per shard index found missing or corrupt. */
  onBadShard?: (shardIndex: number, reason: string) => void;
  /** Blocks read ahead of the consumer. */
  readAhead?: number;
}

/** Reads and verifies blocks of one erasure-coded stream. */
export class BlockReader {
  private readonly bad = new Set<number>();
  private readonly g: Geometry;
  /**
   * The consumer of `blocks` left (finished, failed or gave up): reads still in flight for blocks read ahead then
   * fail because the caller closes the sources, which says nothing about the shards, so such errors are not
   * reported (a bitrot hash mismatch still is), and no further shard is tried.
   */
  private stopped = false;

  constructor(private readonly opts: DecodeOptions) {
    this.g = opts.geometry;
    opts.sources.forEach((s, i) => s === null && this.bad.add(i));
  }

  private markBad(i: number, reason: string): void {
    if (this.bad.has(i)) return;
    this.bad.add(i);
    this.opts.onBadShard?.(i, reason);
  }

  /** Reads shard i of block b into `into` (hash verified); false if that shard is unusable. */
  private async readShard(i: number, b: number, into: Buffer, hash: Buffer): Promise<boolean> {
    const src = this.opts.sources[i];
    if (!src || this.bad.has(i)) return false;
    try {
      const n = await src.readv([hash, into], this.g.frameOffset(b));
      if (n !== HASH_SIZE + into.length) {
        this.markBad(i, 'short read');
        return false;
      }
    } catch (err) {
      if (!this.stopped) this.markBad(i, (err as Error).message);
      return false;
    }
    if (!checkShardHash(into, b, hash)) {
      this.markBad(i, 'bitrot hash mismatch');
      return false;
    }
    return true;
  }

  /**
   * Reads block b. Returns the data shards back to back (`k * shardLen` bytes, data first) and, when `withParity`,
   * all parity shards too, reconstructing whatever is missing. `need` names extra shards to rebuild (healing).
   */
  async readBlock(b: number, withParity = false): Promise<{ data: Buffer; parity: Buffer; shard: number }> {
    const { k, m } = this.g;
    const n = k + m;
    const shard = this.g.shardLen(b);
    const data = Buffer.allocUnsafe(shard * k);
    // Parity is only read (and so only allocated) when a data shard is missing or a heal needs it.
    let parityBuf: Buffer | undefined;
    const parity = (): Buffer => (parityBuf ??= Buffer.allocUnsafe(shard * m));
    const hashes = Buffer.allocUnsafe(HASH_SIZE * n);
    const view = (i: number): Buffer =>
      i < k
        ? data.subarray(i * shard, (i + 1) * shard)
        : parity().subarray((i - k) * shard, (i - k + 1) * shard);
    let present = 0;
    let count = 0;
    // Try shards in order (data first), k at a time, until k good ones are in or none are left to try.
    let next = 0;
    const want = withParity ? n : k;
    while (count < k || (withParity && next < n)) {
      const batch: number[] = [];
      while (next < n && batch.length < Math.max(want - count, 1)) {
        if (!this.bad.has(next)) batch.push(next);
        next++;
      }
      if (batch.length === 0) break;
      const ok = await Promise.all(
        batch.map((i) => this.readShard(i, b, view(i), hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE))),
      );
      if (this.stopped) throw storageError('ReadQuorum', `block ${b}: the reader stopped`); // nobody will use it
      batch.forEach((i, j) => {
        if (ok[j]) {
          present |= 1 << i;
          count++;
        }
      });
    }
    if (count < k) {
      throw storageError('ReadQuorum', `block ${b}: only ${count} of ${k} needed shards readable`);
    }
    const targets = withParity ? bits(0, n) & ~present : bits(0, k) & ~present;
    if (targets !== 0) await rsEncode(k, m, present, targets, data, parity(), shard);
    return { data, parity: parityBuf ?? Buffer.alloc(0), shard };
  }

  /** Data bytes of blocks [from, to] as a stream of Buffers, reading `readAhead` blocks ahead. */
  async *blocks(from: number, to: number): AsyncGenerator<Buffer> {
    const ahead = Math.max(1, this.opts.readAhead ?? 4);
    const queue: Promise<Buffer>[] = [];
    let next = from;
    const fetch = (): void => {
      const b = next++;
      const p = this.readBlock(b).then(({ data }) => data.subarray(0, this.g.blockLen(b)));
      p.catch(() => undefined); // observed when awaited below; this only prevents an unhandled rejection
      queue.push(p);
    };
    try {
      while (next <= to && queue.length < ahead) fetch();
      while (queue.length > 0) {
        const buf = await queue.shift()!;
        if (next <= to) fetch();
        yield buf;
      }
    } finally {
      this.stopped = true;
    }
  }
}

/** Bytes [start, end] (inclusive) of one erasure-coded stream. */
export async function* decodeRange(opts: DecodeOptions, start: number, end: number): AsyncGenerator<Buffer> {
  const g = opts.geometry;
  if (g.size === 0 || end < start) return;
  const first = Math.floor(start / g.blockSize);
  const last = Math.floor(end / g.blockSize);
  const reader = new BlockReader(opts);
  let b = first;
  for await (const block of reader.blocks(first, last)) {
    const lo = b === first ? start - first * g.blockSize : 0;
    const hi = b === last ? end - last * g.blockSize + 1 : block.length;
    yield lo === 0 && hi === block.length ? block : block.subarray(lo, hi);
    b++;
  }
}
