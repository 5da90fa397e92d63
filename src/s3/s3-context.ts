/**
 * What every S3 handler gets: the parsed request (bucket, key, query, headers), the response, the ObjectLayer,
 * the authenticated caller and the decoded body. Handlers are `(ctx) => Promise<void>` and live one per operation
 * in handlers/ (see router/routes.ts for the table that picks them).
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectLayer } from '../storage/object-layer';
import type { AuthResult } from './auth/auth-types';
import type { RequestBody } from './auth/whole-body';
import type { S3Operation } from './router/routes';

/** The parsed S3 request. */
export interface S3Request {
  method: string;
  /** Bucket name (path-style first segment, or the virtual host's label), if any. */
  bucket?: string;
  /** Object key, percent-decoded, if the request names one. */
  key?: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The `Resource` of error bodies: `/bucket/key` as requested. */
  resource: string;
  requestId: string;
  raw: IncomingMessage;
}

/** Settings of the S3 front end. */
export interface S3Settings {
  region: string;
  /** Domains for virtual-host style (`bucket.<domain>`); empty means path style only. */
  domains: readonly string[];
  /**
   * Whether a lifecycle Transition may name this storage class: the tier registry answers (s3.module.ts); absent
   * (tests that build a gateway without one), every transition is refused with InvalidStorageClass.
   */
  isKnownStorageClass?: (name: string) => boolean;
  /**
   * RestoreObject of one exact version, for `days`: the lifecycle engine answers (s3.module.ts) 'accepted' (202),
   * 'in-progress' (409) or 'already-restored' (200). Absent (gateways built without one), RestoreObject is refused
   * with InvalidObjectState, as for a version that is not in a tier.
   */
  restoreObject?: (
    bucket: string,
    key: string,
    versionId: string,
    days: number,
  ) => Promise<'accepted' | 'in-progress' | 'already-restored'>;
}

/** The context of one S3 call. */
export interface S3Context {
  op: S3Operation;
  req: S3Request;
  res: ServerResponse;
  layer: ObjectLayer;
  settings: S3Settings;
  auth: AuthResult;
  /**
   * The request body with any aws-chunked framing removed; signatures, the payload hash and x-amz-checksum-* are
   * verified as it streams (a mismatch errors the stream, so nothing is committed). Call at most once.
   */
  body(): RequestBody;
  /** Length of the decoded body when the client declared it (Content-Length or x-amz-decoded-content-length). */
  bodyLength: number | undefined;
  /** Checksums (`crc32` -> base64, ...) the body was verified against, available after the body ended. */
  verifiedChecksums(): Record<string, string>;
}

/** One S3 operation's implementation. */
export type S3Handler = (ctx: S3Context) => Promise<void>;
