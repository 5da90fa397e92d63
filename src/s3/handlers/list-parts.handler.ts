/**
 * ListParts: `GET /bucket/key?uploadId=ID`, paged by `part-number-marker` and `max-parts` (at most 1000). The
 * `ListPartsResult` elements follow the AWS API reference order.
 */
import type { ListPartsResult } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import type { XmlNode } from '../xml/xml';
import { ownerOf } from './bucket.helpers';

/** Most parts one ListParts page returns, whatever max-parts asks for. */
export const MAX_LIST_PARTS = 1000;

/** The query of a ListParts request. */
export interface ListPartsParams {
  partNumberMarker: number;
  maxParts: number;
}

/** A non-negative integer query parameter; InvalidArgument (naming it) when not one. */
export function parseCount(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!(n <= 2147483647)) {
    throw new S3Error('InvalidArgument', `Argument ${name} must be an integer between 0 and 2147483647`, {
      ArgumentName: name,
      ArgumentValue: raw,
    });
  }
  return n;
}

/** part-number-marker and max-parts (capped at 1000). */
export function parseListPartsParams(query: URLSearchParams): ListPartsParams {
  return {
    partNumberMarker: parseCount(query, 'part-number-marker', 0),
    maxParts: Math.min(parseCount(query, 'max-parts', MAX_LIST_PARTS), MAX_LIST_PARTS),
  };
}

/** The body of a ListPartsResult for one page of parts. */
export function listPartsBody(
  target: { bucket: string; key: string; uploadId: string },
  params: ListPartsParams,
  page: ListPartsResult,
  owner: { ID: string; DisplayName: string },
  storageClass: string,
): XmlNode {
  return {
    Bucket: target.bucket,
    Key: target.key,
    UploadId: target.uploadId,
    PartNumberMarker: params.partNumberMarker,
    NextPartNumberMarker: page.nextPartNumberMarker,
    MaxParts: params.maxParts,
    IsTruncated: page.isTruncated,
    Part: page.parts.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: p.lastModified,
      ETag: quoteEtag(p.etag),
      Size: p.size,
    })),
    Initiator: owner,
    Owner: owner,
    StorageClass: storageClass,
  };
}

/** The ListParts handler. */
export const listParts: S3Handler = async (ctx: S3Context) => {
  const target = {
    bucket: ctx.req.bucket!,
    key: ctx.req.key!,
    uploadId: ctx.req.query.get('uploadId') ?? '',
  };
  const params = parseListPartsParams(ctx.req.query);
  let page: ListPartsResult;
  if (params.maxParts === 0) {
    // Still proves the upload exists (NoSuchUpload otherwise); an empty page is not truncated, so paginators stop.
    await ctx.layer.listParts(target.bucket, target.key, target.uploadId, {
      partNumberMarker: params.partNumberMarker,
      maxParts: 1,
    });
    page = { parts: [], isTruncated: false };
  } else {
    page = await ctx.layer.listParts(target.bucket, target.key, target.uploadId, {
      partNumberMarker: params.partNumberMarker,
      maxParts: params.maxParts,
    });
  }
  // tiergate accepts only STANDARD for new objects and uploads (see parseStorageClass), so every upload is one.
  sendXml(ctx, 200, 'ListPartsResult', listPartsBody(target, params, page, ownerOf(ctx), 'STANDARD'));
};
