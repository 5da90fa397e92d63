/**
 * The metadata log's read cache (meta-log.ts): recently written or read records kept in memory up to a byte budget,
 * first in, first out, so a hot small object is read without a system call. The age order is a list threaded
 * through the log's entries, so evicting the oldest is O(1). (A Set iterated from its start is not: V8 leaves a hole
 * per deleted entry until the table is rebuilt, and a FIFO deletes at the front, so every eviction walked the holes
 * of the ones before it.)
 */
import type { LogEntry } from './meta-log-segment';

export class RecordCache {
  private oldest: LogEntry | undefined;
  private newest: LogEntry | undefined;
  private used = 0;

  /** `budget` bytes of records at most (0 turns the cache off); a record over a quarter of it is never kept. */
  constructor(private readonly budget: number) {}

  /** Keeps `record` as `entry`'s bytes (the newest), evicting the oldest records past the budget. */
  add(entry: LogEntry, record: Buffer): void {
    const pinned = pinnedBytes(record);
    if (this.budget === 0 || entry.cached || pinned > this.budget / 4) return;
    entry.cached = record;
    entry.olderCached = this.newest;
    entry.newerCached = undefined;
    if (this.newest) this.newest.newerCached = entry;
    else this.oldest = entry;
    this.newest = entry;
    this.used += pinned;
    while (this.used > this.budget && this.oldest) this.drop(this.oldest);
  }

  /** Forgets `entry`'s bytes, if kept (and its decoded view, which is only kept with them). */
  drop(entry: LogEntry): void {
    entry.view = undefined;
    if (!entry.cached) return;
    this.used -= pinnedBytes(entry.cached);
    entry.cached = undefined;
    const { olderCached: older, newerCached: newer } = entry;
    if (older) older.newerCached = newer;
    else this.oldest = newer;
    if (newer) newer.olderCached = older;
    else this.newest = older;
    entry.olderCached = entry.newerCached = undefined;
  }
}

/**
 * The memory a kept record holds on to: all of its ArrayBuffer, not just its own bytes. The log hands the cache
 * records that own theirs (encodeRecord, MetaLog.read); a slice of something bigger is charged for all of it, so the
 * budget bounds what the cache really keeps alive.
 */
function pinnedBytes(record: Buffer): number {
  return record.buffer.byteLength;
}
