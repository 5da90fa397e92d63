/**
 * Request headers of object writes, parsed into ObjectLayer options: user metadata, content headers, tags, storage
 * class, Content-MD5 and the copy source. Pure functions; every malformed input becomes the S3Error AWS returns.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ContentHeaders, PutObjectOptions } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { Conditions } from './object-conditions';

/** Largest object a single PUT or copy may create (5 GiB), as in AWS. */
export const MAX_PUT_SIZE = 5 * 1024 ** 3;
/** AWS's limit on the total size of user metadata (keys and values, in bytes). */
export const MAX_METADATA_BYTES = 2048;
/** AWS's limit on tags per object. */
export const MAX_OBJECT_TAGS = 10;

/** One header as text (repeated headers joined by a comma, as HTTP folds them); undefined when absent. */
export function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `x-amz-meta-*` headers as lower-cased keys without the prefix; MetadataTooLarge above 2 KB in total. */
export function parseUserMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  let bytes = 0;
  for (const name of Object.keys(headers)) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const key = name.slice('x-amz-meta-'.length).toLowerCase();
    const value = headerText(headers, name) ?? '';
    // Node decodes header bytes as latin1, so the latin1 length is the byte count on the wire.
    bytes += Buffer.byteLength(key, 'latin1') + Buffer.byteLength(value, 'latin1');
    meta[key] = value;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', undefined, { MaxSizeAllowed: String(MAX_METADATA_BYTES) });
  }
  return meta;
}

/** Content-Encoding as stored: the `aws-chunked` framing token is transport, not content, and is dropped. */
export function storedContentEncoding(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const kept = value
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '' && t.toLowerCase() !== 'aws-chunked');
  return kept.length > 0 ? kept.join(',') : undefined;
}

/** The content headers S3 stores with an object. */
export function parseContentHeaders(headers: IncomingHttpHeaders): ContentHeaders {
  return {
    contentType: headerText(headers, 'content-type'),
    contentEncoding: storedContentEncoding(headerText(headers, 'content-encoding')),
    contentDisposition: headerText(headers, 'content-disposition'),
    contentLanguage: headerText(headers, 'content-language'),
    cacheControl: headerText(headers, 'cache-control'),
    expires: headerText(headers, 'expires'),
  };
}

/** Checks a tag set against AWS's rules (count, key 1-128 and value 0-256 characters, no `aws:` keys). */
export function validateTags(
  tags: [string, string][],
  max: number = MAX_OBJECT_TAGS,
): Record<string, string> {
  if (tags.length > max) throw new S3Error('InvalidTag', 'Object tags cannot be greater than 10');
  const out: Record<string, string> = {};
  for (const [key, value] of tags) {
    const keyLength = [...key].length;
    if (keyLength < 1 || keyLength > 128)
      throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid');
    if ([...value].length > 256) throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid');
    if (key.toLowerCase().startsWith('aws:')) {
      throw new S3Error('InvalidTag', 'Your TagKey cannot be prefixed with aws:');
    }
    if (Object.hasOwn(out, key))
      throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    out[key] = value;
  }
  return out;
}

/** The `x-amz-tagging` header: a URL-encoded query string of tags. */
export function parseTaggingHeader(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  return validateTags([...new URLSearchParams(value).entries()]);
}

/** `x-amz-storage-class`: tiergate stores STANDARD only; cloud tiers are reached through lifecycle rules. */
export function parseStorageClass(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value !== 'STANDARD')
    throw new S3Error('InvalidStorageClass', undefined, { StorageClassRequested: value });
  return value;
}

/** Content-MD5 (base64 of 16 bytes) as the hex digest the storage layer verifies; InvalidDigest when malformed. */
export function parseContentMd5(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^[A-Za-z0-9+/]{22}==$/.test(trimmed))
    throw new S3Error('InvalidDigest', undefined, { 'Content-MD5': value });
  return Buffer.from(trimmed, 'base64').toString('hex');
}

/** Everything the headers of a PutObject (or a REPLACE copy) say about the new object, except size and digests. */
export function parsePutHeaders(headers: IncomingHttpHeaders): PutObjectOptions {
  const opts: PutObjectOptions = {
    ...parseContentHeaders(headers),
    userMetadata: parseUserMetadata(headers),
  };
  const tags = parseTaggingHeader(headerText(headers, 'x-amz-tagging'));
  if (tags) opts.tags = tags;
  const storageClass = parseStorageClass(headerText(headers, 'x-amz-storage-class'));
  if (storageClass) opts.storageClass = storageClass;
  return opts;
}

/** Conditional-write headers of a PutObject (`If-None-Match: *` creates only; `If-Match` overwrites only). */
export function parseWriteConditions(
  headers: IncomingHttpHeaders,
): Pick<PutObjectOptions, 'ifMatch' | 'ifNoneMatch'> {
  const out: Pick<PutObjectOptions, 'ifMatch' | 'ifNoneMatch'> = {};
  const ifNoneMatch = headerText(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') {
      throw new S3Error(
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        {
          Header: 'If-None-Match',
        },
      );
    }
    out.ifNoneMatch = true;
  }
  const ifMatch = headerText(headers, 'if-match');
  if (ifMatch !== undefined) out.ifMatch = ifMatch.trim();
  return out;
}

/** The object an `x-amz-copy-source` header names. */
export interface CopySource {
  bucket: string;
  key: string;
  versionId?: string;
}

/** Version ids tiergate hands out: `null`, or a UUID (v7) for versions written while versioning was Enabled. */
const VERSION_ID_RE = /^(?:null|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Refuses a version id tiergate cannot have made, as AWS refuses one it cannot parse (400, not 404). */
export function checkVersionId(v: string, argumentName = 'versionId'): string {
  if (v === '')
    throw new S3Error('InvalidArgument', 'Version id cannot be the empty string', {
      ArgumentName: argumentName,
    });
  if (!VERSION_ID_RE.test(v)) {
    throw new S3Error('InvalidArgument', 'Invalid version id specified', {
      ArgumentName: argumentName,
      ArgumentValue: v,
    });
  }
  return v;
}

/** Parses `x-amz-copy-source`: `bucket/key` or `/bucket/key`, percent-encoded, with an optional `?versionId=`. */
export function parseCopySource(value: string | undefined): CopySource {
  const bad = (): S3Error =>
    new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      {
        ArgumentName: 'x-amz-copy-source',
      },
    );
  if (value === undefined) throw bad();
  // The query is split off before decoding, so an encoded `?` (%3F) stays part of the key.
  const q = value.indexOf('?');
  const rawPath = q < 0 ? value : value.slice(0, q);
  let versionId: string | undefined;
  if (q >= 0) {
    const query = new URLSearchParams(value.slice(q + 1));
    const v = query.get('versionId');
    versionId = v === null ? undefined : checkVersionId(v, 'x-amz-copy-source');
  }
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw bad();
  }
  if (path.startsWith('/')) path = path.slice(1);
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) throw bad();
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1), versionId };
}

/** The `x-amz-copy-source-if-*` conditions (every failure of them is a 412, 304 included). */
export function copySourceConditions(headers: IncomingHttpHeaders): Conditions {
  return {
    ifMatch: headerText(headers, 'x-amz-copy-source-if-match'),
    ifNoneMatch: headerText(headers, 'x-amz-copy-source-if-none-match'),
    ifModifiedSince: headerText(headers, 'x-amz-copy-source-if-modified-since'),
    ifUnmodifiedSince: headerText(headers, 'x-amz-copy-source-if-unmodified-since'),
  };
}

/** `x-amz-metadata-directive` / `x-amz-tagging-directive`: COPY (the default) or REPLACE. */
export function parseDirective(headers: IncomingHttpHeaders, name: string): 'COPY' | 'REPLACE' {
  const v = headerText(headers, name);
  if (v === undefined || v === 'COPY') return 'COPY';
  if (v === 'REPLACE') return 'REPLACE';
  const what = name === 'x-amz-metadata-directive' ? 'metadata' : 'tagging';
  throw new S3Error('InvalidArgument', `Unknown ${what} directive.`, {
    ArgumentName: name,
    ArgumentValue: v,
  });
}

/** Stored checksums as the `x-amz-checksum-<algorithm>` response headers. */
export function checksumHeaders(checksums: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, value] of Object.entries(checksums)) h[`x-amz-checksum-${alg.toLowerCase()}`] = value;
  return h;
}

/** Passes a body of undeclared length through, failing it with EntityTooLarge once it exceeds `max` bytes. */
export async function* limitBodySize(body: AsyncIterable<Buffer>, max: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (seen > max) throw new S3Error('EntityTooLarge'); // ends the iteration, which destroys a stream body
    yield chunk;
  }
}
