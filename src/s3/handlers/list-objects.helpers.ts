/**
 * ListObjects (v1) and ListObjectsV2: query parameters parsed as AWS parses them, and the `ListBucketResult`
 * bodies built from an ObjectLayer page. Elements follow AWS's wire order; with `encoding-type=url` every key-like
 * value (Key, Prefix, Delimiter, Marker, NextMarker, StartAfter, CommonPrefixes/Prefix) is URL-encoded. Pure.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ListObjectsResult, ObjectInfo } from '../../storage/object-layer';
import { restoreStateOf } from '../../tiers/tier-state';
import { S3Error } from '../errors/s3-error';
import { quoteEtag } from '../s3-response';
import type { XmlNode } from '../xml/xml';
import { s3UrlEncode } from './bucket.helpers';

/** Most keys one page returns, whatever max-keys asks for. */
export const MAX_LIST_KEYS = 1000;

/** Parameters both versions share. */
export interface ListParams {
  prefix: string;
  /** '' when none. */
  delimiter: string;
  maxKeys: number;
  encodeUrl: boolean;
}

/** An owner to report in Contents, or undefined to leave it out. */
export type ListOwner = { ID: string; DisplayName: string } | undefined;

/** True for `encoding-type=url`, false when absent; any other value is InvalidArgument, as AWS answers. */
export function parseEncodingType(query: URLSearchParams): boolean {
  const encoding = query.get('encoding-type');
  if (encoding !== null && encoding !== 'url') {
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: encoding,
    });
  }
  return encoding === 'url';
}

/** prefix, delimiter, max-keys (an integer >= 0, capped at 1000) and encoding-type (only `url`). */
export function parseListParams(query: URLSearchParams): ListParams {
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    maxKeys: parseMaxKeys(query.get('max-keys')),
    encodeUrl: parseEncodingType(query),
  };
}

/** max-keys: absent means 1000; a non-integer or negative value is InvalidArgument; above 1000 is capped. */
export function parseMaxKeys(value: string | null): number {
  if (value === null) return MAX_LIST_KEYS;
  const n = /^[0-9]{1,10}$/.test(value) ? Number(value) : NaN;
  if (!(n <= 2147483647)) {
    throw new S3Error('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647', {
      ArgumentName: 'maxKeys',
      ArgumentValue: value,
    });
  }
  return Math.min(n, MAX_LIST_KEYS);
}

/**
 * `x-amz-optional-object-attributes`: the attributes a listing adds to each entry. `RestoreStatus` is the only one
 * AWS defines; any other name is InvalidArgument (empty names are ignored). Returns whether RestoreStatus was asked
 * for.
 */
export function wantsRestoreStatus(headers: IncomingHttpHeaders): boolean {
  const raw = headers['x-amz-optional-object-attributes'];
  if (raw === undefined) return false;
  const names = (Array.isArray(raw) ? raw.join(',') : raw)
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) return false;
  for (const name of names) {
    if (name !== 'RestoreStatus') {
      throw new S3Error('InvalidArgument', 'Invalid attribute name specified', {
        ArgumentName: 'x-amz-optional-object-attributes',
        ArgumentValue: name,
      });
    }
  }
  return true;
}

/**
 * An entry's RestoreStatus (asked for with `x-amz-optional-object-attributes: RestoreStatus`): whether a
 * RestoreObject copy is being made, and when the finished copy expires. Undefined for a version never restored.
 */
export function restoreStatusOf(o: Pick<ObjectInfo, 'tier'>): XmlNode | undefined {
  const r = restoreStateOf(o);
  if (!r) return undefined;
  return {
    IsRestoreInProgress: r.ongoing,
    RestoreExpiryDate: r.expiry === undefined ? undefined : new Date(r.expiry),
  };
}

/** The opaque continuation token of a page ending at `key`. */
export function encodeContinuationToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64');
}

/** The key a continuation token stands for; InvalidArgument when it is not one we issued. */
export function decodeContinuationToken(token: string): string {
  const bytes = Buffer.from(token, 'base64');
  const key = bytes.toString('utf8');
  if (bytes.length === 0 || bytes.toString('base64') !== token || encodeContinuationToken(key) !== token) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
      ArgumentName: 'continuation-token',
    });
  }
  return key;
}

/** Key encoder for a listing: URL-encoding when encoding-type=url, identity otherwise. */
export function encoder(params: ListParams): (s: string) => string {
  return params.encodeUrl ? s3UrlEncode : (s) => s;
}

function contents(
  objects: ObjectInfo[],
  enc: (s: string) => string,
  owner: ListOwner,
  restoreStatus: boolean,
): XmlNode[] {
  return objects.map((o) => ({
    Key: enc(o.key),
    LastModified: o.modTime,
    ETag: quoteEtag(o.etag),
    ChecksumAlgorithm: Object.keys(o.checksums).map((a) => a.toUpperCase()),
    Size: o.size,
    Owner: owner,
    StorageClass: o.storageClass,
    RestoreStatus: restoreStatus ? restoreStatusOf(o) : undefined,
  }));
}

/** ListObjects (v1): NextMarker only when truncated and a delimiter was given (clients use the last key otherwise). */
export function listObjectsV1Xml(
  bucket: string,
  params: ListParams,
  marker: string,
  page: ListObjectsResult,
  owner: ListOwner,
  restoreStatus = false,
): XmlNode {
  const enc = encoder(params);
  const nextMarker = page.isTruncated && params.delimiter !== '' ? page.nextMarker : undefined;
  return {
    Name: bucket,
    Prefix: enc(params.prefix),
    Marker: enc(marker),
    NextMarker: nextMarker === undefined ? undefined : enc(nextMarker),
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter === '' ? undefined : enc(params.delimiter),
    EncodingType: params.encodeUrl ? 'url' : undefined,
    IsTruncated: page.isTruncated,
    Contents: contents(page.objects, enc, owner, restoreStatus),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
}

/** What a v2 request said about where to start. */
export interface V2Position {
  /** The continuation-token as sent (echoed verbatim), or undefined. */
  continuationToken?: string;
  /** start-after as sent, or undefined. */
  startAfter?: string;
}

/** ListObjectsV2: KeyCount counts keys and common prefixes; NextContinuationToken whenever truncated. */
export function listObjectsV2Xml(
  bucket: string,
  params: ListParams,
  position: V2Position,
  page: ListObjectsResult,
  owner: ListOwner,
  restoreStatus = false,
): XmlNode {
  const enc = encoder(params);
  const next = page.isTruncated && page.nextMarker !== undefined ? page.nextMarker : undefined;
  return {
    Name: bucket,
    Prefix: enc(params.prefix),
    StartAfter: position.startAfter === undefined ? undefined : enc(position.startAfter),
    ContinuationToken: position.continuationToken,
    NextContinuationToken: next === undefined ? undefined : encodeContinuationToken(next),
    KeyCount: page.objects.length + page.commonPrefixes.length,
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter === '' ? undefined : enc(params.delimiter),
    EncodingType: params.encodeUrl ? 'url' : undefined,
    IsTruncated: page.isTruncated,
    Contents: contents(page.objects, enc, owner, restoreStatus),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  };
}
