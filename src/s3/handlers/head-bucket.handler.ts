/** HeadBucket: 200 with the bucket's region when it exists (the gateway sends a bare 404 for NoSuchBucket). */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf } from './bucket.helpers';

/** HEAD /bucket */
export const headBucket: S3Handler = async (ctx) => {
  await ctx.layer.headBucket(bucketOf(ctx));
  sendEmpty(ctx, 200, { 'x-amz-bucket-region': ctx.settings.region, 'x-amz-access-point-alias': 'false' });
};
