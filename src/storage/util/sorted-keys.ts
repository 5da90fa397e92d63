/**
 * A sorted set of object keys in S3 byte order (layout.ts compareKeys), for listing what a drive's metadata log
 * holds. Chunked like a B-tree's leaves: keys live in sorted chunks of at most CHUNK_MAX, so an insert or a delete
 * moves at most one chunk's worth of references instead of the whole set, and a lookup is two binary searches.
 */
import { compareKeys } from '../layout';

const CHUNK_MAX = 512;

export class SortedKeys {
  private chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Index of the first chunk whose last key is >= key (chunks.length when none is). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (compareKeys(chunk[chunk.length - 1], key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds a key; returns false when it was already there. */
  add(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      return true;
    }
    const c = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[c];
    const i = lowerBound(chunk, key);
    if (i < chunk.length && chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (chunk.length > CHUNK_MAX) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK_MAX >>> 1));
    return true;
  }

  /** Removes a key; returns false when it was not there. */
  delete(key: string): boolean {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c];
    const i = lowerBound(chunk, key);
    if (i === chunk.length || chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /**
   * The smallest key strictly greater than `after` (or the smallest key when `after` is undefined). Looking the
   * position up again on every step keeps an iteration correct while the set changes under it.
   */
  next(after: string | undefined): string | undefined {
    if (this.chunks.length === 0) return undefined;
    if (after === undefined) return this.chunks[0][0];
    let c = this.chunkFor(after);
    if (c === this.chunks.length) return undefined;
    let chunk = this.chunks[c];
    let i = lowerBound(chunk, after);
    if (i < chunk.length && chunk[i] === after) i++;
    if (i === chunk.length) {
      c++;
      if (c === this.chunks.length) return undefined;
      chunk = this.chunks[c];
      i = 0;
    }
    return chunk[i];
  }

  /** The smallest key >= `key`. */
  ceil(key: string): string | undefined {
    const c = this.chunkFor(key);
    if (c === this.chunks.length) return undefined;
    const chunk = this.chunks[c];
    return chunk[lowerBound(chunk, key)];
  }

  /** Keys in order (a snapshot per chunk; for tests and compaction, not for listing under writes). */
  *[Symbol.iterator](): IterableIterator<string> {
    for (const chunk of this.chunks) yield* chunk.slice();
  }
}

/** First index in a sorted array whose key is >= key. */
function lowerBound(arr: string[], key: string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(arr[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
