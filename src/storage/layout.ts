/**
 * Where things live on a drive, and how user-chosen names become safe relative paths.
 *
 * A drive root holds one directory per bucket and the system volume `.tiergate.sys` (format file, bucket configs,
 * multipart staging, temp staging). An object `bucket/a/b/c` lives in the directory `<root>/bucket/a/b/c/`, which
 * holds its metadata file and one data directory per version that is not inline:
 *
 *     <root>/bucket/a/b/c/%meta            versions + inline shards (see meta/meta-file.ts)
 *     <root>/bucket/a/b/c/%d.<uuid>/part.1 erasure shard file of part 1 (see erasure/bitrot.ts)
 *
 * Keys are arbitrary UTF-8 up to 1024 bytes, so each `/`-separated segment is escaped: `%` becomes `%25`, NUL `%00`,
 * an empty segment (from `//`, a leading or trailing `/`) becomes `%`, and `.` / `..` become `%2E` / `%2E%2E`.
 * An escaped segment never has `%` followed by anything but two upper-case hex digits (or nothing), so names that
 * start with `%` and a lower-case letter are reserved for us and can never collide with a key. Segments whose
 * escaped form exceeds MAX_SEGMENT bytes (file names are limited to 255 bytes) become `%h.<sha256>` directories
 * holding a `%name` file with the raw segment, so listing can still sort by the real name.
 *
 * Paths built here never contain `..`, never start with `/`, and never contain NUL: a key cannot escape the root.
 */
import { createHash } from 'node:crypto';
import { storageError } from './errors';

/** The system volume on every drive. */
export const SYS_VOLUME = '.tiergate.sys';
/** Temp staging: every write is assembled here and renamed into place. Wiped at boot. */
export const TMP_DIR = 'tmp';
/**
 * Stage marks (stage.ts): records in the metadata log under this directory of the system volume. They have only
 * ever been log records (never %meta files), so nothing looks for a file there.
 */
export const STAGE_MARKS = 'stage-marks';
/** Multipart uploads in progress. */
export const MULTIPART_DIR = 'multipart';
/** Per-bucket records and configuration documents. */
export const BUCKETS_DIR = 'buckets';
/** Directory of the system volume holding deployment-wide configuration documents (the tier registry). */
export const SYSTEM_CONFIG_DIR = 'config';
/** The drive's identity file. */
export const FORMAT_FILE = 'format.json';

/** Name of the metadata file inside an object directory. */
export const META_FILE = '%meta';
/** Prefix of data directory names inside an object directory. */
export const DATA_DIR_PREFIX = '%d.';
/** Prefix of hashed long-segment directory names. */
export const HASHED_PREFIX = '%h.';
/** File inside a hashed directory that holds the raw segment. */
export const NAME_FILE = '%name';
/** Longest escaped segment kept as a plain directory name. */
export const MAX_SEGMENT = 200;
/** S3's limit on key length in bytes. */
export const MAX_KEY_BYTES = 1024;

/** True for directory entries that belong to us rather than to the key namespace. */
export function isReservedName(name: string): boolean {
  return name.length >= 2 && name[0] === '%' && name[1] >= 'a' && name[1] <= 'z';
}

/** File name of a part's shard file inside a data directory. */
export function partFileName(partNumber: number): string {
  return `part.${partNumber}`;
}

/** Name of a data directory for a data dir id. */
export function dataDirName(dataDir: string): string {
  return DATA_DIR_PREFIX + dataDir;
}

const HEX = '0123456789ABCDEF';

/** Escapes one key segment into a file name (without the long-segment hashing). */
export function escapeSegment(segment: string): string {
  if (segment === '') return '%';
  if (segment === '.') return '%2E';
  if (segment === '..') return '%2E%2E';
  if (!segment.includes('%') && !segment.includes('\0')) return segment;
  let out = '';
  for (const ch of segment) {
    if (ch === '%' || ch === '\0') {
      const c = ch.charCodeAt(0);
      out += '%' + HEX[c >> 4] + HEX[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

/** Inverse of escapeSegment. Returns null for names we never produce (reserved or foreign files). */
export function unescapeSegment(name: string): string | null {
  const raw = decodeSegment(name);
  return raw !== null && escapeSegment(raw) === name ? raw : null;
}

function decodeSegment(name: string): string | null {
  if (name === '%') return '';
  if (!name.includes('%')) return name;
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = name.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) return null;
    out += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  return out;
}

/** The directory name of a long segment. */
export function hashedSegmentName(segment: string): string {
  return HASHED_PREFIX + createHash('sha256').update(segment).digest('hex');
}

/** One path component of an object directory: its on-disk name and, for hashed ones, the raw segment. */
export interface PathComponent {
  name: string;
  hashedSegment?: string;
}

/** Validates a key as S3 does (1..1024 UTF-8 bytes) and splits it into on-disk path components. */
export function objectPathComponents(key: string): PathComponent[] {
  checkObjectKey(key);
  return segmentComponents(key.split('/'));
}

/** On-disk components of `/`-separated segments (also for listing prefixes, which need not be valid keys). */
export function segmentComponents(segments: string[]): PathComponent[] {
  return segments.map((segment) => {
    const escaped = escapeSegment(segment);
    if (Buffer.byteLength(escaped) <= MAX_SEGMENT) return { name: escaped };
    return { name: hashedSegmentName(segment), hashedSegment: segment };
  });
}

/** Relative directory (under the bucket volume) of an object. */
export function objectDir(key: string): string {
  return objectPathComponents(key)
    .map((c) => c.name)
    .join('/');
}

/** Throws InvalidObjectName / ObjectNameTooLong for keys S3 refuses. */
export function checkObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0)
    throw storageError('InvalidObjectName', 'object key is empty');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw storageError('ObjectNameTooLong', `object key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (/[\uD800-\uDFFF]/.test(key) && Buffer.from(key).toString() !== key) {
    throw storageError('InvalidObjectName', 'object key is not valid UTF-8');
  }
}

/** Bucket names as AWS allows them for new buckets (3-63 chars, lower-case, digits, dots, hyphens). */
export function checkBucketName(bucket: string): void {
  const ok =
    typeof bucket === 'string' &&
    bucket.length >= 3 &&
    bucket.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !bucket.includes('.-') &&
    !bucket.includes('-.') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket) &&
    !bucket.startsWith('xn--') &&
    !bucket.startsWith('sthree-') &&
    !bucket.startsWith('amzn-s3-demo-') &&
    !bucket.endsWith('-s3alias') &&
    !bucket.endsWith('--ol-s3') &&
    !bucket.endsWith('.mrap') &&
    !bucket.endsWith('--x-s3') &&
    !bucket.endsWith('--table-s3');
  if (!ok) throw storageError('InvalidBucketName', `invalid bucket name: ${String(bucket).slice(0, 80)}`);
}

/** Multipart staging directory of an upload (under the system volume). */
export function uploadDir(bucket: string, key: string, uploadId: string): string {
  return `${MULTIPART_DIR}/${bucket}/${uploadKeyHash(key)}/${uploadId}`;
}

/** Directory grouping the uploads of one key within the bucket's multipart directory. */
export function uploadKeyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Upload ids and data dir ids are UUIDs we generate; anything else from a client is rejected. */
export function isValidId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id);
}

/**
 * Sort key of a directory entry when walking in key byte order: an object `x` sorts at `x`, its subtree at `x/`.
 * Comparisons use UTF-8 bytes, as S3 orders keys.
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order equals code point (and so UTF-8 byte) order except that surrogates (code points above U+FFFF)
    // must sort after U+E000..U+FFFF.
    const sx = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const sy = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return sx - sy;
  }
  return a.length - b.length;
}

/** `name` inside the relative directory `dir` ('' is the volume's root). */
export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
