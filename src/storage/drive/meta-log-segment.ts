/**
 * A metadata log segment (meta-log.ts) as the log keeps it open, where the log holds each object's record, and the
 * zero fill that keeps preallocated space ahead of the active segment's end (see meta-log.ts's file comment).
 */
import { constants as fsc } from 'node:fs';
import * as path from 'node:path';
import type { MetaView } from '../meta/meta-file';
import { closeFd, fsyncDir, openFd, writeAll } from './fs-io';
import { newSegmentHeader, SEGMENT_HEADER } from './meta-log-format';

/** Zero-filled space kept ahead of the active segment's end: the bounds of one step. */
export const PREALLOC_MIN = 256 * 1024;
export const PREALLOC_MAX = 8 * 1024 * 1024;
/** Written (as many times as needed) to zero-fill a step. */
const ZEROS = Buffer.alloc(1024 * 1024);

/**
 * The next zero fill for `seg`, or null when enough zeros are ahead of its records already: a step of the segment's
 * size (PREALLOC_MIN to PREALLOC_MAX) after whatever is reserved or zeroed, once less than half a step is left,
 * never past `limit` (the rotation size).
 */
export function nextFill(seg: Segment, limit: number): { from: number; to: number } | null {
  const step = Math.min(Math.max(seg.size, PREALLOC_MIN), PREALLOC_MAX);
  if (seg.allocated - seg.size >= step / 2) return null;
  const from = Math.max(seg.allocated, seg.size);
  const to = Math.min(from + step, limit);
  return to > from ? { from, to } : null;
}

/**
 * Writes the zeros of `fill` into `seg` in the background (`seg.filling` until they land; then `landed`). One fill
 * at a time per segment, through a descriptor of its own (`seg.fillFd`, opened at the first fill; the log closes it
 * once the segment is no longer the active one): Linux reports a failed write-back once per open file description,
 * to whoever syncs first, and a fill must never take a record write's error away from it. A failed fill is not a
 * failed record write, so it does not poison the log: nothing that was acknowledged lives there, and the records
 * that go there later are written and synced through the batches' descriptors (`writeFds`), which still get any
 * write-back error. The segment just stops preallocating (`noFill`).
 */
export function startFill(
  seg: Segment,
  fill: { from: number; to: number },
  flags: number,
  log: (level: 'warn', message: string) => void,
  landed: () => void,
): void {
  const { from, to } = fill;
  const zeros = zerosFor(from, to);
  seg.writers++; // keeps compaction, and the descriptor's close, away until it lands
  const done = (async () => {
    seg.fillFd ??= await openFd(seg.file, flags);
    await writeAll(seg.fillFd, zeros, from);
  })().then(
    () => {
      seg.allocated = Math.max(seg.allocated, to);
    },
    (err: unknown) => {
      seg.noFill = true;
      const code = (err as NodeJS.ErrnoException)?.code ?? String(err);
      log('warn', `${seg.file}: preallocating ${to - from} bytes at ${from} failed (${code})`);
    },
  );
  seg.filling = {
    from,
    to,
    done: done.finally(() => {
      seg.writers--;
      seg.filling = null;
      landed();
    }),
  };
}

/** Buffers of zeros covering [from, to) (views of one shared block). */
function zerosFor(from: number, to: number): Buffer[] {
  const zeros: Buffer[] = [];
  for (let at = from; at < to; at += ZEROS.length)
    zeros.push(ZEROS.subarray(0, Math.min(ZEROS.length, to - at)));
  return zeros;
}

/** One segment file. */
export interface Segment {
  id: number;
  /** Mixed into every record checksum of this segment (see the file comment). */
  salt: bigint;
  file: string;
  fd: number;
  /** End of the records: the next batch is written here. */
  size: number;
  /**
   * End of the space known to be zero-filled on disk. Below `size` when batches grew the file past the last fill;
   * a failed fill may have left the file longer than this (`noFill` tells).
   */
  allocated: number;
  /** The zero fill being written, if any. */
  filling: { from: number; to: number; done: Promise<void> } | null;
  /** The descriptor fills write through (see the file comment); open while this is the active segment. */
  fillFd: number | null;
  /**
   * Idle write descriptors, one per batch that can be in flight (see openWriters); open while this is the active
   * segment. `fd` is for reads, the header and the trim at close.
   */
  writeFds: number[];
  /** A zero fill failed (the disk is full, say): appends just grow the file from then on. */
  noFill: boolean;
  /** Bytes of records the index still points at. */
  live: number;
  /** In-flight reads; a retired segment's descriptor is closed when they reach zero. */
  readers: number;
  /**
   * Batches still writing into this segment (their records are not counted live yet), and its zero fill: never
   * compacted meanwhile.
   */
  writers: number;
  retired: boolean;
}

/** Where the log holds one object's metadata. */
export interface LogEntry {
  readonly volume: string;
  readonly dir: string;
  readonly key: string;
  /** Null while the record is queued; then `pending` holds its bytes. */
  seg: Segment | null;
  off: number;
  readonly len: number;
  readonly metaAt: number;
  readonly metaLen: number;
  pending?: Buffer;
  /** The record's bytes while it is in the read cache. */
  cached?: Buffer;
  /**
   * The decoded metadata of a record this process wrote, kept only while its bytes are in memory (pending or
   * cached), so a read of a recent write needs no decoding (MetaLog.decoded).
   */
  view?: MetaView;
  /** Neighbours in the read cache's age order (set only while `cached` is). */
  olderCached?: LogEntry;
  newerCached?: LogEntry;
}

/** A segment's record as the log keeps it open: `size` bytes of header and records, zeros from there on. */
export function openSegment(id: number, file: string, fd: number, salt: bigint, size: number): Segment {
  return {
    id,
    file,
    fd,
    salt,
    size,
    allocated: size,
    filling: null,
    fillFd: null,
    writeFds: [],
    noFill: false,
    live: 0,
    readers: 0,
    writers: 0,
    retired: false,
  };
}

/**
 * Segments are opened O_DSYNC when the log syncs: each write then returns only once its bytes (and the file size)
 * are on stable storage, which is what a write plus fdatasync would do, in one system call instead of two.
 */
export function segmentFlags(sync: boolean): number {
  return fsc.O_RDWR | (sync ? fsc.O_DSYNC : 0);
}

/**
 * Creates segment `id` in `dir` (`<id as 16 hex digits>.tgl`): its header written (durable on return when `sync`,
 * the directory synced too) and `writers` write descriptors open. Nothing is left open if it fails.
 */
export async function createSegment(
  dir: string,
  id: number,
  sync: boolean,
  writers: number,
): Promise<Segment> {
  const file = path.join(dir, `${id.toString(16).padStart(16, '0')}.tgl`);
  const fd = await openFd(file, segmentFlags(sync) | fsc.O_CREAT | fsc.O_TRUNC);
  const { header, salt } = newSegmentHeader();
  const seg = openSegment(id, file, fd, salt, SEGMENT_HEADER);
  try {
    await writeAll(fd, [header], 0);
    if (sync) await fsyncDir(dir);
    await openWriters(seg, segmentFlags(sync), writers);
  } catch (err) {
    closeWriters(seg);
    closeFd(fd);
    throw err;
  }
  return seg;
}

/**
 * Opens `count` write descriptors for the active segment, one for each batch that can be in flight, each its own
 * open file description. Linux records a failed write-back once per mapping and reports it once per open file
 * description, to whichever of its users syncs first (an O_DSYNC write syncs): batches sharing one could see a
 * later batch take the error of an earlier one's pages, and the earlier one answered as durable. With a descriptor
 * each, every batch whose sync follows the failure sees it. Opened up front, so no batch waits on an open.
 */
export async function openWriters(seg: Segment, flags: number, count: number): Promise<void> {
  while (seg.writeFds.length < count) seg.writeFds.push(await openFd(seg.file, flags));
}

/** Closes a segment's idle write descriptors (those in use are closed by their batch when it ends). */
export function closeWriters(seg: Segment): void {
  for (const fd of seg.writeFds.splice(0)) closeFd(fd);
}

/** Closes a segment's fill descriptor (no fill is in flight: callers wait for it or know). */
export function closeFillFd(seg: Segment): void {
  if (seg.fillFd === null) return;
  closeFd(seg.fillFd);
  seg.fillFd = null;
}

/** True when `data` holds only zero bytes from `from` on. */
export function isZero(data: Buffer, from: number): boolean {
  for (let at = from; at < data.length; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, data.length - at);
    if (data.compare(ZEROS, 0, n, at, at + n) !== 0) return false;
  }
  return true;
}
