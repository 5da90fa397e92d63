/**
 * AbortMultipartUpload: `DELETE /bucket/key?uploadId=ID`. Removes the upload and its parts; 204 on success,
 * NoSuchUpload (404) when the upload is unknown, already aborted or completed.
 */
import type { S3Context, S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';

/** The AbortMultipartUpload handler. */
export const abortMultipartUpload: S3Handler = async (ctx: S3Context) => {
  const uploadId = ctx.req.query.get('uploadId') ?? '';
  await ctx.layer.abortMultipartUpload(ctx.req.bucket!, ctx.req.key!, uploadId);
  sendEmpty(ctx, 204);
};
