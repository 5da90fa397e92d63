/**
 * CompleteMultipartUpload: `POST /bucket/key?uploadId=ID` with a CompleteMultipartUpload document listing the parts
 * (PartNumber, ETag) in order. The storage layer checks the order (InvalidPartOrder), the ETags (InvalidPart) and
 * the 5 MiB minimum of every part but the last (EntityTooSmall), and commits the object without copying data; the
 * ETag is the MD5 of the part MD5s, dash, the part count. A retried Complete returns the object it made.
 */
import type { TLSSocket } from 'node:tls';
import type { CompletePart } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import { asArray, asText, parseXml } from '../xml/xml';
import { readSmallBody } from './bucket.helpers';

/** Largest Complete document accepted: 10000 parts with all their optional checksum elements fit well within. */
export const MAX_COMPLETE_BODY = 4 * 1024 * 1024;

/** The parts a CompleteMultipartUpload document lists, in document order; MalformedXML when bad or empty. */
export function parseCompleteParts(body: Buffer | string): CompletePart[] {
  const root = parseXml(body, 'CompleteMultipartUpload');
  const parts = asArray(root.Part).map((p): CompletePart => {
    if (typeof p !== 'object' || p === null) throw new S3Error('MalformedXML');
    const fields = p as Record<string, unknown>;
    const number = asText(fields.PartNumber).trim();
    const etag = asText(fields.ETag).trim();
    if (!/^\d{1,9}$/.test(number) || etag === '') throw new S3Error('MalformedXML');
    return { partNumber: Number(number), etag };
  });
  if (parts.length === 0) throw new S3Error('MalformedXML');
  return parts;
}

/** The Location of the new object: the URL the client reached, path style or virtual-host style. */
export function objectLocation(
  scheme: string,
  host: string,
  bucket: string,
  key: string,
  domains: readonly string[],
): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  const hostname = host.replace(/:\d+$/, '').toLowerCase();
  const virtual = domains.some((d) => hostname === `${bucket}.${d.toLowerCase()}`);
  return virtual
    ? `${scheme}://${host}/${path}`
    : `${scheme}://${host}/${encodeURIComponent(bucket)}/${path}`;
}

/** The CompleteMultipartUpload handler. */
export const completeMultipartUpload: S3Handler = async (ctx: S3Context) => {
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const uploadId = ctx.req.query.get('uploadId') ?? '';
  const parts = parseCompleteParts(await readSmallBody(ctx, MAX_COMPLETE_BODY));
  const info = await ctx.layer.completeMultipartUpload(bucket, key, uploadId, parts);

  const scheme = (ctx.req.raw.socket as TLSSocket).encrypted ? 'https' : 'http';
  const host = ctx.req.headers.host ?? 'localhost';
  const headers: Record<string, string> = {};
  if (info.versionId !== 'null') headers['x-amz-version-id'] = info.versionId;
  sendXml(
    ctx,
    200,
    'CompleteMultipartUploadResult',
    {
      Location: objectLocation(scheme, host, bucket, key, ctx.settings.domains),
      Bucket: bucket,
      Key: key,
      ETag: quoteEtag(info.etag),
    },
    headers,
  );
};
