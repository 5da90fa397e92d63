/**
 * The ObjectLayer: the one surface the rest of tiergate (S3 handlers, lifecycle, admin) uses to store objects.
 *
 * Everything below it (drives, erasure sets, the pool of sets) is an implementation detail. Keys and bucket names
 * are user input; the layer validates them itself and never trusts its caller to have done so.
 */
import type { Readable } from 'node:stream';
import type { ContentHeaders, ObjectVersion, TierState } from './meta/version';

export type { ContentHeaders } from './meta/version';

/** Options of a PUT (single object) or of a new multipart upload. */
export interface PutObjectOptions extends ContentHeaders {
  /** Declared body length in bytes; -1 (or undefined) when unknown (aws-chunked without decoded length). */
  size?: number;
  /** `x-amz-meta-*` pairs, keys lower-cased without the prefix. */
  userMetadata?: Record<string, string>;
  /** Object tags as key/value pairs. */
  tags?: Record<string, string>;
  /**
   * Additional checksums the S3 layer verified (`crc32` → base64), stored and returned verbatim. Read once, after
   * the body has ended (so it may be a getter over checksums computed while the body streamed).
   */
  checksums?: Record<string, string>;
  storageClass?: string;
  /** Expected MD5 (hex) of the body; a mismatch fails the PUT with BadDigest and stores nothing. */
  expectedMd5?: string;
  /** Conditional create: fail with PreconditionFailed when a current version exists (S3 `If-None-Match: *`). */
  ifNoneMatch?: boolean;
  /** Conditional overwrite: fail with PreconditionFailed unless the current version has this ETag. */
  ifMatch?: string;
}

/** What a caller learns about one object version. */
export interface ObjectInfo extends ContentHeaders {
  bucket: string;
  key: string;
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  size: number;
  etag: string;
  modTime: Date;
  userMetadata: Record<string, string>;
  tags: Record<string, string>;
  checksums: Record<string, string>;
  storageClass: string;
  /** Sizes of the parts for multipart objects (for `partNumber` GETs); empty for single PUTs. */
  parts: { number: number; size: number; etag: string }[];
  /** Lifecycle tier state (transition intent, transitioned: tier name, remote key, sealed key...). */
  tier?: TierState;
  /**
   * Present (true) when the version has no local data: its bytes are only in its tier, and a GET goes through the
   * registered RemoteReader. A version with `tier` but without `remote` has a local copy (never released, or
   * restored) and reads locally.
   */
  remote?: true;
}

/** A byte range, both ends inclusive, already resolved against the object size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetObjectOptions {
  versionId?: string;
  range?: ByteRange;
}

export interface GetObjectResult {
  info: ObjectInfo;
  /** The requested bytes (the range when given); verified against bitrot hashes, reconstructed when needed. */
  stream: Readable;
  /**
   * The same bytes, when they were in memory anyway (inline objects): answering with one write skips a stream
   * pipeline per request. `stream` is then made only if asked for.
   */
  body?: Buffer;
}

export interface DeleteObjectOptions {
  versionId?: string;
  /**
   * Runs under the object's write lock before anything changes; false fails the delete with PreconditionFailed
   * and changes nothing. The lifecycle engine re-checks here that an action is still due for that exact version.
   */
  guard?: (view: DeleteGuardView) => boolean;
}

/** What a delete's guard sees, read under the object's write lock. */
export interface DeleteGuardView {
  /** The version the delete acts on: the one named by id, else the latest; undefined when the key has none. */
  target: ObjectInfo | undefined;
  /** Every version of the key, newest first: read only when the delete names a version id, else undefined. */
  versions?: readonly ObjectInfo[];
}

/**
 * A durable change, reported to ObjectLayer.onChange listeners after the write that made it returned from storage:
 * - `object`: a key's versions changed (a new version or delete marker, a version removed, a version updated in
 *   place: its tags, a transition's steps, a restore's state; a refused update is no change);
 * - `upload`: a multipart upload was started (the key's versions did not change);
 * - `lifecycle`: a bucket's lifecycle configuration was stored or removed.
 */
export type ObjectChange =
  | {
      kind: 'object';
      bucket: string;
      key: string;
      /**
       * The key's latest version after the change, when the write knows it without a read: the version a PUT,
       * copy or complete wrote, or an in-place update (tags, a transition's steps, a restore) changed while it was
       * the latest; null when a delete in an unversioned bucket left no version. Undefined otherwise.
       */
      latest?: ObjectInfo | null;
      /**
       * Set by an in-place update of one version (updateObjectVersion: tags, a transition's intent, a restore's
       * state): that version before and after. A listener can tell from it whether anything it looks at changed.
       */
      updated?: { before: ObjectInfo; after: ObjectInfo };
      /**
       * Versions this change removed that had tier state (`tier` set): their remote objects are no longer
       * referenced by this key, and the lifecycle engine queues their remote deletes. Set by deletes (by id, the
       * `null` version of an Unversioned delete, the `null` version a Suspended delete marker replaced) and by
       * PUT, copy and complete replacing the `null` version in Unversioned and Suspended buckets. Absent when none.
       */
      removed?: ObjectInfo[];
    }
  | { kind: 'upload'; bucket: string; key: string; uploadId: string; initiated: Date }
  | { kind: 'lifecycle'; bucket: string };

/** Hears about changes; the write that made one waits for its listeners (which must not throw). */
export type ChangeListener = (change: ObjectChange) => Promise<void>;

export interface DeleteObjectResult {
  /** The version removed (by id), or the delete marker added (without one). */
  versionId?: string;
  /** True when a delete marker was added, or the version removed was one. */
  deleteMarker: boolean;
  /**
   * Tier state of the version this delete removed (the one named by id, the `null` version of an Unversioned
   * delete, or the `null` version a Suspended delete marker replaced), when it had one: its remote object is no
   * longer referenced, and the caller queues its remote delete.
   */
  tier?: TierState;
  /** That removed version (only when it had tier state). */
  removed?: ObjectInfo;
}

/**
 * A bucket's versioning state, as S3 has it: `Unversioned` until versioning is first configured, then `Enabled` or
 * `Suspended` for good (a bucket never returns to unversioned).
 *
 * - Unversioned and Suspended: a write replaces the `null` version (the only one an unversioned bucket has); a
 *   DELETE without version id removes it (Unversioned) or replaces it with a `null` delete marker (Suspended).
 * - Enabled: every write adds a version with a new id, and a DELETE without version id adds a delete marker.
 */
export type VersioningStatus = 'Unversioned' | 'Enabled' | 'Suspended';

export interface ListVersionsOptions {
  prefix?: string;
  delimiter?: string;
  /** Start after this key, or, with versionIdMarker, after that version of this key. */
  keyMarker?: string;
  versionIdMarker?: string;
  maxKeys?: number;
}

export interface ListVersionsResult {
  /** Versions and delete markers: keys in byte order, each key's versions newest first. */
  versions: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextVersionIdMarker?: string;
}

export interface ListObjectsOptions {
  prefix?: string;
  delimiter?: string;
  /** List keys strictly after this one. */
  marker?: string;
  maxKeys?: number;
}

export interface ListObjectsResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned, for the next page's marker. */
  nextMarker?: string;
}

export interface BucketInfo {
  name: string;
  created: Date;
}

export interface MultipartUploadInfo {
  bucket: string;
  key: string;
  uploadId: string;
  initiated: Date;
  storageClass: string;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
  lastModified: Date;
}

export interface CompletePart {
  partNumber: number;
  etag: string;
}

export interface ListPartsResult {
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface ListUploadsOptions {
  prefix?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads?: number;
}

export interface ListUploadsResult {
  uploads: MultipartUploadInfo[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

/** Outcome of healing one object. */
export interface HealResult {
  bucket: string;
  key: string;
  /** Shard files or metadata copies rewritten, by drive endpoint. */
  healedDrives: string[];
  /** Versions that could not reach quorum on any drive combination and were removed as crash leftovers. */
  danglingRemoved: string[];
  /** Unreferenced data directories removed. */
  orphansRemoved: number;
  /** False when the object could not be fully healed (fewer than k good shards, or a drive refused writes). */
  ok: boolean;
  /** Why the heal is incomplete. */
  error?: string;
}

export interface HealSetReport {
  setIndex: number;
  objectsScanned: number;
  objectsHealed: number;
  failures: { bucket: string; key: string; error: string }[];
}

export interface DriveStatus {
  endpoint: string;
  setIndex: number;
  driveIndex: number;
  state: 'ok' | 'offline' | 'unformatted' | 'healing' | 'faulty';
  totalBytes?: number;
  freeBytes?: number;
}

export interface StorageStatus {
  deploymentId: string;
  sets: {
    index: number;
    dataShards: number;
    parityShards: number;
    drives: DriveStatus[];
    readQuorum: boolean;
    writeQuorum: boolean;
  }[];
}

/** A change to one version under the object's write lock; return the new version, or null to leave it as is. */
export type VersionUpdate = (current: ObjectVersion) => ObjectVersion | null;

/**
 * Serves GETs of versions whose data is only in a cloud tier (ObjectInfo.remote): registered by the layer above
 * (storage imports no tier code). `range`, when given, is already resolved against the version's size; the stream
 * must yield exactly those bytes (or the whole object without a range).
 */
export type RemoteReader = (info: ObjectInfo, range?: ByteRange) => Promise<Readable>;

/** The storage engine's public surface. */
export interface ObjectLayer {
  makeBucket(bucket: string): Promise<void>;
  headBucket(bucket: string): Promise<BucketInfo>;
  listBuckets(): Promise<BucketInfo[]>;
  deleteBucket(bucket: string): Promise<void>;
  /** Opaque per-bucket configuration documents (tagging, versioning, lifecycle), stored on every drive. */
  getBucketConfig(bucket: string, name: string): Promise<Buffer | null>;
  putBucketConfig(bucket: string, name: string, data: Buffer | null): Promise<void>;
  /**
   * Opaque deployment-wide configuration documents (the tier registry), stored on every drive and read by
   * majority, like bucket configuration. Names are 1-63 of [a-z0-9-].
   */
  getSystemConfig(name: string): Promise<Buffer | null>;
  putSystemConfig(name: string, data: Buffer | null): Promise<void>;
  getBucketVersioning(bucket: string): Promise<VersioningStatus>;
  /** Enables or suspends versioning (there is no way back to Unversioned). */
  putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void>;
  /**
   * The bucket's lifecycle configuration document, or null when it has none. Opaque to storage: the caller owns the
   * format (`lifecycle/rules/stored-lifecycle.ts`). Cached for a moment, like versioning.
   */
  getBucketLifecycle(bucket: string): Promise<Buffer | null>;
  /** Stores the lifecycle configuration document on every drive, replacing any previous one. */
  putBucketLifecycle(bucket: string, doc: Buffer): Promise<void>;
  /** Removes the lifecycle configuration (no error when there is none); DeleteBucket removes it too. */
  deleteBucketLifecycle(bucket: string): Promise<void>;

  putObject(
    bucket: string,
    key: string,
    body: AsyncIterable<Buffer>,
    opts?: PutObjectOptions,
  ): Promise<ObjectInfo>;
  getObjectInfo(bucket: string, key: string, opts?: { versionId?: string }): Promise<ObjectInfo>;
  getObject(bucket: string, key: string, opts?: GetObjectOptions): Promise<GetObjectResult>;
  /**
   * Every version and delete marker of one key, newest first, from the key's own metadata (its version pages
   * included); [] when it has none. Cheaper than ListObjectVersions for one key: no directory walk.
   */
  getObjectVersions(bucket: string, key: string): Promise<ObjectInfo[]>;
  deleteObject(bucket: string, key: string, opts?: DeleteObjectOptions): Promise<DeleteObjectResult>;
  /**
   * Compare-and-swap on one version's metadata (tags, lifecycle and tier state): `update` returns the new record, or
   * null to leave it as it is (then nothing is written and no change is told). Resolves to the version after.
   */
  updateObjectVersion(
    bucket: string,
    key: string,
    versionId: string,
    update: VersionUpdate,
  ): Promise<ObjectInfo>;
  /**
   * The last step of a transition: under the object's write lock, `update` sees the version's record and returns
   * it with its tier state (null refuses: PreconditionFailed, nothing changes). The new record, with no local data
   * (`remote`), is committed by quorum, and only then are the old shards (data dir or inline frames) removed. The
   * version's identity (id, time, size, ETag, parts, content headers, user metadata, checksums) cannot change
   * (InvalidArgument), and the record must carry `tier`. A crash leaves the old record with its data, or the new
   * one. Also releases a restored copy again (restore expiry).
   */
  releaseVersionData(
    bucket: string,
    key: string,
    versionId: string,
    update: VersionUpdate,
  ): Promise<ObjectInfo>;
  /**
   * Puts a local copy of a remote version back (RestoreObject): `body` (the version's bytes, from its tier) is
   * staged like a PUT, checked against the version's size and ETag (single-part: its MD5; multipart: each part's
   * MD5 against the part's ETag and the md5-of-md5s ETag), then, under the lock, `update` sees the still-remote
   * record and returns it with the caller's restore bookkeeping (null refuses: PreconditionFailed). The version
   * must still be remote with the same identity (PreconditionFailed otherwise; the staged data is discarded).
   */
  restoreVersionData(
    bucket: string,
    key: string,
    versionId: string,
    body: Readable,
    update: VersionUpdate,
  ): Promise<ObjectInfo>;
  /**
   * Registers (null removes) the reader that serves GETs of remote versions. Without one, such a GET fails with
   * InvalidObjectState; HEAD and listings never need it.
   */
  setRemoteReader(reader: RemoteReader | null): void;
  listObjects(bucket: string, opts?: ListObjectsOptions): Promise<ListObjectsResult>;
  listObjectVersions(bucket: string, opts?: ListVersionsOptions): Promise<ListVersionsResult>;

  newMultipartUpload(bucket: string, key: string, opts?: PutObjectOptions): Promise<string>;
  putObjectPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Buffer>,
    opts?: { size?: number; expectedMd5?: string },
  ): Promise<PartInfo>;
  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts?: { partNumberMarker?: number; maxParts?: number },
  ): Promise<ListPartsResult>;
  /**
   * Aborts an upload and removes its parts. A guard sees when the upload was initiated, under the upload's lock;
   * false fails the abort with PreconditionFailed (the lifecycle engine re-checks the rule there).
   */
  abortMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    opts?: { guard?: (initiated: Date) => boolean },
  ): Promise<void>;
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
  ): Promise<ObjectInfo>;
  listMultipartUploads(bucket: string, opts?: ListUploadsOptions): Promise<ListUploadsResult>;

  /**
   * Registers a listener for durable changes (see ObjectChange); returns its removal. Each write waits for the
   * listeners before it returns, so a listener sees every acknowledged change (unless the process dies between).
   */
  onChange(listener: ChangeListener): () => void;

  healObject(bucket: string, key: string): Promise<HealResult>;
  /** Sweep every object of every set (or of one set) and heal what is missing or corrupt. */
  healAll(opts?: { setIndex?: number }): Promise<HealSetReport[]>;
  status(): Promise<StorageStatus>;
  /**
   * Lets queued heals finish, then closes every drive (their metadata logs write what they still hold, removals
   * queued without a batch of their own included); nothing of this layer touches a drive afterwards.
   */
  shutdown(): Promise<void>;
}
