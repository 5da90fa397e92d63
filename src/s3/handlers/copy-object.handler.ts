/**
 * CopyObject: `PUT /bucket/key` with `x-amz-copy-source`. The source version is resolved and its conditions
 * checked (x-amz-copy-source-if-*, all 412), then its bytes stream through the ObjectLayer into the destination:
 * nothing is buffered, and for single-PUT sources the source ETag is the expected MD5, so storage proves the copy
 * byte-identical before committing. Metadata and tags come from the source (COPY) or the request (REPLACE).
 */
import type { ObjectInfo, PutObjectOptions } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import {
  MAX_PUT_SIZE,
  copySourceConditions,
  headerText,
  parseCopySource,
  parseDirective,
  parsePutHeaders,
  parseStorageClass,
  parseTaggingHeader,
} from './object-headers';
import { statCopySource } from './object-read';

/** Retries when the source is overwritten between reading its metadata and opening its data. */
const ATTEMPTS = 3;

/** The options of the new object: metadata per the metadata directive, tags per the tagging directive. */
function copyOptions(
  src: ObjectInfo,
  replaceMeta: boolean,
  replaceTags: boolean,
  req: PutObjectOptions,
): PutObjectOptions {
  const multipart = /-\d+$/.test(src.etag);
  const opts: PutObjectOptions = replaceMeta
    ? { ...req }
    : {
        contentType: src.contentType,
        contentEncoding: src.contentEncoding,
        contentDisposition: src.contentDisposition,
        contentLanguage: src.contentLanguage,
        cacheControl: src.cacheControl,
        expires: src.expires,
        userMetadata: src.userMetadata,
      };
  opts.tags = replaceTags ? (req.tags ?? {}) : src.tags;
  opts.storageClass = req.storageClass ?? 'STANDARD';
  opts.size = src.size;
  // Whole-object checksums describe the same bytes; composite ones (`...-N`) belong to the source's parts.
  opts.checksums = Object.fromEntries(Object.entries(src.checksums).filter(([, v]) => !/-\d+$/.test(v)));
  if (!multipart) opts.expectedMd5 = src.etag;
  return opts;
}

/** The CopyObject handler. */
export const copyObject: S3Handler = async (ctx) => {
  const headers = ctx.req.headers;
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const source = parseCopySource(headerText(headers, 'x-amz-copy-source'));
  const replaceMeta = parseDirective(headers, 'x-amz-metadata-directive') === 'REPLACE';
  const replaceTags = parseDirective(headers, 'x-amz-tagging-directive') === 'REPLACE';
  const requested: PutObjectOptions = replaceMeta
    ? parsePutHeaders(headers)
    : { storageClass: parseStorageClass(headerText(headers, 'x-amz-storage-class')) };
  if (replaceTags) requested.tags = parseTaggingHeader(headerText(headers, 'x-amz-tagging')) ?? {};
  const conditions = copySourceConditions(headers);
  // Resolve the destination bucket first, so a failure there never leaves a source stream unread.
  await ctx.layer.headBucket(bucket);

  for (let attempt = 1; ; attempt++) {
    const src = await statCopySource(ctx, source, conditions);
    if (src.size > MAX_PUT_SIZE) {
      throw new S3Error('EntityTooLarge', undefined, {
        ProposedSize: String(src.size),
        MaxSizeAllowed: String(MAX_PUT_SIZE),
      });
    }
    const sameObject = source.bucket === bucket && source.key === key && src.isLatest;
    if (sameObject && !replaceMeta) {
      throw new S3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    const opts = copyOptions(src, replaceMeta, replaceTags, requested);
    const { info: read, stream } = await ctx.layer.getObject(source.bucket, source.key, {
      versionId: src.versionId,
    });
    if (read.etag !== src.etag || read.modTime.getTime() !== src.modTime.getTime()) {
      stream.destroy();
      if (attempt === ATTEMPTS) throw new S3Error('SlowDown');
      continue;
    }
    let info: ObjectInfo;
    try {
      info = await ctx.layer.putObject(bucket, key, stream, opts);
    } finally {
      stream.destroy();
    }
    const out: Record<string, string> = {};
    if (src.versionId !== 'null') out['x-amz-copy-source-version-id'] = src.versionId;
    if (info.versionId !== 'null') out['x-amz-version-id'] = info.versionId;
    sendXml(ctx, 200, 'CopyObjectResult', { LastModified: info.modTime, ETag: quoteEtag(info.etag) }, out);
    return;
  }
};
