/**
 * Compaction of a drive's metadata log (meta-log.ts, "Space"): when it is due, and which records of the oldest
 * segment are still live. MetaLog does the moving: it queues each live record again at the head of the log and,
 * once those copies are durable, removes the segment.
 */
import { findNextRecord, KIND_PUT, parseRecord, SEGMENT_HEADER } from './meta-log-format';
import type { LogEntry, Segment } from './meta-log-segment';

/** Bytes in records across the segments, and how many of them the index still points at. */
export interface LogUsage {
  segments: number;
  bytes: number;
  live: number;
}

export function logUsage(segments: readonly Segment[]): LogUsage {
  let bytes = 0;
  let live = 0;
  for (const s of segments) {
    bytes += s.size - SEGMENT_HEADER;
    live += s.live;
  }
  return { segments: segments.length, bytes, live };
}

/** True when at least `minDead` bytes are dead and more than half of the log is: compact the oldest segment. */
export function compactionDue(usage: LogUsage, minDead: number): boolean {
  return usage.bytes - usage.live >= minDead && usage.live * 2 <= usage.bytes;
}

/**
 * The put records in `data` (the bytes of segment `seg`) that the index (`current`) still points at, each as a new
 * entry holding a copy of the record, to be queued again. Lazy on purpose: the caller queues each copy before it
 * asks for the next, so the check and the queueing are one synchronous step and a write that came in meanwhile
 * (newer) always wins. A damaged record is skipped; the scan resynchronises on the next valid one.
 */
export function* liveCopies(
  data: Buffer,
  seg: Segment,
  current: (volume: string, dir: string) => LogEntry | undefined,
): Generator<LogEntry> {
  let pos = SEGMENT_HEADER;
  while (pos < data.length) {
    const rec = parseRecord(data, pos, seg.salt);
    if (!rec) {
      const next = findNextRecord(data, pos + 1, seg.salt);
      if (next < 0) return;
      pos = next;
      continue;
    }
    const cur = rec.kind === KIND_PUT ? current(rec.volume, rec.dir) : undefined;
    if (cur && cur.seg === seg && cur.off === pos) {
      yield {
        volume: cur.volume,
        dir: cur.dir,
        key: cur.key,
        seg: null,
        off: 0,
        len: cur.len,
        metaAt: cur.metaAt,
        metaLen: cur.metaLen,
        pending: Buffer.from(data.subarray(pos, pos + rec.len)),
      };
    }
    pos += rec.len;
  }
}
