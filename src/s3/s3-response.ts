/** Writing S3 responses: XML documents, empty bodies, object headers and error bodies. */
import type { ServerResponse } from 'node:http';
import type { ObjectInfo } from '../storage/object-layer';
import { formatRestoreHeader } from '../tiers/restore-header';
import { restoreStateOf } from '../tiers/tier-state';
import type { S3Context } from './s3-context';
import { xmlDocument, type XmlNode } from './xml/xml';

/** Sends an XML document with status `status`. */
export function sendXml(
  ctx: S3Context,
  status: number,
  root: string,
  body: XmlNode,
  headers: Record<string, string> = {},
): void {
  const text = xmlDocument(root, body);
  ctx.res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(text),
  });
  ctx.res.end(text);
}

/** Sends an empty body. */
export function sendEmpty(
  ctx: S3Context,
  status: number,
  headers: Record<string, string | number> = {},
): void {
  ctx.res.writeHead(status, { ...headers, 'Content-Length': 0 });
  ctx.res.end();
}

/** The quoted ETag S3 sends. */
export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** RFC 7231 HTTP date. */
export function httpDate(d: Date): string {
  return d.toUTCString();
}

/** Headers describing an object version on GET and HEAD. */
export function objectHeaders(info: ObjectInfo): Record<string, string> {
  const h: Record<string, string> = {
    ETag: quoteEtag(info.etag),
    'Last-Modified': httpDate(info.modTime),
    'Accept-Ranges': 'bytes',
    'Content-Type': info.contentType ?? 'binary/octet-stream',
  };
  if (info.contentEncoding) h['Content-Encoding'] = info.contentEncoding;
  if (info.contentDisposition) h['Content-Disposition'] = info.contentDisposition;
  if (info.contentLanguage) h['Content-Language'] = info.contentLanguage;
  if (info.cacheControl) h['Cache-Control'] = info.cacheControl;
  if (info.expires) h['Expires'] = info.expires;
  if (info.versionId !== 'null') h['x-amz-version-id'] = info.versionId;
  if (info.storageClass !== 'STANDARD') h['x-amz-storage-class'] = info.storageClass;
  // RestoreObject's state, as AWS reports it: running, or done with the local copy's expiry (RFC 1123).
  const restore = restoreStateOf(info);
  if (restore) {
    const expiry = restore.expiry === undefined ? undefined : new Date(restore.expiry);
    h['x-amz-restore'] = formatRestoreHeader({ ongoing: restore.ongoing, ...(expiry ? { expiry } : {}) });
  }
  const tagCount = Object.keys(info.tags).length;
  if (tagCount > 0) h['x-amz-tagging-count'] = String(tagCount);
  for (const [k, v] of Object.entries(info.userMetadata)) h[`x-amz-meta-${k}`] = v;
  return h;
}

/** Sets headers that must be on every response, errors included. */
export function setCommonHeaders(res: ServerResponse, requestId: string): void {
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', requestId);
  res.setHeader('Server', 'tiergate');
}
