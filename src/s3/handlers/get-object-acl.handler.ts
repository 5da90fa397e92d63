/** GetObjectAcl: the owner, with full control, for an object that exists (see acl.helpers.ts). */
import type { S3Handler } from '../s3-context';
import { sendOwnerAcl } from './acl.helpers';
import { bucketOf } from './bucket.helpers';
import { queryVersionId } from './object-read';

/** GET /bucket/key?acl */
export const getObjectAcl: S3Handler = async (ctx) => {
  const versionId = queryVersionId(ctx);
  await ctx.layer.getObjectInfo(bucketOf(ctx), ctx.req.key!, { versionId });
  sendOwnerAcl(ctx);
};
