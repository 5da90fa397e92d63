/**
 * A sorted set of object keys in S3 byte order (layout.ts compareKeys), for listing what a drive's metadata log
 * holds. Chunked like a B-tree's leaves: keys live in sorted chunks of at most CHUNK_MAX, so an insert or a delete
 * moves at most one chunk's worth of references instead of the whole set, and a lookup is two binary searches.
 *
 * Comparisons: S3 byte order (UTF-8) equals JavaScript's own string order (UTF-16 code units) for strings without
 * surrogates, and the engine's comparison of two flat strings is far cheaper than compareKeys' loop. So while no key
 * of the set has a surrogate (counted as keys come and go), a lookup of a key without one compares natively.
 */
import { compareKeys } from '../layout';

const CHUNK_MAX = 512;
const SURROGATE = /[\ud800-\udfff]/;

export class SortedKeys {
  private chunks: string[][] = [];
  private count = 0;
  /** Keys of the set that contain a surrogate (a code point above U+FFFF). */
  private surrogateKeys = 0;

  get size(): number {
    return this.count;
  }

  /** The order to search for `key` in: JavaScript's own when it agrees with S3's for every key involved. */
  private orderFor(key: string): (a: string, b: string) => boolean {
    return this.surrogateKeys === 0 && !SURROGATE.test(key) ? nativeLess : byteLess;
  }

  /** Index of the first chunk whose last key is >= key (chunks.length when none is). */
  private chunkFor(key: string, less: (a: string, b: string) => boolean): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid];
      if (less(chunk[chunk.length - 1], key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Adds a key; returns false when it was already there. */
  add(key: string): boolean {
    if (this.chunks.length === 0) {
      this.chunks.push([key]);
      this.count = 1;
      if (SURROGATE.test(key)) this.surrogateKeys = 1;
      return true;
    }
    const less = this.orderFor(key);
    const c = Math.min(this.chunkFor(key, less), this.chunks.length - 1);
    const chunk = this.chunks[c];
    const i = lowerBound(chunk, key, less);
    if (i < chunk.length && chunk[i] === key) return false;
    chunk.splice(i, 0, key);
    this.count++;
    if (less === byteLess && SURROGATE.test(key)) this.surrogateKeys++;
    if (chunk.length > CHUNK_MAX) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK_MAX >>> 1));
    return true;
  }

  /** Removes a key; returns false when it was not there. */
  delete(key: string): boolean {
    const less = this.orderFor(key);
    const c = this.chunkFor(key, less);
    if (c === this.chunks.length) return false;
    const chunk = this.chunks[c];
    const i = lowerBound(chunk, key, less);
    if (i === chunk.length || chunk[i] !== key) return false;
    chunk.splice(i, 1);
    this.count--;
    if (less === byteLess && SURROGATE.test(key)) this.surrogateKeys--;
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
    const less = this.orderFor(after);
    let c = this.chunkFor(after, less);
    if (c === this.chunks.length) return undefined;
    let chunk = this.chunks[c];
    let i = lowerBound(chunk, after, less);
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
    const less = this.orderFor(key);
    const c = this.chunkFor(key, less);
    if (c === this.chunks.length) return undefined;
    const chunk = this.chunks[c];
    return chunk[lowerBound(chunk, key, less)];
  }

  /** Keys in order (a snapshot per chunk; for tests and compaction, not for listing under writes). */
  *[Symbol.iterator](): IterableIterator<string> {
    for (const chunk of this.chunks) yield* chunk.slice();
  }
}

function nativeLess(a: string, b: string): boolean {
  return a < b;
}

function byteLess(a: string, b: string): boolean {
  return compareKeys(a, b) < 0;
}

/** First index in a sorted array whose key is >= key. */
function lowerBound(arr: string[], key: string, less: (a: string, b: string) => boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (less(arr[mid], key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
