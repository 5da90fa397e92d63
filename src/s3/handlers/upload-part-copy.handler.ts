/**
 * UploadPartCopy: `PUT /bucket/key?partNumber=N&uploadId=ID` with `x-amz-copy-source`. Streams the source object
 * (or the `x-amz-copy-source-range` slice of it) from the ObjectLayer into one part of the upload; the
 * `x-amz-copy-source-if-*` conditions are checked against the source first, and every failure is a 412.
 */
import type { ByteRange, PartInfo } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import { copySourceConditions, headerText, parseCopySource } from './object-headers';
import { statCopySource } from './object-read';
import { MAX_PART_SIZE, parsePartNumber } from './upload-part.handler';

/** Retries when the source is overwritten between reading its metadata and opening its data (as CopyObject). */
const ATTEMPTS = 3;

const RANGE_FORM =
  'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the ' +
  'zero-based offsets of the first and last bytes to copy';

/**
 * `x-amz-copy-source-range` resolved against the source size: undefined copies the whole object. Only
 * `bytes=first-last` is accepted (no suffix or open ranges): a malformed value is InvalidArgument, a range past the
 * end of the source is InvalidRange (what ceph/s3-tests' test_multipart_copy_invalid_range requires).
 */
export function parseCopySourceRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const m = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  const start = m ? Number(m[1]) : NaN;
  const end = m ? Number(m[2]) : NaN;
  if (!m || start > end) {
    throw new S3Error('InvalidArgument', RANGE_FORM, {
      ArgumentName: 'x-amz-copy-source-range',
      ArgumentValue: value,
    });
  }
  if (end >= size) {
    throw new S3Error('InvalidRange', `Range specified is not valid for source object of size: ${size}`);
  }
  return { start, end };
}

/** The UploadPartCopy handler. */
export const uploadPartCopy: S3Handler = async (ctx: S3Context) => {
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const partNumber = parsePartNumber(ctx.req.query);
  const uploadId = ctx.req.query.get('uploadId') ?? '';
  const source = parseCopySource(headerText(ctx.req.headers, 'x-amz-copy-source'));
  const conditions = copySourceConditions(ctx.req.headers);
  const rangeHeader = headerText(ctx.req.headers, 'x-amz-copy-source-range');
  // Resolve the destination bucket first, so a failure there never leaves a source stream unread.
  await ctx.layer.headBucket(bucket);

  for (let attempt = 1; ; attempt++) {
    const src = await statCopySource(ctx, source, conditions);
    const range = parseCopySourceRange(rangeHeader, src.size);
    const length = range ? range.end - range.start + 1 : src.size;
    if (length > MAX_PART_SIZE) {
      throw new S3Error(
        'InvalidRequest',
        `The specified copy source is larger than the maximum allowable size for a copy source: ${MAX_PART_SIZE}`,
      );
    }
    const { info: read, stream } = await ctx.layer.getObject(source.bucket, source.key, {
      versionId: src.versionId,
      range,
    });
    if (read.etag !== src.etag || read.modTime.getTime() !== src.modTime.getTime()) {
      stream.destroy();
      if (attempt === ATTEMPTS) throw new S3Error('SlowDown');
      continue;
    }
    let part: PartInfo;
    try {
      part = await ctx.layer.putObjectPart(bucket, key, uploadId, partNumber, stream, { size: length });
    } finally {
      stream.destroy();
    }
    const headers: Record<string, string> = {};
    if (src.versionId !== 'null') headers['x-amz-copy-source-version-id'] = src.versionId;
    sendXml(
      ctx,
      200,
      'CopyPartResult',
      { ETag: quoteEtag(part.etag), LastModified: part.lastModified },
      headers,
    );
    return;
  }
};
