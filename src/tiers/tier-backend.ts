/**
 * TierBackend: what the lifecycle engine needs from a cloud bucket (after MinIO's `cmd/warm-backend.go`): put a
 * stream, read it back whole or by range, head, delete, list, probe, start a cloud-side restore, and list and abort
 * the multipart uploads left open under the prefix. One file per cloud implements it (aws-s3-tier.ts,
 * alibaba-oss-tier.ts); test/tiers/tier-contract.ts holds both to one contract.
 *
 * Invariants every backend keeps:
 * - Keys are opaque: the caller names objects; the backend stores them at `prefix + key` and `list` gives them back
 *   without the prefix. Nothing outside the prefix is ever read, listed or deleted.
 * - Bodies stream: `put` holds at most a few parts in memory whatever the object's size (large objects go
 *   multipart); `get` returns the cloud's response stream, asking for exactly the range given, and fails the stream
 *   (never ends it early) if fewer bytes arrive than the response announced.
 * - Every failure is a TierError (tier-error.ts), classified retryable or permanent.
 * - `delete` and `abortUpload` are idempotent: deleting an absent object, or aborting an upload that is no longer
 *   open (completed, aborted), succeeds.
 * - A cloud that cannot list multipart uploads (s3rver) fails `listUploads` with a TierError that
 *   `isNotImplemented` (tier-error.ts) recognises, permanent, so callers can report it and carry on.
 * - A backend is immutable once built: credential rotation builds a new one and the registry swaps it in; `close`
 *   releases the old one's sockets once no caller uses it.
 */
import type { Readable } from 'node:stream';
import type { TierType } from './tier-definition';

/** What `put` needs besides the bytes. */
export interface TierPutOptions {
  /** Exact size when known: small known sizes go up in one request without buffering. */
  size?: number;
  /** User metadata stored with the object (printable ASCII keys and values). */
  metadata?: Record<string, string>;
  /** Overrides the tier's storage class for this object. */
  storageClass?: string;
  /** Cancels the upload (an unfinished multipart upload is aborted). */
  signal?: AbortSignal;
}

/** What the cloud stored. */
export interface TierPutResult {
  etag: string;
  /** Set when the bucket is versioned. */
  versionId?: string;
  /** Bytes sent. */
  size: number;
  /**
   * Hex MD5 of the bytes sent, when they went up in one PutObject: an ETag equal to it is the cloud's receipt for
   * exactly those bytes. Absent for multipart uploads (whose ETags are not an MD5 of the object).
   */
  md5?: string;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Cloud-side restore state of an archive-class object. */
export interface TierRestoreStatus {
  /** A restore is running; the object is not readable yet. */
  ongoing: boolean;
  /** When the restored copy expires (set once a restore completed). */
  expiry?: Date;
}

/** An object's facts as the cloud reports them. */
export interface TierObjectInfo {
  size: number;
  etag: string;
  /** The cloud's own class name (`STANDARD` is reported when S3 omits the header). */
  storageClass: string;
  /** User metadata, keys lower-case. */
  metadata: Record<string, string>;
  lastModified?: Date;
  /** Present when a restore was requested for the object. */
  restore?: TierRestoreStatus;
}

/** One listed object; `key` is opaque (the tier prefix removed). */
export interface TierListEntry {
  key: string;
  size: number;
  storageClass?: string;
  lastModified?: Date;
}

/** One multipart upload open in the cloud (started, neither completed nor aborted); `key` is opaque. */
export interface TierUploadEntry {
  key: string;
  uploadId: string;
  /** When the upload was started, by the cloud's clock. */
  initiated?: Date;
}

/**
 * The answer to a restore request: `started` (202), `in-progress` (409 RestoreAlreadyInProgress), or
 * `already-restored` (200: the cloud extends the restored copy's expiry).
 */
export type TierRestoreOutcome = 'started' | 'in-progress' | 'already-restored';

/** A cloud bucket under a prefix, as the lifecycle engine uses it. */
export interface TierBackend {
  /** The tier's name (its storage class in our namespace). */
  readonly name: string;
  readonly type: TierType;
  /** The class objects are written with unless `put` says otherwise. */
  readonly storageClass: string;

  /**
   * Bytes of body `put` holds in memory at most while it uploads a body of `size` bytes (undefined: unsized): 0 when
   * the body streams straight through, else the parts it buffers. Callers running many uploads at once budget on it.
   */
  putMemory(size?: number): number;
  /** Uploads `body` to `key`; large or unsized bodies go multipart with bounded memory. */
  put(key: string, body: Readable, opts?: TierPutOptions): Promise<TierPutResult>;
  /** The object's bytes, or exactly `range` of them. Archive-class objects fail with ObjectArchived until restored. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's facts, or null when it does not exist. */
  head(key: string): Promise<TierObjectInfo | null>;
  /** Removes the object; absent is success. */
  delete(key: string): Promise<void>;
  /** Every object whose opaque key starts with `prefix`, in key order, paging as needed. */
  list(prefix?: string): AsyncIterable<TierListEntry>;
  /**
   * Every multipart upload open under the prefix whose opaque key starts with `prefix`, in key order (a key's
   * uploads oldest first), paging as needed. Parts of an open upload are stored, and billed, until it is aborted.
   */
  listUploads(prefix?: string): AsyncIterable<TierUploadEntry>;
  /** Aborts an open multipart upload, deleting its parts; an upload that is no longer open is success. */
  abortUpload(key: string, uploadId: string): Promise<void>;
  /**
   * Checks the tier works: put, get (bytes compared), list and delete of a small probe object under the prefix.
   * Throws TierProbeError naming the step that failed.
   */
  probe(): Promise<void>;
  /** Starts a cloud-side restore of an archive-class object for `days` days. */
  restore(key: string, days: number): Promise<TierRestoreOutcome>;
  /** Whether objects of `storageClass` need a restore before they can be read. */
  isArchiveClass(storageClass: string): boolean;
  /** Releases sockets; the backend must not be used afterwards. */
  close(): void;
}
