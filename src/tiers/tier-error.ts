/**
 * TierError: the one error type a tier backend throws, so callers (the transition, read-through, restore and
 * remote-delete jobs) decide what to do from a code and never from a cloud SDK's error shapes.
 *
 * Invariant: `retryable` is true exactly for failures a later attempt can cure without anyone changing anything
 * (network errors, timeouts, 5xx, throttling, a truncated response); everything that needs a person (wrong or
 * revoked credentials, a missing bucket, a bad configuration) is permanent, so jobs fail at once with the cause
 * instead of backing off for hours. `NotFound` and `ObjectArchived` are answers, not outages: neither is retryable.
 * Neither is `501 NotImplemented`: a server that lacks an operation (s3rver's ListMultipartUploads) will lack it on
 * the next attempt too.
 */

/** What went wrong, as a caller needs to know it. */
export type TierErrorCode =
  /** Connection refused or reset, DNS failure, timeout, 5xx, truncated response: retry with backoff. */
  | 'Unavailable'
  /** The cloud asked us to slow down (429, SlowDown, Throttling): retry with backoff. */
  | 'Throttled'
  /** The object does not exist. */
  | 'NotFound'
  /** An archive-class object that must be restored before it can be read (403 InvalidObjectState). */
  | 'ObjectArchived'
  /** The operation does not apply to the object in its current state (e.g. restore of a STANDARD object). */
  | 'InvalidObjectState'
  /** Credentials are wrong, expired or not allowed to do this (bad signature, unknown key, access denied). */
  | 'AccessDenied'
  /** The tier's bucket does not exist. */
  | 'NoSuchBucket'
  /** The range asked for does not overlap the object. */
  | 'InvalidRange'
  /** The tier definition or a request argument is invalid (caught before or by the cloud). */
  | 'InvalidConfig'
  /** Any other refusal the cloud gave (a 4xx we do not map): permanent. */
  | 'Rejected';

const RETRYABLE: ReadonlySet<TierErrorCode> = new Set(['Unavailable', 'Throttled']);

/** A classified tier failure; `cause` keeps the SDK's own error for logs. */
export class TierError extends Error {
  /** Whether retrying later, unchanged, can succeed. */
  readonly retryable: boolean;

  constructor(
    readonly code: TierErrorCode,
    message: string,
    readonly details: {
      /** The tier's name. */
      tier?: string;
      /** The operation that failed (`put`, `get`, `head`, ...). */
      operation?: string;
      /** HTTP status the cloud answered, if it answered. */
      status?: number;
      /** The cloud's own error code (`SignatureDoesNotMatch`, `ECONNREFUSED`, ...). */
      cloudCode?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TierError';
    this.retryable = RETRYABLE.has(code);
  }
}

/**
 * A put's failure as the put's caller must see it: a multipart upload that vanished under the put (NoSuchUpload:
 * aborted by a bucket rule or an operator) is cured by the next attempt, which starts a new one.
 */
export function putFailure(err: TierError): TierError {
  if (err.details.cloudCode !== 'NoSuchUpload' || err.retryable) return err;
  return new TierError('Unavailable', err.message, err.details);
}

/** True for a TierError. */
export function isTierError(err: unknown): err is TierError {
  return err instanceof TierError;
}

/** Node socket and DNS error codes that mean "the tier is not reachable right now". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Error names (Node, SDKs, urllib) that mean a network-level failure or timeout. */
const NETWORK_NAMES = new Set([
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ConnectionTimeoutError',
  'ResponseTimeoutError',
  'ConnectionRefusedError',
  'RequestError',
  'ResponseError',
  'SocketError',
  'SocketResetError',
]);

/** Cloud error codes of throttling, on either cloud. */
const THROTTLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
]);

/**
 * Cloud error codes a later attempt cures although some come with a 4xx status: S3's RequestTimeout (400: the
 * connection idled mid-body) and OperationAborted (409: a conflicting operation on the key is in progress);
 * BadDigest and IncompleteBody (the body was damaged or cut short on its way, the source re-reads it); and expired
 * temporary credentials (an instance profile or RAM role: the SDK fetches fresh ones for the next attempt; a tier
 * with static keys has no token to expire).
 */
const TRANSIENT_CODES = new Set([
  'RequestTimeout',
  'OperationAborted',
  'BadDigest',
  'IncompleteBody',
  'ExpiredToken',
  'TokenRefreshRequired',
  'SecurityTokenExpired',
  'InternalError',
  'ServiceUnavailable',
]);

/** Cloud error codes of bad credentials or refused permission (S3 and OSS spell them alike). */
const AUTH_CODES = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidSecurity',
  'InvalidToken',
  'InvalidClientTokenId',
  'CredentialsProviderError',
  'AuthorizationHeaderMalformed',
  'RequestTimeTooSkewed',
]);

/** What a backend could read off a failed call: HTTP status (if any), the cloud's code, and a message. */
export interface RawFailure {
  status?: number;
  cloudCode?: string;
  /** Node's `err.code` (ECONNREFUSED...) or the error's name when no HTTP answer arrived. */
  networkCode?: string;
  message: string;
}

/**
 * Classifies a failed call. Order matters: a network error wins over everything (no answer came), then the
 * cloud's code, then the HTTP status class.
 */
export function classify(f: RawFailure): TierErrorCode {
  if (f.networkCode !== undefined && (NETWORK_CODES.has(f.networkCode) || NETWORK_NAMES.has(f.networkCode)))
    return 'Unavailable';
  if (
    f.networkCode !== undefined &&
    /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_)/.test(f.networkCode)
  )
    return 'InvalidConfig';
  const code = f.cloudCode ?? '';
  if (THROTTLE_CODES.has(code) || f.status === 429) return 'Throttled';
  if (TRANSIENT_CODES.has(code)) return 'Unavailable';
  if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchVersion') return 'NotFound';
  if (code === 'NoSuchBucket') return 'NoSuchBucket';
  if (code === 'InvalidObjectState') return 'ObjectArchived';
  if (code === 'InvalidRange') return 'InvalidRange';
  if (AUTH_CODES.has(code)) return 'AccessDenied';
  if (code === 'NotImplemented' || f.status === 501) return 'Rejected';
  if (f.status !== undefined) {
    if (f.status >= 500 || f.status === 408) return 'Unavailable';
    if (f.status === 401 || f.status === 403) return 'AccessDenied';
    if (f.status === 404) return 'NotFound';
    if (f.status === 416) return 'InvalidRange';
    return 'Rejected';
  }
  // No HTTP answer: a transport failure we have no name for is still a transport failure (retryable); an error
  // with neither an answer nor a transport code is a local fault that retrying will not cure.
  return f.networkCode !== undefined ? 'Unavailable' : 'Rejected';
}

/** True for a TierError saying the cloud does not implement the operation (`501 NotImplemented`). */
export function isNotImplemented(err: unknown): err is TierError {
  return (
    err instanceof TierError &&
    err.code === 'Rejected' &&
    (err.details.cloudCode === 'NotImplemented' || err.details.status === 501)
  );
}
