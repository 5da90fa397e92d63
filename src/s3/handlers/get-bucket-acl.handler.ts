/** GetBucketAcl: the owner, with full control (see acl.helpers.ts). */
import type { S3Handler } from '../s3-context';
import { sendOwnerAcl } from './acl.helpers';
import { bucketOf } from './bucket.helpers';

/** GET /bucket?acl */
export const getBucketAcl: S3Handler = async (ctx) => {
  await ctx.layer.headBucket(bucketOf(ctx));
  sendOwnerAcl(ctx);
};
