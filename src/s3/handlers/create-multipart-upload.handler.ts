/**
 * CreateMultipartUpload: `POST /bucket/key?uploads`. Takes the same object headers as PutObject (content headers,
 * user metadata, tags, storage class); the storage layer keeps them with the upload and applies them on completion.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { headerText, parsePutHeaders } from './object-headers';

/** Checksum algorithms a client may announce for the parts of an upload. */
const CHECKSUM_ALGORITHMS = new Set(['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256']);

/** The CreateMultipartUpload handler. */
export const createMultipartUpload: S3Handler = async (ctx: S3Context) => {
  const bucket = ctx.req.bucket!;
  const key = ctx.req.key!;
  const opts = parsePutHeaders(ctx.req.headers);
  const headers: Record<string, string> = {};
  const algorithm = headerText(ctx.req.headers, 'x-amz-checksum-algorithm');
  if (algorithm !== undefined) {
    if (!CHECKSUM_ALGORITHMS.has(algorithm.toUpperCase())) {
      throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.', {
        ArgumentName: 'x-amz-checksum-algorithm',
        ArgumentValue: algorithm,
      });
    }
    headers['x-amz-checksum-algorithm'] = algorithm.toUpperCase();
  }
  const uploadId = await ctx.layer.newMultipartUpload(bucket, key, opts);
  sendXml(
    ctx,
    200,
    'InitiateMultipartUploadResult',
    { Bucket: bucket, Key: key, UploadId: uploadId },
    headers,
  );
};
