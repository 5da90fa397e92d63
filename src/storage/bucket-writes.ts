/**
 * Writes into a bucket against its deletion (within this process). DeleteBucket checks that the bucket is empty,
 * then removes it from every drive; a write that checked the bucket before and commits after would be acknowledged
 * and then lost with the bucket, or land in a bucket that is gone. So:
 * - a write (anything that can add a version, a delete marker, an upload or a part, or change a bucket's
 *   configuration) runs counted as in flight, from its check that the bucket exists until its commit returns (an
 *   upload's part streaming in counts too: what it writes would otherwise outlive the bucket as debris);
 * - a delete refuses with BucketNotEmpty while writes are in flight (they may be about to add to it: the client
 *   retries once they are done), and otherwise makes new writes wait until it has finished, after which they check
 *   the bucket again (BucketNotFound if it went);
 * - a write whose existence check overlapped the start of a delete (of any bucket: one counter, nothing kept per
 *   bucket name) checks again: its answer may predate it.
 * Every step that decides is synchronous with the count it changes, so no write slips between a delete's look at
 * the count and its start. A write is refused rather than acknowledged into a bucket being deleted.
 *
 * Writes from other gateways of a cluster are not counted here (see docs/storage.md).
 */
import { storageError } from './errors';

export class BucketWrites {
  private readonly inFlight = new Map<string, number>();
  /** Deletes in progress: resolved (never rejected) when the delete has ended, either way. */
  private readonly deletes = new Map<string, Promise<void>>();
  /** Bumped when any delete starts: an existence check that overlapped one is not trusted (and is made again). */
  private generation = 0;

  /** True while a delete of `bucket` runs. */
  isDeleting(bucket: string): boolean {
    return this.deletes.has(bucket);
  }

  /** Runs `fn` as a write into `bucket`, after `exists` (which throws when the bucket does not exist). */
  async write<T>(bucket: string, exists: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      const running = this.deletes.get(bucket);
      if (running) {
        await running;
        continue;
      }
      const gen = this.generation;
      await exists();
      if (!this.deletes.has(bucket) && this.generation === gen) break;
    }
    this.inFlight.set(bucket, (this.inFlight.get(bucket) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = this.inFlight.get(bucket)! - 1;
      if (left === 0) this.inFlight.delete(bucket);
      else this.inFlight.set(bucket, left);
    }
  }

  /** Runs `fn`, the removal of `bucket`, unless writes into it are in flight (BucketNotEmpty). */
  async delete<T>(bucket: string, fn: () => Promise<T>): Promise<T> {
    if (this.inFlight.has(bucket)) {
      throw storageError(
        'BucketNotEmpty',
        'the bucket you tried to delete is not empty (writes into it are running)',
      );
    }
    let ended!: () => void;
    this.deletes.set(bucket, new Promise<void>((resolve) => (ended = resolve)));
    this.generation++;
    try {
      return await fn();
    } finally {
      this.deletes.delete(bucket);
      ended();
    }
  }
}
