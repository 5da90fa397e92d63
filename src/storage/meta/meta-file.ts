/**
 * The metadata file (`%meta`) of one object on one drive: every version's record plus this drive's inline shards.
 *
 *     offset  size  field
 *     0       4     magic "TGMF"
 *     4       2     format version (u16 LE), currently 1
 *     6       2     reserved, 0
 *     8       4     JSON length J (u32 LE)
 *     12      J     JSON {"versions":[ObjectVersion...], "inline":{"<dataDir id>":[offset,length]}}
 *     12+J    ...   inline shard bytes (each one a bitrot frame: xxh64 + shard, see erasure/bitrot.ts)
 *     end-8   8     xxh64 of every byte before it (u64 LE)
 *
 * Versions are kept newest first. A reader refuses a wrong magic, an unknown format version or a bad checksum, so a
 * torn or rotten file is treated like a missing one and healed from the other drives.
 */
import { xxh64 } from '@node-rs/xxhash';
import { storageError } from '../errors';
import type { ObjectVersion } from './version';

const MAGIC = Buffer.from('TGMF');
/** Current metadata format version. */
export const META_FORMAT_VERSION = 1;
const HEADER = 12;
const TRAILER = 8;

/** Decoded metadata file of one drive. */
export interface MetaFile {
  versions: ObjectVersion[];
  /** Inline shard frame of this drive per version data id (ObjectVersion.dataDir). */
  inline: Map<string, Buffer>;
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
  json: Buffer;
}

/**
 * encodeMeta, reusing the JSON bytes of an earlier file in `seen` that has the very same version records (by
 * reference) and inline layout: the drives of a set are written the same records with different shard bytes.
 */
export function encodeMetaSharing(meta: MetaFile, seen: SharedEncode[]): Buffer {
  const inlineIndex: Record<string, [number, number]> = {};
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const v of meta.versions) {
    const blob = v.inline ? meta.inline.get(v.dataDir) : undefined;
    if (!blob) continue;
    inlineIndex[v.dataDir] = [offset, blob.length];
    blobs.push(blob);
    offset += blob.length;
  }
  const index = JSON.stringify(inlineIndex);
  let json = seen.find(
    (s) =>
      s.index === index &&
      s.versions.length === meta.versions.length &&
      s.versions.every((v, i) => v === meta.versions[i]),
  )?.json;
  if (!json) {
    json = Buffer.from(JSON.stringify({ versions: meta.versions, inline: inlineIndex }));
    seen.push({ versions: meta.versions.slice(), index, json });
  }
  const out = Buffer.allocUnsafe(HEADER + json.length + offset + TRAILER);
  MAGIC.copy(out, 0);
  out.writeUInt16LE(META_FORMAT_VERSION, 4);
  out.writeUInt16LE(0, 6);
  out.writeUInt32LE(json.length, 8);
  json.copy(out, HEADER);
  let pos = HEADER + json.length;
  for (const b of blobs) {
    b.copy(out, pos);
    pos += b.length;
  }
  out.writeBigUInt64LE(xxh64(out.subarray(0, pos)), pos);
  return out;
}

type ParsedJson = { versions: ObjectVersion[]; inline: Record<string, [number, number]> };

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
  if (version !== META_FORMAT_VERSION) {
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
    seen.push({ buf, jsonLen, parsed });
  }
  const inline = new Map<string, Buffer>();
  const dataStart = HEADER + jsonLen;
  for (const [dataDir, [off, len]] of Object.entries(parsed.inline ?? {})) {
    if (dataStart + off + len > end)
      throw storageError('FileCorrupt', 'metadata file: inline data out of range');
    inline.set(dataDir, buf.subarray(dataStart + off, dataStart + off + len));
  }
  return { versions: parsed.versions.slice(), inline };
}
