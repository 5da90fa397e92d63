/**
 * Shared pieces of the bucket-level handlers: the fixed owner tiergate reports, reading a small XML request body
 * (with its size limit and Content-MD5 check), the integrity header AWS demands on some requests, and the
 * `encoding-type=url` encoding of keys in listings. Pure apart from reading the body.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from '../errors/s3-error';
import type { S3Context } from '../s3-context';

/** Size limit of configuration bodies (tagging, CreateBucketConfiguration). */
export const MAX_CONFIG_BODY = 1024 * 1024;

/** The canonical user id tiergate reports as every bucket's and object's owner (fixed: one tenant). */
export const OWNER_ID = createHash('sha256').update('tiergate').digest('hex');

/** The Owner element of listings: the fixed id, and the caller's access key as display name. */
export function ownerOf(ctx: S3Context): { ID: string; DisplayName: string } {
  return { ID: OWNER_ID, DisplayName: ctx.auth.accessKey };
}

/** The bucket a bucket-level operation names (the router only sends requests that name one). */
export function bucketOf(ctx: S3Context): string {
  const bucket = ctx.req.bucket;
  if (bucket === undefined || bucket === '') throw new S3Error('InvalidBucketName');
  return bucket;
}

/**
 * Reads the whole request body, refusing more than `limit` bytes with MalformedXML (before reading when the length
 * is declared), and checks Content-MD5 when sent: InvalidDigest if it is not a base64 MD5, BadDigest on mismatch.
 */
export async function readSmallBody(ctx: S3Context, limit: number): Promise<Buffer> {
  const tooLarge = (): S3Error => new S3Error('MalformedXML', `The request body exceeds ${limit} bytes.`);
  if (ctx.bodyLength !== undefined && ctx.bodyLength > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.body()) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks, total);
  checkContentMd5(ctx.req.headers, body);
  return body;
}

/** Verifies a Content-MD5 header against a body already read; no header, no check. */
export function checkContentMd5(headers: IncomingHttpHeaders, body: Buffer): void {
  const header = headers['content-md5'];
  if (header === undefined) return;
  const text = Array.isArray(header) ? header.join(',') : header;
  const digest = Buffer.from(text, 'base64');
  if (digest.length !== 16 || digest.toString('base64') !== text) throw new S3Error('InvalidDigest');
  if (!createHash('md5').update(body).digest().equals(digest)) throw new S3Error('BadDigest');
}

/**
 * True when the request carries an integrity header: Content-MD5, an `x-amz-checksum-<algorithm>` header, or an
 * `x-amz-trailer` announcing one (the gateway verifies the value as the body streams).
 */
export function hasIntegrityHeader(headers: IncomingHttpHeaders): boolean {
  if (headers['content-md5'] !== undefined) return true;
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string' && trailer.toLowerCase().startsWith('x-amz-checksum-')) return true;
  return Object.keys(headers).some(
    (h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-type' && h !== 'x-amz-checksum-mode',
  );
}

const UNRESERVED = /[A-Za-z0-9\-_.~/]/;

/**
 * `encoding-type=url` encoding as S3 applies it to keys and prefixes: every UTF-8 byte outside the RFC 3986
 * unreserved set is percent-encoded (space as %20), except '/', which stays literal.
 */
export function s3UrlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
