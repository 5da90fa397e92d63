/**
 * Storage errors. Each has a stable `code` the S3 layer maps to an S3 error (see src/s3 error catalog), so nothing
 * above the ObjectLayer ever has to parse a message.
 */

/** Base class of every error the storage engine throws on purpose. */
export class StorageError extends Error {
  constructor(
    readonly code: StorageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** Stable codes of storage errors. */
export type StorageErrorCode =
  | 'BucketNotFound'
  | 'BucketExists'
  | 'BucketNotEmpty'
  | 'InvalidBucketName'
  | 'ObjectNotFound'
  | 'VersionNotFound'
  | 'MethodNotAllowed'
  | 'InvalidObjectName'
  | 'ObjectNameTooLong'
  | 'InvalidRange'
  /** A read of a version whose data is only in a cloud tier, with no reader registered (S3 InvalidObjectState). */
  | 'InvalidObjectState'
  | 'BadDigest'
  | 'IncompleteBody'
  | 'PreconditionFailed'
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'InvalidArgument'
  | 'ReadQuorum'
  | 'WriteQuorum'
  | 'DriveOffline'
  /** Another live process owns the drive (drive-owner.ts). */
  | 'DriveInUse'
  | 'DriveFaulty'
  | 'FileNotFound'
  | 'FileCorrupt'
  | 'UnformattedDrive'
  | 'ForeignDrive'
  | 'InvalidFormat'
  /** The cluster-wide lock of an object could not be had: busy for the whole wait, or Redis unreachable (SlowDown). */
  | 'LockTimeout'
  /** A service the request needs (the job queue's Redis) is unreachable or stalled: retry later (S3 503). */
  | 'ServiceUnavailable';

/** Shorthand constructor. */
export function storageError(code: StorageErrorCode, message: string): StorageError {
  return new StorageError(code, message);
}

/** True when `err` is a StorageError with one of the given codes. */
export function isStorageError(err: unknown, ...codes: StorageErrorCode[]): err is StorageError {
  return err instanceof StorageError && (codes.length === 0 || codes.includes(err.code));
}

/** Drive-level "this file does not exist": not a fault, a fact used in quorum counting. */
export function fileNotFound(what: string): StorageError {
  return new StorageError('FileNotFound', `not found: ${what}`);
}
