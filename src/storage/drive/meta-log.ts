/**
 * A drive's metadata log: where a drive keeps the metadata of its objects (all but those whose metadata is larger
 * than LOG_META_MAX), instead of one `%meta` file per object directory.
 *
 * Why: a small PUT used to create a directory and a file, fsync both and rename on every drive of the set, and
 * creating files is what a disk does slowest (DESIGN.md section 7); a metadata update of a large object (a
 * transition's intent and release, tagging) wrote a file, fsynced it and its directory, on every drive, twice.
 * Appending to a log instead turns each into one append per drive, and concurrent appends share one O_DSYNC write
 * (group commit). The bytes written
 * are exactly the metadata file's bytes (meta/meta-file.ts, with its own checksum), so quorum, heal and listing work
 * on them unchanged; only where a drive keeps them differs (LocalDrive decides, see there).
 *
 * On disk, under `.tiergate.sys/metalog/`: `<16 hex digits>.tgl` segments, numbered in write order; only the last
 * one is appended to. The segment and record format is in meta-log-format.ts. A put record makes its bytes the
 * drive's metadata for (volume, dir); a remove says the log holds nothing for it. Replaying the segments in order
 * rebuilds the index; the last record wins.
 *
 * Crash safety: a record counts once its batch's O_DSYNC write returned; nobody is answered before. A crash
 * leaves at most a torn tail in the last segment, which replay cuts off. A record that fails its checksum in the
 * middle (bitrot) is skipped and replay resynchronises on the next valid record: that drive has lost one version of
 * one object's metadata, which the set's quorum rules treat like a rotten metadata file (heal rewrites it).
 * A failed record write poisons the log: after one, the kernel's page cache no longer tells what is on the disk
 * (the "fsyncgate" lesson), so every later call fails with DriveFaulty until a restart replays the disk's truth.
 * Every batch in flight writes through a descriptor of its own, so that report reaches each batch whose sync
 * follows the failure, not just the first (meta-log-segment.ts openWriters).
 * (Preallocation's zero fills are not record writes; see below.)
 *
 * Preallocation: an O_DSYNC write that grows the file must also commit the new file size through the file system's
 * journal, and on ext4 that costs about twice what overwriting blocks already on disk does (measured: 630-920 against
 * 300-380 µs per 4 KiB write; PostgreSQL zero-fills its WAL segments for the same reason). So the active segment is
 * kept zero-filled, durably, ahead of its end: when less than half a step is left, a step of zeros (the segment's
 * size, at least 256 KiB and at most 8 MiB, never past the rotation size) is written in the background after
 * whatever is already reserved or zeroed. A batch whose range reaches into zeros still being written waits for them,
 * so a record is never overwritten by the fill; one past the zeroed space simply grows the file, which is correct,
 * only slower. Fills write through a descriptor of their own and a failed one only stops preallocation in that
 * segment (meta-log-segment.ts startFill says why both are safe). Zeros are not a record, so replay treats them as
 * the end of the records: the last segment is cut there (quietly: a torn tail is warned about only when it holds
 * something else), and a close trims them from every segment (not synced: if a crash loses the trim, replay cuts
 * them; a failed log leaves them to the replay too).
 *
 * Space: superseded records are dead bytes. When more than half of the log is dead, the oldest segment is compacted:
 * its live records are appended again (each only if the index still points at that exact record, checked in the
 * same synchronous step that queues it, so a concurrent write always wins) and, once those are durable, the segment
 * is unlinked and the directory fsynced. Because only the oldest segment is ever removed, a remove record is never
 * needed after its own segment goes: nothing older than it survives.
 *
 * Memory: the index keeps, per object in the log, its key, its directory and its position (about 200 bytes), and
 * recently written or read records stay in memory up to a byte budget (first in, first out), so a hot small object
 * is read without a system call. A record written with its decoded form (LocalDrive.writeMeta's `decoded`) keeps
 * that form while its bytes stay in memory, so reading a recent write back needs no checksum pass and no JSON
 * parse: a GET of an object just PUT costs a lookup per drive. That form is not counted in the budget; it adds
 * about 450 bytes of heap to a cached record (measured for a 4 KiB object, whose record is about 1.6 KB), since its
 * records are the writer's objects, shared by the drives of the set, and its frames are the cached bytes. Only this
 * process writes this drive's log (other nodes reach the drive through its owner), so the copy can never be stale.
 */
import * as fsCb from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { storageError } from '../errors';
import { fromView, type MetaFile, type MetaView } from '../meta/meta-file';
import { closeFd, fsyncDir, truncateFd, writeAll } from './fs-io';
import {
  encodeRecord,
  KIND_PUT,
  KIND_REMOVE,
  LOG_META_MAX,
  recordIntact,
  sealRecord,
} from './meta-log-format';
import { RecordCache } from './meta-log-cache';
import { compactionDue, liveCopies, logUsage, type LogUsage } from './meta-log-compaction';
import { LogIndex } from './meta-log-index';
import { replaySegment, segmentId, SEGMENT_RE } from './meta-log-replay';
import {
  closeFillFd,
  closeWriters,
  type LogEntry,
  createSegment,
  nextFill,
  openWriters,
  type Segment,
  segmentFlags,
  startFill,
} from './meta-log-segment';

export { LOG_META_MAX } from './meta-log-format';
export type { LogEntry } from './meta-log-segment';

export const METALOG_DIR = 'metalog';
/** Batch writes in flight per log (and so write descriptors of the active segment). */
export const MAX_WRITES = 4;
/** The longest a removal queued with `durable: false` waits for a batch to join (see MetaLog.remove). */
export const LAZY_FLUSH_MS = 200;
const noop = (): void => undefined;
export interface MetaLogOptions {
  /** Make every batch durable before answering (off only in tests that do not care about power loss). */
  sync: boolean;
  /** Rotate to a new segment past this size (default 64 MiB). */
  segmentBytes?: number;
  /** Do not compact while less than this many bytes are dead (default 16 MiB; tests set it low). */
  compactMinDead?: number;
  /** Bytes of records kept in memory for reads (default 16 MiB; 0 turns the cache off). */
  cacheBytes?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

interface Queued {
  buf: Buffer;
  /** The put's entry (null for a remove). */
  entry: LogEntry | null;
  off: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class MetaLog {
  /** Where each object's record is; a replaced or removed one's bytes are dead from then on. */
  private readonly index = new LogIndex((old) => {
    if (old.seg) old.seg.live -= old.len;
    this.readCache.drop(old);
  });
  private segments: Segment[] = [];
  private queue: Queued[] = [];
  /** Batch writes in flight (at most MAX_WRITES). */
  private readonly writes = new Set<Promise<void>>();
  private kickScheduled = false;
  /** Flushes records queued without a batch of their own (remove with `durable: false`). */
  private lazyFlush: NodeJS.Timeout | null = null;
  private rotation: Promise<Segment> | null = null;
  private compacting: Promise<void> | null = null;
  /** The one close (a second call waits for it: it must never trim or close descriptors twice). */
  private closing: Promise<void> | null = null;
  private failure: Error | null = null;
  private closed = false;
  private readonly segmentBytes: number;
  private readonly compactMinDead: number;
  private readonly log: NonNullable<MetaLogOptions['log']>;
  /** Recently written or read records, first in, first out, up to a byte budget. */
  private readonly readCache: RecordCache;

  private constructor(
    readonly dir: string,
    private readonly opts: MetaLogOptions,
  ) {
    this.segmentBytes = opts.segmentBytes ?? 64 * 1024 * 1024;
    this.compactMinDead = opts.compactMinDead ?? 16 * 1024 * 1024;
    this.log = opts.log ?? (() => undefined);
    this.readCache = new RecordCache(opts.cacheBytes ?? 16 * 1024 * 1024);
  }

  /** Opens (creating when absent) the log in `dir` and replays it. */
  static async open(dir: string, opts: MetaLogOptions): Promise<MetaLog> {
    const log = new MetaLog(dir, opts);
    await fs.mkdir(dir, { recursive: true });
    const names = (await fs.readdir(dir)).filter((n) => SEGMENT_RE.test(n)).sort();
    try {
      for (let i = 0; i < names.length; i++) await log.replay(names[i], i === names.length - 1);
      if (log.segments.length === 0) await log.newSegment(1);
      else await openWriters(log.active(), segmentFlags(log.opts.sync), MAX_WRITES);
    } catch (err) {
      await log.closeFds();
      throw err;
    }
    return log;
  }

  // ---- index -------------------------------------------------------------------------------------------------

  get(volume: string, dir: string): LogEntry | undefined {
    return this.index.get(volume, dir);
  }

  byKey(volume: string, key: string): LogEntry | undefined {
    return this.index.byKey(volume, key);
  }

  /** The smallest key of the volume strictly after `after` (the first when undefined). */
  nextKey(volume: string, after: string | undefined): string | undefined {
    return this.index.nextKey(volume, after);
  }

  /** The smallest key of the volume that is >= `key`. */
  ceilKey(volume: string, key: string): string | undefined {
    return this.index.ceilKey(volume, key);
  }

  /** Number of objects the log holds for a volume. */
  count(volume: string): number {
    return this.index.count(volume);
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  /** The metadata bytes of an entry (a fresh Buffer the caller may keep or change). */
  async read(entry: LogEntry): Promise<Buffer> {
    this.check();
    const inMemory = entry.cached ?? entry.pending;
    if (inMemory) return Buffer.from(inMemory.subarray(entry.metaAt, entry.metaAt + entry.metaLen));
    const seg = entry.seg!;
    const record = Buffer.allocUnsafeSlow(entry.len); // unpooled, as it may be cached (see encodeRecord)
    seg.readers++;
    try {
      const n = await new Promise<number>((resolve, reject) =>
        fsCb.read(seg.fd, record, 0, record.length, entry.off, (err, bytes) =>
          err ? reject(err) : resolve(bytes),
        ),
      );
      if (n !== record.length) throw storageError('DriveFaulty', `${seg.file}: short read at ${entry.off}`);
    } catch (err) {
      if (err instanceof Error && err.name === 'DriveFaulty') throw err;
      throw storageError('DriveFaulty', `${seg.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    } finally {
      seg.readers--;
      if (seg.retired && seg.readers === 0) closeFd(seg.fd);
    }
    const meta = Buffer.from(record.subarray(entry.metaAt, entry.metaAt + entry.metaLen));
    // Cache only what is still current and intact (the metadata's own checksum is checked by whoever decodes it;
    // the cache must not keep rotten bytes past that, so it checks the record's).
    if (this.get(entry.volume, entry.dir) === entry && recordIntact(record, seg.salt))
      this.readCache.add(entry, record);
    return meta;
  }

  /**
   * The entry's metadata already decoded, when the log keeps the view it was written with and its bytes are in
   * memory (see LogEntry.view); undefined otherwise. Its records are shared by every such read and frozen.
   */
  decoded(entry: LogEntry): MetaFile | undefined {
    this.check();
    const record = entry.cached ?? entry.pending;
    if (!entry.view || !record) return undefined;
    return fromView(entry.view, record.subarray(entry.metaAt, entry.metaAt + entry.metaLen));
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  /**
   * Makes `meta` the log's metadata for (volume, dir); resolves once it is durable. `view`, when given, is what
   * `meta` decodes to (viewOf of the file encoded), kept for `decoded` while the record stays in memory.
   */
  put(volume: string, dir: string, key: string, meta: Buffer, view?: MetaView): Promise<void> {
    let encoded: { buf: Buffer; metaAt: number };
    try {
      this.check();
      if (meta.length > LOG_META_MAX) throw storageError('InvalidArgument', `metadata too large for the log`);
      encoded = encodeRecord(KIND_PUT, volume, dir, key, meta);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const { buf, metaAt } = encoded;
    const entry: LogEntry = {
      volume,
      dir,
      key,
      seg: null,
      off: 0,
      len: buf.length,
      metaAt,
      metaLen: meta.length,
    };
    entry.pending = buf;
    if (view) entry.view = view;
    this.index.set(entry);
    return this.enqueue(buf, entry);
  }

  /**
   * Drops (volume, dir) from the log; resolves once that is durable. A no-op when the log does not hold it.
   *
   * With `durable: false` it resolves at once, and the removal's record goes to disk with the next batch, or within
   * LAZY_FLUSH_MS if none comes (and at close): for a record whose coming back after a crash is harmless (a stage
   * mark names an object boot recovery heals; one that needs nothing is left as it is), so that removing it costs
   * no write of its own. Readers see it gone at once either way.
   */
  remove(volume: string, dir: string, opts: { durable?: boolean } = {}): Promise<void> {
    try {
      this.check();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const old = this.get(volume, dir);
    if (!old) return Promise.resolve();
    this.index.delete(volume, dir);
    const { buf } = encodeRecord(KIND_REMOVE, volume, dir, old.key, Buffer.alloc(0));
    if (opts.durable !== false) return this.enqueue(buf, null);
    // Its batch, like any other, reserves offsets after every record queued before it: after the record it removes.
    this.queue.push({ buf, entry: null, off: 0, resolve: noop, reject: noop });
    this.lazyFlush ??= setTimeout(() => {
      this.lazyFlush = null;
      this.kick();
    }, LAZY_FLUSH_MS).unref();
    return Promise.resolve();
  }

  /** Removes every object of a volume from the log. */
  async dropVolume(volume: string): Promise<void> {
    await Promise.all(this.index.dirs(volume).map((dir) => this.remove(volume, dir)));
  }

  private enqueue(buf: Buffer, entry: LogEntry | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ buf, entry, off: 0, resolve, reject });
      this.kick();
    });
  }

  /**
   * Starts a batch of everything queued, once per event-loop turn (so the appends of one PUT to every drive, and of
   * the PUTs that arrived together, share it), with up to MAX_WRITES batches in flight. Overlapping writes are what
   * lets a sync-latency-bound disk keep up: a record never waits for more than the batch it joins. They are safe
   * because each batch's offsets are reserved in queue order before it is written: a crash can leave a later batch
   * on disk and an earlier one torn or missing, and replay then resynchronises past the hole onto the later batch,
   * whose writers (and only they) had been answered.
   */
  private kick(): void {
    if (this.lazyFlush) {
      // Whatever batch starts next takes the records queued lazily too.
      clearTimeout(this.lazyFlush);
      this.lazyFlush = null;
    }
    if (this.kickScheduled || this.queue.length === 0 || this.writes.size >= MAX_WRITES) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      if (this.queue.length === 0 || this.writes.size >= MAX_WRITES) return;
      const batch = this.queue;
      this.queue = [];
      const write = this.writeBatch(batch).finally(() => {
        this.writes.delete(write);
        this.kick();
        this.maybeCompact();
      });
      this.writes.add(write);
      this.kick();
    });
  }

  /** Writes one batch at offsets reserved now; resolves or rejects its records. Never throws. */
  private async writeBatch(batch: Queued[]): Promise<void> {
    try {
      if (this.failure) throw this.failure;
      let seg = this.active();
      while (seg.size >= this.segmentBytes) {
        this.rotation ??= this.newSegment(seg.id + 1).finally(() => (this.rotation = null));
        await this.rotation;
        seg = this.active();
      }
      const start = seg.size;
      let off = start;
      for (const q of batch) {
        q.off = off;
        off += q.buf.length;
      }
      seg.size = off; // reserved: the next batch goes after this one, whatever finishes first
      const fill = seg.filling;
      this.preallocate(seg);
      for (const q of batch) sealRecord(q.buf, seg.salt);
      // A descriptor no other batch in flight writes through (meta-log-segment.ts openWriters says why): at most
      // MAX_WRITES batches are in flight, and the segment was active when this one reserved its offsets just now.
      const fd = seg.writeFds.pop();
      if (fd === undefined) throw new Error('no write descriptor left'); // cannot happen: poisons the log if it did
      // Durable on return: the segment is O_DSYNC when the log syncs (meta-log-segment.ts segmentFlags).
      seg.writers++;
      let wrote = false;
      try {
        // Zeros still being written where this batch goes would land over its records: let them land first.
        if (fill && off > fill.from && start < fill.to) {
          await fill.done; // never rejects
          this.check(); // another batch may have failed meanwhile
        }
        await writeAll(
          fd,
          batch.map((q) => q.buf),
          start,
        );
        wrote = true;
      } finally {
        seg.writers--;
        // Kept for the next batch while the segment is active; after a failure (the log is poisoned) or a rotation,
        // closed.
        if (wrote && seg === this.active() && !this.closed) seg.writeFds.push(fd);
        else closeFd(fd);
      }
      for (const q of batch) {
        const e = q.entry;
        if (!e) continue;
        e.seg = seg;
        e.off = q.off;
        e.pending = undefined;
        if (this.get(e.volume, e.dir) === e) {
          seg.live += e.len;
          this.readCache.add(e, q.buf);
        }
        if (!e.cached) e.view = undefined; // kept only with the bytes it points into
      }
    } catch (err) {
      if (err !== this.failure) this.poison(err);
      for (const q of batch) q.reject(this.failure!);
      return;
    }
    for (const q of batch) q.resolve();
  }

  /** Starts the active segment's next zero fill, if it needs one (see meta-log-segment.ts startFill). */
  private preallocate(seg: Segment): void {
    if (seg.filling || seg.noFill || this.failure || this.closed) return;
    const fill = nextFill(seg, this.segmentBytes);
    if (!fill) return;
    startFill(seg, fill, segmentFlags(this.opts.sync), this.log, () => {
      if (seg !== this.active() || this.closed) closeFillFd(seg); // rotated meanwhile: no more fills here
      this.maybeCompact(); // it may have held back the oldest segment's compaction
    });
  }

  private poison(err: unknown): void {
    const code = (err as NodeJS.ErrnoException)?.code ?? String(err);
    this.failure ??= storageError(
      'DriveFaulty',
      `metadata log ${this.dir}: write failed (${code}); restart to recover`,
    );
    this.log('error', this.failure.message);
  }

  private check(): void {
    if (this.closed) throw storageError('DriveOffline', `metadata log ${this.dir} is closed`);
    if (this.failure) throw this.failure;
  }

  private active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  private async newSegment(id: number): Promise<Segment> {
    const seg = await createSegment(this.dir, id, this.opts.sync, MAX_WRITES);
    const previous = this.segments.at(-1);
    this.segments.push(seg);
    if (previous) {
      closeWriters(previous); // batches still writing there close theirs when they end
      if (!previous.filling) closeFillFd(previous); // a fill in flight closes it when it lands
    }
    return seg;
  }

  // ---- replay ------------------------------------------------------------------------------------------------

  private async replay(name: string, last: boolean): Promise<void> {
    const seg = await replaySegment(path.join(this.dir, name), segmentId(name), last, {
      flags: segmentFlags(this.opts.sync),
      sync: this.opts.sync,
      log: this.log,
      put: (entry) => {
        this.index.set(entry);
        entry.seg!.live += entry.len;
      },
      remove: (volume, dir) => this.index.delete(volume, dir),
    });
    if (seg) this.segments.push(seg);
  }

  // ---- compaction --------------------------------------------------------------------------------------------

  /** Bytes in records, and how many of them the index still points at. */
  usage(): LogUsage {
    return logUsage(this.segments);
  }

  private maybeCompact(): void {
    if (this.compacting || this.failure || this.closed || this.segments.length < 2) return;
    // A batch or zero fill still writing into the oldest segment re-runs this check when it finishes.
    if (this.segments[0].writers > 0) return;
    if (!compactionDue(this.usage(), this.compactMinDead)) return;
    const oldest = this.segments[0];
    this.compacting = this.compactOldest()
      .catch((err: unknown) =>
        this.log('error', `metadata log ${this.dir}: compaction failed: ${String(err)}`),
      )
      .finally(() => {
        this.compacting = null;
        // Go on only if that made progress (else a failing compaction would spin).
        if (this.segments[0] !== oldest) this.maybeCompact();
      });
  }

  /** Moves the oldest segment's live records to the head, then removes the segment. */
  async compactOldest(): Promise<void> {
    const seg = this.segments[0];
    // A batch that reserved space before the segment filled up may still be writing into it (its finish triggers
    // the next compaction check).
    if (!seg || seg === this.active() || seg.writers > 0) return;
    if (seg.live > 0) {
      const data = await fs.readFile(seg.file);
      const copies: Promise<void>[] = [];
      // Each copy is checked (by the scan) and queued in one synchronous step: a write that came in since wins.
      for (const entry of liveCopies(data, seg, (volume, dir) => this.get(volume, dir))) {
        this.index.set(entry);
        copies.push(this.enqueue(entry.pending!, entry));
      }
      await Promise.all(copies);
    }
    if (this.closed) return;
    this.segments = this.segments.filter((s) => s !== seg);
    seg.retired = true;
    closeWriters(seg); // (none: it stopped being the active segment, and no batch writes there)
    closeFillFd(seg);
    if (seg.readers === 0) closeFd(seg.fd);
    await fs.rm(seg.file, { force: true });
    if (this.opts.sync) await fsyncDir(this.dir);
  }

  /**
   * Waits for queued writes, any compaction and zero fills, trims each segment's preallocated zeros (a cleanly
   * closed segment ends with its last record), then closes every segment.
   */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    for (;;) {
      const fill = this.segments.find((s) => s.filling)?.filling;
      if (this.writes.size > 0) await Promise.all(this.writes);
      else if (this.compacting) await this.compacting;
      else if (this.queue.length > 0) {
        this.kick(); // (records queued lazily have no batch coming yet)
        await new Promise<void>((r) => setImmediate(r)); // a batch is about to start
      } else if (fill) await fill.done;
      else break;
    }
    this.closed = true;
    if (!this.failure) {
      for (const s of this.segments) {
        // (A failed fill may have grown the file without counting it: trim those too.)
        if (s.allocated <= s.size && !s.noFill) continue;
        // Not synced: if the cut is lost in a crash, replay meets the zeros and cuts them itself.
        await truncateFd(s.fd, s.size, false).then(
          () => (s.allocated = s.size),
          (err: unknown) => this.log('warn', `${s.file}: trimming preallocated space: ${String(err)}`),
        );
      }
    }
    await this.closeFds();
  }

  private async closeFds(): Promise<void> {
    for (const s of this.segments) {
      s.retired = true;
      closeWriters(s);
      closeFillFd(s);
      if (s.readers === 0) closeFd(s.fd);
    }
    this.segments = [];
  }
}
