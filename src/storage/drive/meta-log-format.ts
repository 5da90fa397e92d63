/**
 * The metadata log's on-disk format (meta-log.ts is the log). All integers are little-endian.
 *
 *   segment  = header (24 bytes: "TGMLSEG" 0x00, u32 format version = 1, u32 reserved = 0, u64 salt) then records.
 *   record   = u32 magic "TGMR" | u32 record length (all of it) | u8 kind (1 put, 2 remove) | u8 0 |
 *              u16 volume length | u16 dir length | u16 key length | u32 meta length |
 *              volume | dir | key (UTF-8) | meta | u64 xxh64 of everything before it, seeded with
 *              RECORD_SEED xor the segment's salt.
 *
 * The salt is random per segment. Replay resynchronises after a damaged record by looking for the next intact one,
 * and the bytes it scans include object data (inline shards are slices of the user's bytes): without a seed nobody
 * outside the drive knows, an object could carry a well-formed record that a crash or a rotten length field would
 * let replay accept as real metadata. Records are sealed with their segment's salt when they are written, so
 * compaction re-seals the records it moves.
 */
import { randomFillSync } from 'node:crypto';
import { xxh64 } from '@node-rs/xxhash';
import { storageError } from '../errors';

const SEGMENT_MAGIC = Buffer.from('TGMLSEG\0', 'latin1');
const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER = 24;
const RECORD_MAGIC = 0x524d4754; // "TGMR" read as u32 LE
const RECORD_FIXED = 20;
const RECORD_HASH = 8;
const RECORD_SEED = 0x74676d6cn; // "tgml"
export const KIND_PUT = 1;
export const KIND_REMOVE = 2;
/** Metadata larger than this stays in a file (it is also where a record's length field stops being plausible). */
export const LOG_META_MAX = 256 * 1024;
const MAX_RECORD = RECORD_FIXED + 3 * 0xffff + LOG_META_MAX + RECORD_HASH;

/** A new segment's header, with a fresh salt. */
export function newSegmentHeader(): { header: Buffer; salt: bigint } {
  const header = Buffer.alloc(SEGMENT_HEADER);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_VERSION, 8);
  randomFillSync(header, 16, 8);
  return { header, salt: header.readBigUInt64LE(16) };
}

/** The salt of a segment from its first bytes, or why they are not a segment this code can read. */
export function decodeSegmentHeader(data: Buffer): { salt: bigint } | string {
  if (data.length < SEGMENT_HEADER || !data.subarray(0, 8).equals(SEGMENT_MAGIC)) {
    return 'not a metadata log segment';
  }
  const version = data.readUInt32LE(8);
  if (version !== SEGMENT_VERSION) return `metadata log version ${version} is not supported`;
  return { salt: data.readBigUInt64LE(16) };
}

export function encodeRecord(
  kind: number,
  volume: string,
  dir: string,
  key: string,
  meta: Buffer,
): { buf: Buffer; metaAt: number } {
  const v = Buffer.byteLength(volume);
  const d = Buffer.byteLength(dir);
  const k = Buffer.byteLength(key);
  if (v > 0xffff || d > 0xffff || k > 0xffff)
    throw storageError('InvalidArgument', 'name too long for the log');
  const len = RECORD_FIXED + v + d + k + meta.length + RECORD_HASH;
  // Not from Node's shared pool: the read cache may keep this record for long, and a pooled slice would pin the
  // whole 8 KiB slab it was cut from (with whatever short-lived buffers shared it) for as long.
  const buf = Buffer.allocUnsafeSlow(len);
  buf.writeUInt32LE(RECORD_MAGIC, 0);
  buf.writeUInt32LE(len, 4);
  buf.writeUInt8(kind, 8);
  buf.writeUInt8(0, 9);
  buf.writeUInt16LE(v, 10);
  buf.writeUInt16LE(d, 12);
  buf.writeUInt16LE(k, 14);
  buf.writeUInt32LE(meta.length, 16);
  let at = RECORD_FIXED;
  at += buf.write(volume, at, 'utf8');
  at += buf.write(dir, at, 'utf8');
  at += buf.write(key, at, 'utf8');
  const metaAt = at;
  meta.copy(buf, at);
  return { buf, metaAt }; // sealed (checksummed) by the batch that writes it, with its segment's salt
}

/** Writes a record's checksum for the segment it goes to. */
export function sealRecord(record: Buffer, salt: bigint): void {
  const end = record.length - RECORD_HASH;
  record.writeBigUInt64LE(xxh64(record.subarray(0, end), RECORD_SEED ^ salt), end);
}

export interface ParsedRecord {
  kind: number;
  len: number;
  volume: string;
  dir: string;
  key: string;
  metaAt: number;
  metaLen: number;
}

/** The record at `pos`, or null when the bytes there are not a whole, intact record. */
export function parseRecord(data: Buffer, pos: number, salt: bigint): ParsedRecord | null {
  if (pos + RECORD_FIXED + RECORD_HASH > data.length) return null;
  if (data.readUInt32LE(pos) !== RECORD_MAGIC) return null;
  const len = data.readUInt32LE(pos + 4);
  const kind = data.readUInt8(pos + 8);
  if (len < RECORD_FIXED + RECORD_HASH || len > MAX_RECORD || pos + len > data.length) return null;
  if (kind !== KIND_PUT && kind !== KIND_REMOVE) return null;
  const v = data.readUInt16LE(pos + 10);
  const d = data.readUInt16LE(pos + 12);
  const k = data.readUInt16LE(pos + 14);
  const m = data.readUInt32LE(pos + 16);
  if (RECORD_FIXED + v + d + k + m + RECORD_HASH !== len) return null;
  const end = pos + len - RECORD_HASH;
  if (data.readBigUInt64LE(end) !== xxh64(data.subarray(pos, end), RECORD_SEED ^ salt)) return null;
  let at = pos + RECORD_FIXED;
  const volume = data.toString('utf8', at, (at += v));
  const dir = data.toString('utf8', at, (at += d));
  const key = data.toString('utf8', at, (at += k));
  return { kind, len, volume, dir, key, metaAt: at - pos, metaLen: m };
}

/** True when a whole record's checksum holds. */
export function recordIntact(record: Buffer, salt: bigint): boolean {
  const end = record.length - RECORD_HASH;
  return end > 0 && record.readBigUInt64LE(end) === xxh64(record.subarray(0, end), RECORD_SEED ^ salt);
}

/** Offset of the next intact record at or after `from`, or -1. */
export function findNextRecord(data: Buffer, from: number, salt: bigint): number {
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(RECORD_MAGIC, 0);
  for (let at = data.indexOf(magic, from); at >= 0; at = data.indexOf(magic, at + 1)) {
    if (parseRecord(data, at, salt)) return at;
  }
  return -1;
}
