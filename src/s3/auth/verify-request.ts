/**
 * Authenticates an S3 request: SigV4 in the Authorization header or in a presigned query string. There is no
 * anonymous access and no SigV2. On success the AuthResult tells the body decoder how the payload is framed and
 * carries what it needs to verify chunk signatures (seed signature, signing key, scope, timestamp).
 *
 * Invariants enforced here: the credential scope names our region and service `s3`; the request time is within
 * 15 minutes of ours (header auth) or inside the presigned window; `host` is signed; every signature comparison is
 * constant-time.
 */
import type { S3Request } from '../s3-context';
import { S3Error } from '../errors/s3-error';
import type { AuthResult, CredentialLookup, PayloadMode } from './auth-types';
import {
  SIGV4_ALGORITHM,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  parseAmzDate,
  parseQuery,
  signature,
  signaturesEqual,
  cachedSigningKey,
  stringToSign,
  toAmzDate,
} from './sigv4';

/** Largest clock difference tolerated for header auth, and for a presigned URL dated in the future. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** Longest lifetime of a presigned URL (seven days), in seconds. */
export const MAX_PRESIGN_EXPIRES = 604800;

const SERVICE = 's3';
const UNSIGNED = 'UNSIGNED-PAYLOAD';
const PAYLOAD_MODES: Record<string, PayloadMode> = {
  [UNSIGNED]: 'unsigned',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
};

/** The payload mode an x-amz-content-sha256 value names, if it names one (own keys only: not `constructor`). */
function payloadMode(value: string): PayloadMode | undefined {
  return Object.hasOwn(PAYLOAD_MODES, value) ? PAYLOAD_MODES[value] : undefined;
}
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** What the two SigV4 flavours have in common once their parameters are parsed. */
interface SignedParts {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  payloadHash: string;
  presigned: boolean;
}

/** Authenticates `req` (no I/O): returns who signed and how the body is protected, or throws an S3Error. */
export function authenticate(
  req: S3Request,
  lookup: CredentialLookup,
  region: string,
  now: Date,
): AuthResult {
  const authorization = header(req, 'authorization');
  const presigned = req.query.has('X-Amz-Algorithm') || req.query.has('X-Amz-Signature');
  if (authorization !== undefined && presigned) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      { ArgumentName: 'Authorization', ArgumentValue: authorization },
    );
  }
  let parts: SignedParts;
  if (authorization !== undefined) {
    parts = parseAuthorizationHeader(req, authorization, region, now);
  } else if (presigned) {
    parts = parsePresigned(req, region, now);
  } else if (req.query.has('AWSAccessKeyId') || req.query.has('Signature')) {
    throw sigV2();
  } else {
    throw new S3Error(
      'AccessDenied',
      'Anonymous access is not allowed; sign the request with AWS Signature Version 4',
    );
  }

  const secret = lookup(parts.accessKey);
  if (secret === undefined)
    throw new S3Error('InvalidAccessKeyId', undefined, { AWSAccessKeyId: parts.accessKey });

  const { path, query } = splitTarget(req);
  const headers = canonicalHeaders(rawHeaderPairs(req), parts.signedHeaders);
  if ('missing' in headers) {
    throw new S3Error(
      'AccessDenied',
      `The header '${headers.missing}' is named in SignedHeaders but not present`,
    );
  }
  const canonicalQuery = canonicalQueryString(
    parseQuery(query),
    parts.presigned ? 'X-Amz-Signature' : undefined,
  );
  const scope = `${parts.date}/${parts.region}/${parts.service}/aws4_request`;
  const key = cachedSigningKey(secret, parts.date, parts.region, parts.service);
  const signs = (block: string): { ok: boolean; sts: string; creq: string } => {
    const creq = canonicalRequest({
      method: req.method,
      canonicalUri: canonicalUri(path),
      canonicalQuery,
      canonicalHeaders: block,
      signedHeaders: parts.signedHeaders,
      payloadHash: parts.payloadHash,
    });
    const sts = stringToSign(parts.amzDate, scope, creq);
    return { ok: signaturesEqual(signature(key, sts), parts.signature), sts, creq };
  };
  const first = signs(headers.block);
  let ok = first.ok;
  if (!ok) {
    // Node reads header bytes as latin1. The JS SDK signs non-ASCII values as the UTF-8 bytes it sends (boto3 sends
    // latin-1 and signs UTF-8, which the first try covers): try the wire bytes read as UTF-8. Both readings are of
    // the same bytes, and the handlers store those bytes, so neither can change what the request does.
    const utf8 = utf8HeaderBlock(req, parts.signedHeaders);
    if (utf8 !== undefined) ({ ok } = signs(utf8));
  }
  if (!ok) {
    throw new S3Error('SignatureDoesNotMatch', undefined, {
      AWSAccessKeyId: parts.accessKey,
      StringToSign: first.sts,
      SignatureProvided: parts.signature,
      CanonicalRequest: first.creq,
    });
  }

  const payload = parts.presigned ? 'unsigned' : (payloadMode(parts.payloadHash) ?? 'signed');
  const result: AuthResult = { accessKey: parts.accessKey, payload, scope, amzDate: parts.amzDate };
  if (payload === 'signed') result.contentSha256 = parts.payloadHash;
  if (payload === 'streaming-signed' || payload === 'streaming-signed-trailer') {
    result.seedSignature = parts.signature;
    result.signingKey = key;
  }
  return result;
}

function parseAuthorizationHeader(req: S3Request, value: string, region: string, now: Date): SignedParts {
  const space = value.indexOf(' ');
  const algorithm = space < 0 ? value : value.slice(0, space);
  if (algorithm === 'AWS') throw sigV2();
  if (algorithm === 'AWS4-ECDSA-P256-SHA256') {
    throw new S3Error('NotImplemented', 'Signature Version 4A is not supported; use AWS4-HMAC-SHA256');
  }
  if (algorithm !== SIGV4_ALGORITHM) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type');

  const fields = new Map<string, string>();
  for (const item of value.slice(space + 1).split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (credential === undefined || signed === undefined || sig === undefined) {
    throw malformedHeader('the Authorization header must have Credential, SignedHeaders and Signature');
  }
  const cred = parseCredential(credential, (why) => malformedHeader(why));
  checkScope(
    cred,
    region,
    (why, extra) => new S3Error('AuthorizationHeaderMalformed', malformedMessage(why), extra),
  );

  const amzDateHeader = header(req, 'x-amz-date');
  const dateHeader = header(req, 'date');
  const when =
    amzDateHeader !== undefined
      ? parseAmzDate(amzDateHeader)
      : dateHeader !== undefined
        ? parseHttpDate(dateHeader)
        : undefined;
  if (when === undefined) {
    throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  }
  // parseAmzDate accepts only the canonical form, so a valid x-amz-date header is already the timestamp signed.
  const amzDate = amzDateHeader ?? toAmzDate(when);
  if (amzDate.slice(0, 8) !== cred.date) {
    throw malformedHeader(
      `Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (Math.abs(now.getTime() - when.getTime()) > MAX_SKEW_MS) {
    throw new S3Error('RequestTimeTooSkewed', undefined, {
      RequestTime: amzDateHeader ?? dateHeader ?? '',
      ServerTime: now.toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }

  const payloadHash = header(req, 'x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  }
  if (payloadHash.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw new S3Error('NotImplemented', 'Signature Version 4A streaming payloads are not supported');
  }
  if (payloadMode(payloadHash) === undefined && !SHA256_HEX.test(payloadHash)) {
    throw new S3Error(
      'InvalidArgument',
      'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value.',
      { ArgumentName: 'x-amz-content-sha256', ArgumentValue: payloadHash },
    );
  }

  const signedHeaders = parseSignedHeaders(signed, (why) => malformedHeader(why));
  requireSignedAmzHeaders(req, signedHeaders, new Set());
  return {
    accessKey: cred.accessKey,
    date: cred.date,
    region: cred.region,
    service: cred.service,
    signedHeaders,
    signature: sig,
    amzDate,
    payloadHash,
    presigned: false,
  };
}

function parsePresigned(req: S3Request, region: string, now: Date): SignedParts {
  const q = req.query;
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const expires = q.get('X-Amz-Expires');
  const signed = q.get('X-Amz-SignedHeaders');
  const sig = q.get('X-Amz-Signature');
  if (!algorithm || !credential || !amzDate || !expires || !signed || !sig) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (algorithm !== SIGV4_ALGORITHM) throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  const cred = parseCredential(credential, (why) =>
    queryError(`Error parsing the X-Amz-Credential parameter; ${why}`),
  );
  checkScope(cred, region, (why, extra) =>
    queryError(`Error parsing the X-Amz-Credential parameter; ${why}`, extra),
  );
  const when = parseAmzDate(amzDate);
  if (when === undefined)
    throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (amzDate.slice(0, 8) !== cred.date) {
    throw queryError(
      `Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  if (!/^\d+$/.test(expires)) throw queryError('X-Amz-Expires should be a number');
  const seconds = Number(expires);
  if (seconds < 1) throw queryError('X-Amz-Expires must be non-negative');
  if (seconds > MAX_PRESIGN_EXPIRES) {
    throw queryError('X-Amz-Expires must be less than a week (in seconds) that is 604800');
  }
  if (when.getTime() - now.getTime() > MAX_SKEW_MS)
    throw new S3Error('AccessDenied', 'Request is not valid yet');
  if (now.getTime() > when.getTime() + seconds * 1000) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': expires,
      Expires: new Date(when.getTime() + seconds * 1000).toISOString(),
      ServerTime: now.toISOString(),
    });
  }
  const signedHeaders = parseSignedHeaders(signed, (why) => queryError(why));
  // Presigned requests ignore the payload hash, so an unsigned x-amz-content-sha256 changes nothing.
  requireSignedAmzHeaders(req, signedHeaders, new Set(['x-amz-content-sha256']));
  return { ...cred, signedHeaders, signature: sig, amzDate, payloadHash: UNSIGNED, presigned: true };
}

/**
 * Every x-amz-* header must be signed, in both flavours of SigV4: they change what a request does (x-amz-copy-source
 * turns a PUT into a copy that reads another object, x-amz-meta-* and x-amz-tagging change what is stored), so a
 * holder of a presigned URL must not be able to add them.
 */
function requireSignedAmzHeaders(
  req: S3Request,
  signedHeaders: readonly string[],
  exempt: ReadonlySet<string>,
): void {
  const unsigned = Object.keys(req.headers).filter(
    (h) => h.startsWith('x-amz-') && !signedHeaders.includes(h) && !exempt.has(h),
  );
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', {
      HeadersNotSigned: unsigned.join(', '),
    });
  }
}

/** The canonical header block with every non-ASCII value's bytes read as UTF-8; undefined when none applies. */
function utf8HeaderBlock(req: S3Request, signedHeaders: readonly string[]): string | undefined {
  let changed = false;
  const pairs = rawHeaderPairs(req).map(([name, value]): [string, string] => {
    if (!/[\u0080-\u00ff]/.test(value)) return [name, value];
    const decoded = Buffer.from(value, 'latin1').toString('utf8');
    if (decoded.includes('\uFFFD')) return [name, value];
    changed = true;
    return [name, decoded];
  });
  if (!changed) return undefined;
  const block = canonicalHeaders(pairs, signedHeaders);
  return 'block' in block ? block.block : undefined;
}

interface Credential {
  accessKey: string;
  date: string;
  region: string;
  service: string;
}

function parseCredential(value: string, fail: (why: string) => S3Error): Credential {
  const parts = value.split('/');
  if (parts.length < 5 || parts[parts.length - 1] !== 'aws4_request') {
    throw fail(`the Credential '${value}' is not <access-key>/<date>/<region>/s3/aws4_request`);
  }
  const [date, region, service] = parts.slice(-4, -1);
  const accessKey = parts.slice(0, -4).join('/');
  if (accessKey === '' || !/^\d{8}$/.test(date)) {
    throw fail(`the Credential '${value}' is not <access-key>/<date>/<region>/s3/aws4_request`);
  }
  return { accessKey, date, region, service };
}

function checkScope(
  cred: Credential,
  region: string,
  fail: (why: string, extra?: Record<string, string>) => S3Error,
): void {
  if (cred.region !== region) {
    throw fail(`the region '${cred.region}' is wrong; expecting '${region}'`, { Region: region });
  }
  if (cred.service !== SERVICE)
    throw fail(`incorrect service '${cred.service}'. This endpoint belongs to 's3'.`);
}

function parseSignedHeaders(value: string, fail: (why: string) => S3Error): string[] {
  const names = value.split(';');
  if (names.some((n) => n === '' || n !== n.toLowerCase())) {
    throw fail(`SignedHeaders '${value}' must be lower-case names separated by ';'`);
  }
  if (!names.includes('host')) throw fail("SignedHeaders must include 'host'");
  // The canonical request lists headers in the client's order, which SigV4 requires to be sorted.
  return names;
}

/** The raw header pairs (duplicates kept, as received), falling back to the parsed headers. */
function rawHeaderPairs(req: S3Request): [string, string][] {
  const raw = req.raw?.rawHeaders;
  if (raw && raw.length > 0) {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) pairs.push([raw[i], raw[i + 1]]);
    return pairs;
  }
  return Object.entries(req.headers).flatMap(([name, v]) =>
    v === undefined ? [] : Array.isArray(v) ? v.map((x): [string, string] => [name, x]) : [[name, v]],
  );
}

/** Path and raw query as the client sent them (Express keeps the unmounted URL in originalUrl). */
function splitTarget(req: S3Request): { path: string; query: string } {
  const raw = req.raw as (S3Request['raw'] & { originalUrl?: string }) | undefined;
  const target = raw?.originalUrl ?? raw?.url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

function header(req: S3Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function parseHttpDate(value: string): Date | undefined {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

function malformedMessage(why: string): string {
  return `The authorization header is malformed; ${why}`;
}

function malformedHeader(why: string): S3Error {
  return new S3Error('AuthorizationHeaderMalformed', malformedMessage(why));
}

function queryError(message: string, extra?: Record<string, string>): S3Error {
  return new S3Error('AuthorizationQueryParametersError', message, extra);
}

function sigV2(): S3Error {
  return new S3Error(
    'NotImplemented',
    'AWS Signature Version 2 is not supported; sign requests with AWS Signature Version 4 (AWS4-HMAC-SHA256)',
  );
}
