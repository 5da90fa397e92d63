/**
 * Replay of one metadata log segment (meta-log.ts): every intact record in order, a resynchronisation past a damaged
 * one, and the end of the records: a torn tail (cut off in the last segment, with a warning) or preallocated zeros
 * (the normal end of a segment that was not closed cleanly: cut quietly, or left for the close to trim in an older
 * segment).
 */
import * as fs from 'node:fs/promises';
import { storageError } from '../errors';
import { openFd, truncateFd } from './fs-io';
import {
  decodeSegmentHeader,
  findNextRecord,
  KIND_PUT,
  parseRecord,
  SEGMENT_HEADER,
} from './meta-log-format';
import { isZero, type LogEntry, openSegment, type Segment } from './meta-log-segment';

/** Segment file names: 16 hex digits, numbered in write order. */
export const SEGMENT_RE = /^([0-9a-f]{16})\.tgl$/;

/** The number of a segment file name (one SEGMENT_RE matches). */
export function segmentId(name: string): number {
  return parseInt(SEGMENT_RE.exec(name)![1], 16);
}

export interface ReplayTarget {
  /** Descriptor flags the segment is opened with. */
  flags: number;
  /** Sync the cut of a torn tail. */
  sync: boolean;
  log: (level: 'warn', message: string) => void;
  /** A put record: `entry` (its `seg` the replayed segment) is the drive's metadata for its directory now. */
  put: (entry: LogEntry) => void;
  /** A remove record. */
  remove: (volume: string, dir: string) => void;
}

/**
 * Replays `file` into `target` and returns it open, or null when it was the last segment torn while being created
 * (removed: nothing was ever acknowledged from it). A file that is not a segment fails with DriveFaulty.
 */
export async function replaySegment(
  file: string,
  id: number,
  last: boolean,
  target: ReplayTarget,
): Promise<Segment | null> {
  const data = await fs.readFile(file);
  const header = decodeSegmentHeader(data);
  if (typeof header === 'string') {
    if (last && data.length < SEGMENT_HEADER) {
      await fs.rm(file, { force: true });
      return null;
    }
    throw storageError('DriveFaulty', `${file}: ${header}`);
  }
  const { salt } = header;
  const seg = openSegment(id, file, await openFd(file, target.flags), salt, data.length);
  let pos = SEGMENT_HEADER;
  while (pos < data.length) {
    const rec = parseRecord(data, pos, salt);
    if (!rec) {
      const next = findNextRecord(data, pos + 1, salt);
      if (next < 0) {
        // Zeros are preallocated space, not damage.
        const zeros = isZero(data, pos);
        if (last) {
          if (!zeros)
            target.log('warn', `${file}: cutting a torn tail of ${data.length - pos} bytes at ${pos}`);
          await truncateFd(seg.fd, pos, target.sync);
          seg.size = seg.allocated = pos;
        } else if (zeros) {
          seg.size = pos; // a clean close trims them
        } else {
          target.log('warn', `${file}: ${data.length - pos} unreadable bytes at ${pos} skipped`);
        }
        break;
      }
      target.log('warn', `${file}: ${next - pos} corrupt bytes at ${pos} skipped`);
      pos = next;
      continue;
    }
    if (rec.kind === KIND_PUT) {
      target.put({
        volume: rec.volume,
        dir: rec.dir,
        key: rec.key,
        seg,
        off: pos,
        len: rec.len,
        metaAt: rec.metaAt,
        metaLen: rec.metaLen,
      });
    } else {
      target.remove(rec.volume, rec.dir);
    }
    pos += rec.len;
  }
  return seg;
}
