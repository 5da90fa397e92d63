/**
 * PutObject: `PUT /bucket/key`. Headers become PutObjectOptions (object-headers.ts); the decoded body streams into
 * the ObjectLayer, which commits only after the whole body arrived and verified (signatures, payload hash,
 * x-amz-checksum-* in the decoder; Content-MD5 in storage). The verified checksums are known only when the body
 * has ended, which is also when storage builds the version record, so they are handed over as a getter.
 */
import type { PutObjectOptions } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { quoteEtag, sendEmpty } from '../s3-response';
import {
  MAX_PUT_SIZE,
  checksumHeaders,
  headerText,
  limitBodySize,
  parseContentMd5,
  parsePutHeaders,
  parseWriteConditions,
} from './object-headers';

/** True when the body's length is framed without a declared decoded length (aws-chunked or HTTP chunked). */
function isChunked(ctx: S3Context): boolean {
  return (
    ctx.auth.payload.startsWith('streaming') ||
    /chunked/i.test(headerText(ctx.req.headers, 'transfer-encoding') ?? '')
  );
}

/** The PutObject handler. */
export const putObject: S3Handler = async (ctx) => {
  const headers = ctx.req.headers;
  const opts: PutObjectOptions = { ...parsePutHeaders(headers), ...parseWriteConditions(headers) };
  const expectedMd5 = parseContentMd5(headerText(headers, 'content-md5'));
  if (expectedMd5 !== undefined) opts.expectedMd5 = expectedMd5;
  const size = ctx.bodyLength;
  if (size === undefined && headers['content-length'] === undefined && !isChunked(ctx)) {
    throw new S3Error('MissingContentLength');
  }
  if (size !== undefined && size > MAX_PUT_SIZE) {
    throw new S3Error('EntityTooLarge', undefined, {
      ProposedSize: String(size),
      MaxSizeAllowed: String(MAX_PUT_SIZE),
    });
  }
  opts.size = size ?? -1;
  // Read by storage when it builds the version record, after the body ended and the decoder verified it.
  Object.defineProperty(opts, 'checksums', { enumerable: true, get: () => ctx.verifiedChecksums() });

  const body = size === undefined ? limitBodySize(ctx.body(), MAX_PUT_SIZE) : ctx.body();
  const info = await ctx.layer.putObject(ctx.req.bucket!, ctx.req.key!, body, opts);
  const out: Record<string, string> = { ETag: quoteEtag(info.etag), ...checksumHeaders(info.checksums) };
  if (info.versionId !== 'null') out['x-amz-version-id'] = info.versionId;
  sendEmpty(ctx, 200, out);
};
