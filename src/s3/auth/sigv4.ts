/**
 * AWS Signature Version 4 as pure steps (after Arsenal `lib/auth/v4/` and MinIO `cmd/signature-v4.go`): canonical
 * URI, query and headers, canonical request, string to sign, signing key, signature, and the string-to-sign of each
 * aws-chunked chunk and of the trailer. No I/O and no request objects here: verify-request.ts feeds these steps
 * from the HTTP request, body-decoder.ts from the body; sigv4.spec.ts checks them against AWS's published vectors.
 *
 * S3 differs from the generic SigV4 rules in one place: the canonical URI is not normalised (no `.`/`..`
 * resolution, no collapsing of `//`) and not double-encoded; each path segment is UriEncoded once.
 */
import { createHmac, hash, timingSafeEqual } from 'node:crypto';
import { S3Error } from '../errors/s3-error';

/** The only algorithm tiergate accepts. */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** Algorithm line of each aws-chunked chunk's string to sign. */
export const CHUNK_ALGORITHM = 'AWS4-HMAC-SHA256-PAYLOAD';
/** Algorithm line of the signed trailer's string to sign. */
export const TRAILER_ALGORITHM = 'AWS4-HMAC-SHA256-TRAILER';
/** Hex SHA-256 of the empty string: the payload hash of a bodyless request, and of every chunk's empty "header". */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Hex SHA-256 of a string (as UTF-8) or bytes (one-shot: no Hash object per call). */
export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** Strings that UriEncode (and so canonicalisation) leaves as they are: the common case, checked in one pass. */
const ALL_UNRESERVED = /^[A-Za-z0-9\-._~]*$/;
const ALL_UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]*$/;

/** AWS's UriEncode: every byte except the unreserved set is %XX (upper-case hex); `/` kept unless encodeSlash. */
export function uriEncode(value: string, encodeSlash = true): string {
  if ((encodeSlash ? ALL_UNRESERVED : ALL_UNRESERVED_OR_SLASH).test(value)) return value;
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch) || (ch === '/' && !encodeSlash)) {
      out += ch;
    } else {
      for (const byte of Buffer.from(ch, 'utf8'))
        out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Canonical URI of an S3 request from the raw path as sent (without the query): each `/`-separated segment is
 * decoded and UriEncoded once, so clients that leave `!*'()` bare and clients that encode them agree, while an
 * encoded `%2F` inside a key stays a part of its segment. Empty segments and dot segments are kept as sent.
 */
export function canonicalUri(rawPath: string): string {
  if (rawPath === '') return '/';
  // Without `%` nothing decodes, and unreserved characters encode to themselves.
  if (ALL_UNRESERVED_OR_SLASH.test(rawPath)) return rawPath;
  return rawPath
    .split('/')
    .map((segment) => uriEncode(decodeComponent(segment)))
    .join('/');
}

/** Decodes a raw query string (`a=1&b`) into pairs, `+` read as a space (as URLSearchParams does). */
export function parseQuery(rawQuery: string): [string, string][] {
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = strictDecode(eq < 0 ? part : part.slice(0, eq));
    const value = strictDecode(eq < 0 ? '' : part.slice(eq + 1));
    // Handlers read one value per name: a repeated name would let a signed request mean two things.
    if (seen.has(name))
      throw new S3Error('InvalidArgument', `Query parameter "${name}" is given more than once`);
    seen.add(name);
    pairs.push([name, value]);
  }
  return pairs;
}

/**
 * Decodes a query component exactly as the handlers will see it; malformed percent-encoding is refused rather than
 * signed as raw text (which would let `%FF` and `%25FF` share one canonical form).
 */
function strictDecode(component: string): string {
  try {
    return decodeURIComponent(component.replace(/\+/g, ' '));
  } catch {
    throw new S3Error('InvalidArgument', 'The query string is not valid percent-encoded UTF-8');
  }
}

/** Canonical query string: names and values UriEncoded, sorted by name then value, `name=value` joined by `&`. */
export function canonicalQueryString(pairs: Iterable<readonly [string, string]>, exclude?: string): string {
  const encoded: [string, string][] = [];
  for (const [name, value] of pairs) {
    if (name !== exclude) encoded.push([uriEncode(name), uriEncode(value)]);
  }
  encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

const HAS_SPACE = /\s/;

/** A header value as SigV4 canonicalises it: outer whitespace trimmed, inner runs of spaces collapsed to one. */
export function canonicalHeaderValue(value: string): string {
  const trimmed = value.trim();
  return HAS_SPACE.test(trimmed) ? trimmed.replace(/\s+/g, ' ') : trimmed;
}

/**
 * Canonical headers block for the signed header names (lower-case, in the order given, which must be sorted).
 * `headers` are raw [name, value] pairs; repeated headers are joined with `,` in the order they came.
 * Returns `{ missing }` naming the first signed header the request does not carry.
 */
export function canonicalHeaders(
  headers: Iterable<readonly [string, string]>,
  signedHeaders: readonly string[],
): { block: string } | { missing: string } {
  const wanted = new Map<string, string[]>(signedHeaders.map((name) => [name, []]));
  for (const [name, value] of headers) wanted.get(name.toLowerCase())?.push(canonicalHeaderValue(value));
  let block = '';
  for (const name of signedHeaders) {
    const values = wanted.get(name) ?? [];
    if (values.length === 0) return { missing: name };
    block += `${name}:${values.join(',')}\n`;
  }
  return { block };
}

/** The parts of a canonical request. */
export interface CanonicalRequestParts {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  /** Output of canonicalHeaders: `name:value\n` per signed header. */
  canonicalHeaders: string;
  signedHeaders: readonly string[];
  /** Hex SHA-256 of the payload, or UNSIGNED-PAYLOAD / STREAMING-* as the client declared. */
  payloadHash: string;
}

/** The canonical request: the six parts joined by newlines. */
export function canonicalRequest(p: CanonicalRequestParts): string {
  return [
    p.method,
    p.canonicalUri,
    p.canonicalQuery,
    p.canonicalHeaders,
    p.signedHeaders.join(';'),
    p.payloadHash,
  ].join('\n');
}

/** `<yyyymmdd>/<region>/<service>/aws4_request`. */
export function credentialScope(date: string, region: string, service: string): string {
  return `${date}/${region}/${service}/aws4_request`;
}

/** The string to sign of a request: algorithm, timestamp, scope and the hash of the canonical request. */
export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequestText)}`;
}

/** The signing key: HMAC chain over date, region, service and `aws4_request`, keyed by `AWS4` + secret. */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = hmac('AWS4' + secret, date);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/**
 * Signing keys are valid for a whole day, as AWS intends (clients cache them too): a server that derives one per
 * request spends four HMACs on nothing. Keyed by everything the key depends on; cleared when it grows past a bound
 * (many users over many days), so a flood of distinct credentials cannot grow it.
 */
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_MAX = 1024;

/** signingKey, memoised per (secret, date, region, service). */
export function cachedSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}\n${region}\n${service}\n${secret}`;
  let key = keyCache.get(id);
  if (!key) {
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    key = signingKey(secret, date, region, service);
    keyCache.set(id, key);
  }
  return key;
}

/** Hex HMAC-SHA256 of a string to sign under a signing key. */
export function signature(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

/**
 * String to sign of one aws-chunked chunk: it chains on the previous signature (the seed signature for the first
 * chunk), so reordered, dropped or replayed chunks fail.
 */
export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return `${CHUNK_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
}

/** String to sign of the trailer; `trailerSha256Hex` hashes the trailing headers as `name:value\n` lines. */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailerSha256Hex: string,
): string {
  return `${TRAILER_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${trailerSha256Hex}`;
}

/** Constant-time comparison of two hex signatures (a length mismatch is simply false). */
export function signaturesEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `20130524T000000Z` from a Date. */
export function toAmzDate(date: Date): string {
  const iso = date.toISOString(); // 2013-05-24T00:00:00.000Z, or a signed six-digit year outside 0000-9999
  if (iso.length !== 24) return iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** The last timestamp parseAmzDate accepted (every request of a second carries the same one). */
let lastAmzDate: { value: string; ms: number } | undefined;

/** Parses an ISO 8601 basic timestamp (`20130524T000000Z`); undefined when it is not one. */
export function parseAmzDate(value: string): Date | undefined {
  if (lastAmzDate?.value === value) return new Date(lastAmzDate.ms);
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Reject roll-overs such as month 13 or 25 o'clock.
  if (toAmzDate(date) !== value) return undefined;
  lastAmzDate = { value, ms: date.getTime() };
  return date;
}
