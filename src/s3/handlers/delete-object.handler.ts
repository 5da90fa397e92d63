/**
 * DeleteObject: `DELETE /bucket/key[?versionId=]`. Always 204: deleting a key (or version) that does not exist
 * succeeds, as in S3. A missing bucket is still NoSuchBucket.
 */
import { isStorageError } from '../../storage/errors';
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { queryVersionId } from './object-read';

/** The DeleteObject handler. */
export const deleteObject: S3Handler = async (ctx) => {
  const versionId = queryVersionId(ctx);
  const headers: Record<string, string> = {};
  try {
    const result = await ctx.layer.deleteObject(ctx.req.bucket!, ctx.req.key!, { versionId });
    if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
    if (result.versionId !== undefined && result.versionId !== 'null')
      headers['x-amz-version-id'] = result.versionId;
  } catch (err) {
    if (!isStorageError(err, 'ObjectNotFound', 'VersionNotFound')) throw err;
  }
  sendEmpty(ctx, 204, headers);
};
