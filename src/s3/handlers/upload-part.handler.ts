/**
 * UploadPart: `PUT /bucket/key?partNumber=N&uploadId=ID`. Streams the decoded body into one part of the upload;
 * the storage layer replaces an earlier part with the same number atomically and checks Content-MD5.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { quoteEtag, sendEmpty } from '../s3-response';
import { checksumHeaders, headerText, limitBodySize, parseContentMd5 } from './object-headers';

/** S3's largest part: 5 GiB. */
export const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
/** S3's largest part number. */
export const MAX_PART_NUMBER = 10000;

/** The `partNumber` query parameter, an integer in 1..10000 (InvalidArgument otherwise, as AWS). */
export function parsePartNumber(query: URLSearchParams): number {
  const raw = query.get('partNumber') ?? '';
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_PART_NUMBER)) {
    throw new S3Error(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      { ArgumentName: 'partNumber', ArgumentValue: raw },
    );
  }
  return n;
}

/** The UploadPart handler. */
export const uploadPart: S3Handler = async (ctx: S3Context) => {
  const partNumber = parsePartNumber(ctx.req.query);
  const uploadId = ctx.req.query.get('uploadId') ?? '';
  const expectedMd5 = parseContentMd5(headerText(ctx.req.headers, 'content-md5'));
  const size = ctx.bodyLength;
  const chunked = ctx.auth.payload.startsWith('streaming');
  if (size === undefined && !chunked) throw new S3Error('MissingContentLength');
  if (size !== undefined && size > MAX_PART_SIZE) throw new S3Error('EntityTooLarge');

  const body = size === undefined ? limitBodySize(ctx.body(), MAX_PART_SIZE) : ctx.body();
  const part = await ctx.layer.putObjectPart(ctx.req.bucket!, ctx.req.key!, uploadId, partNumber, body, {
    size,
    expectedMd5,
  });
  sendEmpty(ctx, 200, { ETag: quoteEtag(part.etag), ...checksumHeaders(ctx.verifiedChecksums()) });
};
