/**
 * What GetObject and HeadObject share: resolving the version, the conditionals (304/412), Range or partNumber
 * (206/416) and the response headers (content overrides, checksums, parts count). HEAD sends the headers; GET also
 * streams the bytes.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ByteRange, ObjectInfo } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context } from '../s3-context';
import { httpDate, objectHeaders, quoteEtag } from '../s3-response';
import { type Conditions, evaluateConditions, hasConditions, parseRange } from './object-conditions';
import { checkVersionId, checksumHeaders, headerText, type CopySource } from './object-headers';

/** How to answer a GET or HEAD: the status, headers and the byte range to read (none for the whole object). */
export interface ReadPlan {
  info: ObjectInfo;
  status: 200 | 206;
  range?: ByteRange;
  headers: Record<string, string>;
}

/** Query parameters that override response headers, as S3 names them. */
const OVERRIDES: [string, string][] = [
  ['response-content-type', 'Content-Type'],
  ['response-content-language', 'Content-Language'],
  ['response-expires', 'Expires'],
  ['response-cache-control', 'Cache-Control'],
  ['response-content-disposition', 'Content-Disposition'],
  ['response-content-encoding', 'Content-Encoding'],
];

/** The GET/HEAD conditional headers. */
export function readConditions(headers: IncomingHttpHeaders): Conditions {
  return {
    ifMatch: headerText(headers, 'if-match'),
    ifNoneMatch: headerText(headers, 'if-none-match'),
    ifModifiedSince: headerText(headers, 'if-modified-since'),
    ifUnmodifiedSince: headerText(headers, 'if-unmodified-since'),
  };
}

/** The `versionId` query parameter, checked. */
export function queryVersionId(ctx: S3Context): string | undefined {
  const v = ctx.req.query.get('versionId');
  return v === null ? undefined : checkVersionId(v);
}

/** The `partNumber` query parameter: an integer in 1..10000, never together with a Range header. */
export function queryPartNumber(ctx: S3Context): number | undefined {
  const v = ctx.req.query.get('partNumber');
  if (v === null) return undefined;
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= 10000)) {
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
      ArgumentName: 'partNumber',
      ArgumentValue: v,
    });
  }
  if (ctx.req.headers.range !== undefined) {
    throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
  }
  return n;
}

/** True when GET can skip the separate metadata read: no conditions, no range, no part. */
export function isPlainRead(ctx: S3Context): boolean {
  return (
    !hasConditions(readConditions(ctx.req.headers)) &&
    ctx.req.headers.range === undefined &&
    !ctx.req.query.has('partNumber')
  );
}

/** Refuses a delete marker the way S3 does (404 for the latest, 405 when addressed by version id). */
export function rejectDeleteMarker(info: ObjectInfo, byVersion: boolean): void {
  if (!info.deleteMarker) return;
  // The marker's id is named even when it is `null` (a marker written while versioning was Suspended).
  const headers: Record<string, string> = {
    'x-amz-delete-marker': 'true',
    'x-amz-version-id': info.versionId,
  };
  if (byVersion) {
    headers['Last-Modified'] = httpDate(info.modTime);
    throw new S3Error('MethodNotAllowed', undefined, {}, headers);
  }
  throw new S3Error('NoSuchKey', undefined, { Key: info.key }, headers);
}

/**
 * The current state of a copy source (CopyObject, UploadPartCopy): a delete marker is refused as GET refuses it, and
 * the x-amz-copy-source-if-* conditions must hold (412 otherwise).
 */
export async function statCopySource(
  ctx: S3Context,
  source: CopySource,
  conditions: Conditions,
): Promise<ObjectInfo> {
  const src = await ctx.layer.getObjectInfo(source.bucket, source.key, { versionId: source.versionId });
  rejectDeleteMarker(src, source.versionId !== undefined);
  if (evaluateConditions(conditions, src.etag, src.modTime) !== 'ok') throw new S3Error('PreconditionFailed');
  return src;
}

/** Sends 304 Not Modified (no body; ETag and Last-Modified as AWS sends them). */
export function sendNotModified(ctx: S3Context, info: ObjectInfo): void {
  const headers: Record<string, string> = {
    ETag: quoteEtag(info.etag),
    'Last-Modified': httpDate(info.modTime),
  };
  if (info.versionId !== 'null') headers['x-amz-version-id'] = info.versionId;
  ctx.res.writeHead(304, headers);
  ctx.res.end();
}

/** The byte range a partNumber request names, and the parts count to report (multipart objects only). */
function partRange(info: ObjectInfo, partNumber: number): { range?: ByteRange; partsCount?: number } {
  if (!/-\d+$/.test(info.etag)) {
    // A single PUT is one part: part 1 is the whole object.
    if (partNumber !== 1) throw new S3Error('InvalidPartNumber');
    return info.size === 0 ? {} : { range: { start: 0, end: info.size - 1 } };
  }
  const partsCount = info.parts.length;
  let start = 0;
  for (const p of info.parts) {
    if (p.number === partNumber) {
      return p.size === 0 ? { partsCount } : { range: { start, end: start + p.size - 1 }, partsCount };
    }
    start += p.size;
  }
  throw new S3Error('InvalidPartNumber');
}

/**
 * Plans the answer to a GET or HEAD of `info`, or returns null after sending 304. Throws PreconditionFailed,
 * InvalidRange (with `Content-Range: bytes *\/size`) or InvalidPartNumber as S3 does.
 */
export function planRead(ctx: S3Context, info: ObjectInfo, partNumber: number | undefined): ReadPlan | null {
  const outcome = evaluateConditions(readConditions(ctx.req.headers), info.etag, info.modTime);
  if (outcome === 'precondition-failed')
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  if (outcome === 'not-modified') {
    sendNotModified(ctx, info);
    return null;
  }
  const headers = objectHeaders(info);
  let range: ByteRange | undefined;
  if (partNumber !== undefined) {
    const part = partRange(info, partNumber);
    range = part.range;
    if (part.partsCount !== undefined) headers['x-amz-mp-parts-count'] = String(part.partsCount);
  } else {
    const rangeHeader = headerText(ctx.req.headers, 'range');
    const r = parseRange(rangeHeader, info.size);
    if (r.kind === 'unsatisfiable') {
      throw new S3Error(
        'InvalidRange',
        undefined,
        { RangeRequested: rangeHeader ?? '', ActualObjectSize: String(info.size) },
        { 'Content-Range': `bytes */${info.size}` },
      );
    }
    if (r.kind === 'range') range = r.range;
  }
  for (const [param, header] of OVERRIDES) {
    const v = ctx.req.query.get(param);
    if (v !== null) headers[header] = v;
  }
  const fullObject = range === undefined && partNumber === undefined;
  if (fullObject && headerText(ctx.req.headers, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED') {
    Object.assign(headers, checksumHeaders(info.checksums));
  }
  if (range) {
    headers['Content-Range'] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers['Content-Length'] = String(range.end - range.start + 1);
  } else {
    headers['Content-Length'] = String(info.size);
  }
  return { info, status: range ? 206 : 200, range, headers };
}
