/**
 * One object version as recorded in the metadata file on every drive of its erasure set. The record is identical
 * on every drive (only the inline shard bytes differ), so drives can be compared for quorum by value.
 */

/** Erasure layout of a version's data. */
export interface ErasureInfo {
  /** Data shards. */
  k: number;
  /** Parity shards. */
  m: number;
  /** Bytes of object data per erasure block. */
  blockSize: number;
  /** distribution[drivePosition] = shard index (0-based) held by that drive. */
  distribution: number[];
}

/** One part of the object's data (single PUTs have exactly one part, number 1). */
export interface PartRecord {
  number: number;
  size: number;
  etag: string;
}

/** Where a transitioned version lives in a cloud tier (filled by the tiering issue; kept opaque here). */
export interface TierState {
  /** The tier's name: the version's storage class, except while `status` is `transitioning` (an intent only). */
  tier: string;
  status: string;
  [field: string]: unknown;
}

/**
 * Commit state of a version on one drive. `live` is committed. `pending-delete` is a version whose removal is
 * in progress: kept (with its data) until the operation that removes it has reached quorum, so a crash mid-way can
 * still resolve to the old state. `replacedBy` names the version whose commit removes it.
 */
export type VersionState = 'live' | 'pending-delete';

/** Content headers S3 stores with an object and returns on GET/HEAD. */
export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

/** A version record. */
export interface ObjectVersion extends ContentHeaders {
  versionId: string;
  type: 'object' | 'delete-marker';
  state: VersionState;
  replacedBy?: string;
  /** Milliseconds since the epoch. */
  modTime: number;
  size: number;
  etag: string;
  userMetadata: Record<string, string>;
  tags: Record<string, string>;
  checksums: Record<string, string>;
  storageClass: string;
  erasure: ErasureInfo;
  /**
   * Unique id of this version's data: the data directory name, or for inline versions the key of its shard frame
   * in the metadata file. A metadata-only update keeps it; new data always gets a new one.
   */
  dataDir: string;
  /** Data lives in the metadata file (small objects and empty ones), not in a data directory. */
  inline: boolean;
  /**
   * No local data: the version's bytes live only in its cloud tier (`tier`), released by
   * ObjectLayer.releaseVersionData. `inline` is then false and `dataDir` names nothing on disk. Absent (older
   * records, and every version with local data) means local, so records written before this flag existed read as
   * they always did.
   */
  remote?: boolean;
  parts: PartRecord[];
  /** Bumped by every metadata-only update, so drives holding different revisions never look alike. */
  revision?: number;
  /** Multipart upload this version was completed from (so a retried Complete can answer with the result). */
  uploadId?: string;
  /** When the version became noncurrent (ms), for NoncurrentDays rules. */
  successorModTime?: number;
  tier?: TierState;
  /** Free-form lifecycle bookkeeping (restore state, intents) for later issues. */
  lifecycle?: Record<string, unknown>;
}

/**
 * Identity of a version's content: two drives agree on a version when their signatures are equal. A remote
 * version's signature ends in `|remote` (a local record's is unchanged from before remote versions existed), so a
 * drive that missed a release never agrees with one that has it.
 */
export function versionSignature(v: ObjectVersion): string {
  const sig = `${v.versionId}|${v.type}|${v.modTime}|${v.size}|${v.etag}|${v.dataDir}|${v.revision ?? 0}|${v.erasure.k}+${v.erasure.m}`;
  return v.remote ? `${sig}|remote` : sig;
}

/** The version's data lives in a data directory (not inline, not only in a tier, and not a delete marker). */
export function hasDataDir(v: ObjectVersion): boolean {
  return v.type === 'object' && !v.inline && v.remote !== true;
}
