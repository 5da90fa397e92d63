/**
 * ListMultipartUploads: `GET /bucket?uploads`. The ObjectLayer pages uploads in (key, upload id) order filtered by
 * prefix; this handler rolls keys up into CommonPrefixes at the delimiter (a prefix counts once toward
 * max-uploads, as in AWS), so it reads storage pages until it has one entry past the page or storage runs out.
 */
import type { MultipartUploadInfo } from '../../storage/object-layer';
import { compareKeys } from '../../storage/layout';
import type { S3Context, S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import type { XmlNode } from '../xml/xml';
import { ownerOf, s3UrlEncode } from './bucket.helpers';
import { parseEncodingType } from './list-objects.helpers';
import { parseCount } from './list-parts.handler';

/** Most uploads (and common prefixes) one page returns, whatever max-uploads asks for. */
export const MAX_LIST_UPLOADS = 1000;

/** The query of a ListMultipartUploads request. */
export interface ListUploadsParams {
  prefix: string;
  /** '' when none. */
  delimiter: string;
  keyMarker: string;
  uploadIdMarker: string;
  maxUploads: number;
  encodeUrl: boolean;
}

/** One page of the listing, with uploads and common prefixes each in key order. */
export interface UploadListing {
  uploads: MultipartUploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
  /** False when the uploads given ran out before the page was known to be full: fetch more and group again. */
  complete: boolean;
}

/** prefix, delimiter, key-marker, upload-id-marker, max-uploads (capped at 1000), encoding-type (only `url`). */
export function parseListUploadsParams(query: URLSearchParams): ListUploadsParams {
  const encodeUrl = parseEncodingType(query);
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    keyMarker: query.get('key-marker') ?? '',
    uploadIdMarker: query.get('upload-id-marker') ?? '',
    maxUploads: Math.min(parseCount(query, 'max-uploads', MAX_LIST_UPLOADS), MAX_LIST_UPLOADS),
    encodeUrl,
  };
}

/**
 * Builds one page from uploads sorted by (key, upload id) that all come after the markers. A common prefix at or
 * before key-marker was listed on an earlier page (it was that page's NextKeyMarker) and is skipped.
 */
export function groupUploads(sorted: MultipartUploadInfo[], p: ListUploadsParams): UploadListing {
  const page: UploadListing = { uploads: [], commonPrefixes: [], isTruncated: false, complete: false };
  if (p.maxUploads === 0) return { ...page, complete: true };
  let count = 0;
  let lastPrefix: string | undefined;
  for (const u of sorted) {
    if (!u.key.startsWith(p.prefix)) continue;
    const cut = p.delimiter === '' ? -1 : u.key.indexOf(p.delimiter, p.prefix.length);
    const common = cut < 0 ? undefined : u.key.slice(0, cut + p.delimiter.length);
    if (common !== undefined) {
      if (common === lastPrefix) continue;
      if (p.keyMarker !== '' && compareKeys(common, p.keyMarker) <= 0) continue;
    }
    if (count === p.maxUploads) return { ...page, isTruncated: true, complete: true };
    count++;
    if (common !== undefined) {
      page.commonPrefixes.push(common);
      lastPrefix = common;
      page.nextKeyMarker = common;
      page.nextUploadIdMarker = undefined;
    } else {
      page.uploads.push(u);
      page.nextKeyMarker = u.key;
      page.nextUploadIdMarker = u.uploadId;
    }
  }
  return { ...page, nextKeyMarker: undefined, nextUploadIdMarker: undefined };
}

/** The body of a ListMultipartUploadsResult, in the AWS API reference's element order. */
export function listUploadsBody(
  bucket: string,
  p: ListUploadsParams,
  page: UploadListing,
  owner: { ID: string; DisplayName: string },
): XmlNode {
  const enc = p.encodeUrl ? s3UrlEncode : (s: string): string => s;
  const truncated = page.isTruncated;
  return {
    Bucket: bucket,
    KeyMarker: enc(p.keyMarker),
    UploadIdMarker: p.uploadIdMarker,
    NextKeyMarker: truncated && page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
    Prefix: enc(p.prefix),
    Delimiter: p.delimiter === '' ? undefined : enc(p.delimiter),
    NextUploadIdMarker: truncated ? page.nextUploadIdMarker : undefined,
    MaxUploads: p.maxUploads,
    IsTruncated: truncated,
    Upload: page.uploads.map((u) => ({
      Key: enc(u.key),
      UploadId: u.uploadId,
      Initiator: owner,
      Owner: owner,
      StorageClass: u.storageClass,
      Initiated: u.initiated,
    })),
    CommonPrefixes: page.commonPrefixes.map((c) => ({ Prefix: enc(c) })),
    EncodingType: p.encodeUrl ? 'url' : undefined,
  };
}

/** The ListMultipartUploads handler. */
export const listMultipartUploads: S3Handler = async (ctx: S3Context) => {
  const bucket = ctx.req.bucket!;
  const p = parseListUploadsParams(ctx.req.query);
  const seen: MultipartUploadInfo[] = [];
  let keyMarker = p.keyMarker;
  let uploadIdMarker = p.uploadIdMarker;
  let page: UploadListing;
  for (;;) {
    const batch = await ctx.layer.listMultipartUploads(bucket, {
      prefix: p.prefix,
      keyMarker,
      uploadIdMarker,
      maxUploads: MAX_LIST_UPLOADS,
    });
    seen.push(...batch.uploads);
    page = groupUploads(seen, p);
    if (page.complete || !batch.isTruncated || batch.uploads.length === 0) break;
    keyMarker = batch.nextKeyMarker ?? '';
    uploadIdMarker = batch.nextUploadIdMarker ?? '';
  }
  sendXml(ctx, 200, 'ListMultipartUploadsResult', listUploadsBody(bucket, p, page, ownerOf(ctx)));
};
