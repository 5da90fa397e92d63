/**
 * The pure check behind AdminAuthGuard: SigV4 with the root credentials. Body-less routes take no body (an empty
 * payload hash, or UNSIGNED-PAYLOAD with nothing sent). Routes that take a body (admin writes: `PUT /tiers`)
 * require a signed payload: `x-amz-content-sha256` must be the hex SHA-256 of the body, which the route checks as it
 * reads it (admin-body.ts); UNSIGNED-PAYLOAD and the aws-chunked modes are refused, so a body can never be changed
 * in flight without the signature failing. Returns the verified payload hash, or the status and code to answer with.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TiergateConfig } from '../config/tiergate-config';
import { authenticate } from '../s3/auth/verify-request';
import { S3Error } from '../s3/errors/s3-error';
import type { S3Request } from '../s3/s3-context';

/** Why an admin request was refused (`status` tells a failure from a success). */
export interface AdminAuthFailure {
  status: number;
  code: string;
  message: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** What a route accepts: no body, or a body whose SHA-256 the signature covers. */
export type AdminBodyMode = 'none' | 'signed';

/** A verified request: the payload hash the signature covers (for `signed` routes). */
export interface AdminAuthSuccess {
  payloadSha256?: string;
}

/** Verifies `req`'s signature with the root credentials at time `now`. */
export function verifyAdminRequest(
  req: IncomingMessage,
  config: TiergateConfig,
  now: Date,
  body: AdminBodyMode = 'none',
): AdminAuthFailure | AdminAuthSuccess {
  const target = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = target.indexOf('?');
  const s3req: S3Request = {
    method: req.method ?? 'GET',
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers: req.headers,
    resource: q < 0 ? target : target.slice(0, q),
    requestId: '',
    raw: req,
  };
  const secret = config.root.secretAccessKey;
  try {
    const auth = authenticate(
      s3req,
      (key) => (key === config.root.accessKeyId ? secret.reveal() : undefined),
      config.s3.region,
      now,
    );
    if (body === 'signed') {
      if (auth.payload !== 'signed' || auth.contentSha256 === undefined) {
        return {
          status: 400,
          code: 'InvalidRequest',
          message: 'admin writes must sign their body: x-amz-content-sha256 must be its hex SHA-256',
        };
      }
      return { payloadSha256: auth.contentSha256 };
    }
    const bodyless = auth.payload === 'unsigned' || auth.contentSha256 === EMPTY_SHA256;
    if (!bodyless || (req.headers['content-length'] ?? '0') !== '0') {
      return { status: 400, code: 'InvalidRequest', message: 'this admin endpoint takes no request body' };
    }
    return {};
  } catch (err) {
    if (!(err instanceof S3Error)) throw err;
    const status = err.code === 'AccessDenied' || err.status === 403 ? 403 : err.status;
    return { status, code: err.code, message: err.message };
  }
}
