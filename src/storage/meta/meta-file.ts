/**
 * The metadata file (`%meta`) of one object on one drive: every version's record plus this drive's inline shards.
 *
 *     offset  size  field
 *     0       4     magic "TGMF"
 *     4       2     format version (u16 LE): 1, or 2 when the file references version pages
 *     6       2     reserved, 0
 *     8       4     JSON length J (u32 LE)
 *     12      J     JSON {"versions":[ObjectVersion...], "inline":{"<dataDir id>":[offset,length]},
 *                         "pages":[PageRef...]}       ("pages" only in format 2)
 *     12+J    ...   inline shard bytes (each one a bitrot frame: xxh64 + shard, see erasure/bitrot.ts)
 *     end-8   8     xxh64 of every byte before it (u64 LE)
 *
 * Versions are kept newest first. A key with many versions keeps most of them in version pages (meta/pages.ts):
 * files of this same format, without pages of their own, that the `%meta` file (the head) lists. Format 2 exists
 * so a format-1 reader refuses a head whose versions it could not all see, instead of losing the paged ones; a file
 * without pages is still written as format 1. A reader refuses a wrong magic, an unknown format version or a bad
 * checksum, so a torn or rotten file is treated like a missing one and healed from the other drives.
 */
import { xxh64 } from '@node-rs/xxhash';
import { storageError } from '../errors';
import type { PageRef } from './pages';
import type { ErasureInfo, ObjectVersion, PartRecord } from './version';

const MAGIC = Buffer.from('TGMF');
/** Format version of a metadata file without version pages. */
export const META_FORMAT_VERSION = 1;
/** Format version of a head that lists version pages. */
export const META_FORMAT_PAGED = 2;
const HEADER = 12;
const TRAILER = 8;

/** Decoded metadata file of one drive. */
export interface MetaFile {
  versions: ObjectVersion[];
  /** Inline shard frame of this drive per version data id (ObjectVersion.dataDir). */
  inline: Map<string, Buffer>;
  /** Version pages holding this drive's older versions (heads only; see meta/pages.ts). */
  pages?: PageRef[];
}

/** An empty metadata file. */
export function emptyMeta(): MetaFile {
  return { versions: [], inline: new Map() };
}

/** Serialises a metadata file. */
export function encodeMeta(meta: MetaFile): Buffer {
  return encodeMetaSharing(meta, []);
}

/** A serialised JSON part that later files with the same version records and inline layout reuse. */
export interface SharedEncode {
  versions: ObjectVersion[];
  index: string;
  pages: PageRef[] | undefined;
  json: Buffer;
  /** The whole encoding, when it carries no inline frames (and so is the same for every drive). */
  bytes?: Buffer;
}

/**
 * encodeMeta, reusing the JSON bytes of an earlier file in `seen` that has the very same version records (by
 * reference) and inline layout: the drives of a set are written the same records with different shard bytes.
 */
export function encodeMetaSharing(meta: MetaFile, seen: SharedEncode[]): Buffer {
  // The inline index is written as JSON text directly: an object keyed by data ids would make V8 grow a new hidden
  // class for every id it has not seen, which made this the costliest step of a small PUT.
  let index = '{';
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [dataDir, blob] of inlineFrames(meta)) {
    index += `${blobs.length ? ',' : ''}${JSON.stringify(dataDir)}:[${offset},${blob.length}]`;
    blobs.push(blob);
    offset += blob.length;
  }
  index += '}';
  const pages = meta.pages?.length ? meta.pages : undefined;
  let shared = seen.find(
    (s) =>
      s.index === index &&
      samePages(s.pages, pages) &&
      s.versions.length === meta.versions.length &&
      s.versions.every((v, i) => v === meta.versions[i]),
  );
  // Without inline frames the whole encoding is the same bytes (readers copy, never change them).
  if (shared?.bytes) return shared.bytes;
  if (!shared) {
    const text =
      `{"versions":${JSON.stringify(meta.versions)},"inline":${index}` +
      `${pages ? `,"pages":${JSON.stringify(pages)}` : ''}}`;
    shared = { versions: meta.versions.slice(), index, pages, json: Buffer.from(text) };
    seen.push(shared);
  }
  const json = shared.json;
  const out = Buffer.allocUnsafe(HEADER + json.length + offset + TRAILER);
  MAGIC.copy(out, 0);
  out.writeUInt16LE(pages ? META_FORMAT_PAGED : META_FORMAT_VERSION, 4);
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, HEADER);
  let pos = HEADER + json.length;
  for (const b of blobs) {
    b.copy(out, pos);
    pos += b.length;
  }
  out.writeBigUInt64LE(xxh64(out.subarray(0, pos)), pos);
  if (blobs.length === 0) shared.bytes = out;
  return out;
}

/** The inline frames an encoding carries, in its order: [data id, frame] of each version that has one. */
function inlineFrames(meta: MetaFile): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const v of meta.versions) {
    const blob = v.inline ? meta.inline.get(v.dataDir) : undefined;
    if (blob) out.push([v.dataDir, blob]);
  }
  return out;
}

/**
 * A decoded metadata file kept next to its encoding, so that reading it back needs neither a checksum pass nor a
 * JSON parse: the metadata log keeps one with each record it wrote while the record's bytes stay in its memory.
 * The records are frozen, deeply, because every later read of that record shares them (and a reader that changed
 * one would change what every other reader sees); the inline frames are not kept, only where the encoding has them.
 */
export interface MetaView {
  readonly versions: readonly ObjectVersion[];
  /** [data id, offset from the start of the inline bytes, length] of each inline frame. */
  readonly inline: readonly (readonly [string, number, number])[];
  readonly pages?: readonly PageRef[];
}

/** The view of `meta` as encodeMeta encodes it; freezes its records and page references. */
export function viewOf(meta: MetaFile): MetaView {
  return viewOfSharing(meta, []);
}

/**
 * viewOf, reusing a view in `seen` that describes `meta` exactly: the very same version records (by reference) and
 * page references, and inline frames of the same ids at the same offsets and lengths. The drives of a set are written
 * the same records with shards of one size, so one view serves all of them (a view holds no bytes: each drive's
 * frames are read from its own encoding), and a small PUT keeps one view in memory instead of one per drive.
 */
export function viewOfSharing(meta: MetaFile, seen: MetaView[]): MetaView {
  const frames = inlineFrames(meta);
  const pages = meta.pages?.length ? meta.pages : undefined;
  const same = seen.find(
    (s) =>
      s.versions.length === meta.versions.length &&
      s.versions.every((v, i) => v === meta.versions[i]) &&
      samePages(s.pages, pages) &&
      sameLayout(s.inline, frames),
  );
  if (same) return same;
  const inline: [string, number, number][] = [];
  let offset = 0;
  for (const [dataDir, blob] of frames) {
    inline.push([dataDir, offset, blob.length]);
    offset += blob.length;
  }
  const view = newView(meta, inline, pages);
  seen.push(view);
  return view;
}

/** True when a view's inline layout is where `frames` (inlineFrames of a file) go in its encoding. */
function sameLayout(inline: MetaView['inline'], frames: [string, Buffer][]): boolean {
  if (inline.length !== frames.length) return false;
  let offset = 0;
  for (let i = 0; i < frames.length; i++) {
    const [id, off, len] = inline[i];
    if (id !== frames[i][0] || off !== offset || len !== frames[i][1].length) return false;
    offset += len;
  }
  return true;
}

function newView(meta: MetaFile, inline: [string, number, number][], pages: PageRef[] | undefined): MetaView {
  for (const v of meta.versions) freezeRecord(v);
  if (pages) freezeDeep(pages);
  return pages
    ? { versions: meta.versions.slice(), inline, pages }
    : { versions: meta.versions.slice(), inline };
}

/**
 * The MetaFile a view describes, its inline frames read from `encoded` (the encoding the view was made with, which
 * must not change while they are in use). Each call gets its own versions array and inline map; the records are
 * the view's, frozen.
 */
export function fromView(view: MetaView, encoded: Buffer): MetaFile {
  const dataStart = HEADER + encoded.readUInt32LE(8);
  const inline = new Map<string, Buffer>();
  for (const [dataDir, off, len] of view.inline) {
    inline.set(dataDir, encoded.subarray(dataStart + off, dataStart + off + len));
  }
  const out: MetaFile = { versions: view.versions.slice(), inline };
  if (view.pages) out.pages = view.pages.slice();
  return out;
}

/**
 * Freezes a version record and every object in it. The fields of known shape are frozen one by one, which costs a
 * fifth of walking the record generically (measured: 0.7 against 2.3-4 us a record; every small PUT freezes one);
 * the free-form ones (tier, lifecycle) are walked. meta-file.spec.ts checks that nothing in a record stays unfrozen.
 */
function freezeRecord(v: ObjectVersion): void {
  if (Object.isFrozen(v)) return;
  // Tolerant of a record read from disk without these (freezing must never be what fails a write).
  Object.freeze((v.erasure as ErasureInfo | undefined)?.distribution);
  Object.freeze(v.erasure);
  for (const part of (v.parts as PartRecord[] | undefined) ?? []) Object.freeze(part);
  Object.freeze(v.parts);
  Object.freeze(v.userMetadata);
  Object.freeze(v.tags);
  Object.freeze(v.checksums);
  if (v.tier) freezeDeep(v.tier);
  if (v.lifecycle) freezeDeep(v.lifecycle);
  Object.freeze(v);
}

/** Freezes a JSON value and everything in it (stops at what is frozen already). */
function freezeDeep(value: object): void {
  if (Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value) as unknown[]) if (typeof v === 'object' && v !== null) freezeDeep(v);
}

/** Equal page lists (drives list equal pages in distinct arrays, often of the very same reference objects). */
function samePages(a: readonly PageRef[] | undefined, b: readonly PageRef[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every(
    (r, i) =>
      r === b[i] ||
      (r.id === b[i].id &&
        r.count === b[i].count &&
        r.hasNull === b[i].hasNull &&
        r.dataDirs === b[i].dataDirs &&
        r.newest[0] === b[i].newest[0] &&
        r.newest[1] === b[i].newest[1] &&
        r.ids?.[0] === b[i].ids?.[0] &&
        r.ids?.[1] === b[i].ids?.[1]),
  );
}

type ParsedJson = {
  versions: ObjectVersion[];
  inline: Record<string, [number, number]>;
  pages?: PageRef[];
};

/**
 * A decoded file whose JSON another drive's file may share: the drives of a set hold the same records and differ
 * only in their inline shard bytes, so the JSON is parsed once per object read instead of once per drive.
 */
export interface SharedDecode {
  buf: Buffer;
  jsonLen: number;
  parsed: ParsedJson;
}

/** Parses a metadata file; throws FileCorrupt on any inconsistency. */
export function decodeMeta(buf: Buffer): MetaFile {
  return decodeMetaSharing(buf, []);
}

/**
 * decodeMeta, reusing the parsed JSON of an earlier file in `seen` when this file's JSON bytes are identical (each
 * MetaFile still gets its own versions array; the version records themselves are shared and must not be mutated).
 * Adds this file to `seen` when it parsed anew.
 */
export function decodeMetaSharing(buf: Buffer, seen: SharedDecode[]): MetaFile {
  if (buf.length < HEADER + TRAILER || !buf.subarray(0, 4).equals(MAGIC)) {
    throw storageError('FileCorrupt', 'metadata file: bad magic');
  }
  const version = buf.readUInt16LE(4);
  if (version !== META_FORMAT_VERSION && version !== META_FORMAT_PAGED) {
    throw storageError('FileCorrupt', `metadata file: unsupported format version ${version}`);
  }
  const end = buf.length - TRAILER;
  if (xxh64(buf.subarray(0, end)) !== buf.readBigUInt64LE(end)) {
    throw storageError('FileCorrupt', 'metadata file: checksum mismatch');
  }
  const jsonLen = buf.readUInt32LE(8);
  if (HEADER + jsonLen > end) throw storageError('FileCorrupt', 'metadata file: truncated');
  let parsed = seen.find(
    (s) =>
      s.jsonLen === jsonLen && buf.compare(s.buf, HEADER, HEADER + jsonLen, HEADER, HEADER + jsonLen) === 0,
  )?.parsed;
  if (!parsed) {
    try {
      parsed = JSON.parse(buf.toString('utf8', HEADER, HEADER + jsonLen)) as ParsedJson;
    } catch {
      throw storageError('FileCorrupt', 'metadata file: bad JSON');
    }
    if (!Array.isArray(parsed.versions)) throw storageError('FileCorrupt', 'metadata file: no versions');
    if (
      (version === META_FORMAT_PAGED) !== Array.isArray(parsed.pages) ||
      !(parsed.pages ?? []).every(isPageRef)
    ) {
      throw storageError('FileCorrupt', 'metadata file: bad version pages');
    }
    seen.push({ buf, jsonLen, parsed });
  }
  const inline = new Map<string, Buffer>();
  const dataStart = HEADER + jsonLen;
  for (const [dataDir, [off, len]] of Object.entries(parsed.inline ?? {})) {
    if (dataStart + off + len > end)
      throw storageError('FileCorrupt', 'metadata file: inline data out of range');
    inline.set(dataDir, buf.subarray(dataStart + off, dataStart + off + len));
  }
  const out: MetaFile = { versions: parsed.versions.slice(), inline };
  if (parsed.pages) out.pages = parsed.pages;
  return out;
}

/** Shape check of a page reference read from disk (its fields decide which files are read). */
function isPageRef(r: unknown): r is PageRef {
  const p = r as PageRef;
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.id === 'string' &&
    /^[0-9a-f-]{36}$/.test(p.id) &&
    Number.isInteger(p.count) &&
    Array.isArray(p.newest) &&
    typeof p.newest[0] === 'number' &&
    typeof p.newest[1] === 'string' &&
    (p.ids === null || (Array.isArray(p.ids) && p.ids.every((x) => typeof x === 'string'))) &&
    typeof p.hasNull === 'boolean' &&
    typeof p.dataDirs === 'boolean'
  );
}
