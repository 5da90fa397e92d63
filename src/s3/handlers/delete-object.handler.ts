/**
 * DeleteObject: `DELETE /bucket/key[?versionId=]`. Without a version id it removes the `null` version (unversioned
 * bucket) or adds a delete marker (versioned bucket); with one it removes exactly that version or marker for good.
 * Always 204: deleting a key (or version) that does not exist succeeds, as in S3. A missing bucket is NoSuchBucket.
 */
import { isStorageError } from '../../storage/errors';
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { queryVersionId } from './object-read';

/** The DeleteObject handler. */
export const deleteObject: S3Handler = async (ctx) => {
  const versionId = queryVersionId(ctx);
  // A delete by version id names that version back, as S3 does, even when it did not exist or is `null`; so is a
  // delete marker's id when it is `null` (Suspended buckets).
  const headers: Record<string, string> = versionId === undefined ? {} : { 'x-amz-version-id': versionId };
  try {
    const result = await ctx.layer.deleteObject(ctx.req.bucket!, ctx.req.key!, { versionId });
    if (result.deleteMarker) headers['x-amz-delete-marker'] = 'true';
    if (result.versionId !== undefined && (result.versionId !== 'null' || result.deleteMarker))
      headers['x-amz-version-id'] = result.versionId;
  } catch (err) {
    if (!isStorageError(err, 'ObjectNotFound', 'VersionNotFound')) throw err;
  }
  sendEmpty(ctx, 204, headers);
};
