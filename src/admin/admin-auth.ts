/**
 * The pure check behind AdminAuthGuard: SigV4 with the root credentials, no body. Returns undefined when the
 * request may proceed, else the status and code to answer with.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TiergateConfig } from '../config/tiergate-config';
import { authenticate } from '../s3/auth/verify-request';
import { S3Error } from '../s3/errors/s3-error';
import type { S3Request } from '../s3/s3-context';

/** Why an admin request was refused. */
export interface AdminAuthFailure {
  status: number;
  code: string;
  message: string;
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** Verifies `req`'s signature with the root credentials at time `now`. */
export function verifyAdminRequest(
  req: IncomingMessage,
  config: TiergateConfig,
  now: Date,
): AdminAuthFailure | undefined {
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
    const bodyless = auth.payload === 'unsigned' || auth.contentSha256 === EMPTY_SHA256;
    if (!bodyless || (req.headers['content-length'] ?? '0') !== '0') {
      return { status: 400, code: 'InvalidRequest', message: 'this admin endpoint takes no request body' };
    }
    return undefined;
  } catch (err) {
    if (!(err instanceof S3Error)) throw err;
    const status = err.code === 'AccessDenied' || err.status === 403 ? 403 : err.status;
    return { status, code: err.code, message: err.message };
  }
}
