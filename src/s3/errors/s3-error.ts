/**
 * S3Error: the one error type the S3 layer throws. The gateway turns it into an XML error response (or a bare status
 * for HEAD); anything else thrown becomes InternalError with its details logged, never sent.
 */
import { KmsError } from '../../kms/kms-provider';
import { isStorageError, type StorageError } from '../../storage/errors';
import { TierError } from '../../tiers/tier-error';
import { S3_ERRORS, type S3ErrorCode } from './catalog';

/** An S3 protocol error. */
export class S3Error extends Error {
  readonly status: number;

  constructor(
    readonly code: S3ErrorCode,
    message?: string,
    /** Extra XML elements of the error body (e.g. Key, BucketName, ArgumentName). */
    readonly extra: Record<string, string> = {},
    /** Headers to send with the error (e.g. x-amz-delete-marker). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message ?? S3_ERRORS[code].message);
    this.name = code;
    this.status = S3_ERRORS[code].status;
  }
}

const STORAGE_TO_S3: Record<StorageError['code'], S3ErrorCode> = {
  BucketNotFound: 'NoSuchBucket',
  BucketExists: 'BucketAlreadyOwnedByYou',
  BucketNotEmpty: 'BucketNotEmpty',
  InvalidBucketName: 'InvalidBucketName',
  ObjectNotFound: 'NoSuchKey',
  VersionNotFound: 'NoSuchVersion',
  MethodNotAllowed: 'MethodNotAllowed',
  InvalidObjectName: 'InvalidArgument',
  ObjectNameTooLong: 'KeyTooLongError',
  InvalidRange: 'InvalidRange',
  InvalidObjectState: 'InvalidObjectState',
  BadDigest: 'BadDigest',
  IncompleteBody: 'IncompleteBody',
  PreconditionFailed: 'PreconditionFailed',
  NoSuchUpload: 'NoSuchUpload',
  InvalidPart: 'InvalidPart',
  InvalidPartOrder: 'InvalidPartOrder',
  EntityTooSmall: 'EntityTooSmall',
  InvalidArgument: 'InvalidArgument',
  ReadQuorum: 'InsufficientReadQuorum',
  WriteQuorum: 'InsufficientWriteQuorum',
  DriveOffline: 'InternalError',
  DriveInUse: 'InternalError',
  DriveFaulty: 'InternalError',
  FileNotFound: 'InternalError',
  FileCorrupt: 'InternalError',
  UnformattedDrive: 'InternalError',
  ForeignDrive: 'InternalError',
  InvalidFormat: 'InternalError',
  LockTimeout: 'SlowDown',
  ServiceUnavailable: 'ServiceUnavailable',
};

/** Maps a storage error to the S3 error a client should see; other errors pass through unchanged. */
export function toS3Error(err: unknown): unknown {
  if (err instanceof S3Error) return err;
  if (isStorageError(err)) {
    const code = STORAGE_TO_S3[err.code];
    // Storage messages are written for operators; clients get AWS's wording except for argument errors.
    return new S3Error(code, code === 'InvalidArgument' ? err.message : undefined);
  }
  // A read through a cloud tier: a cloud or KMS that is down is a 503 to retry, not an internal error; an archived
  // object is the client's InvalidObjectState. Other tier and KMS failures (credentials, a missing key or remote
  // object) stay InternalError: an operator must act, and the details are logged, not sent.
  if (err instanceof TierError) {
    if (err.code === 'ObjectArchived' || err.code === 'InvalidObjectState')
      return new S3Error('InvalidObjectState');
    if (err.code === 'Throttled') return new S3Error('SlowDown');
    if (err.retryable) return new S3Error('ServiceUnavailable');
  }
  if (err instanceof KmsError && err.retryable) return new S3Error('ServiceUnavailable');
  return err;
}
