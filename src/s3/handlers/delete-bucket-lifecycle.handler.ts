/** DeleteBucketLifecycle: removes the lifecycle configuration (204 whether or not there was one, as AWS answers). */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf } from './bucket.helpers';

/** DELETE /bucket?lifecycle */
export const deleteBucketLifecycle: S3Handler = async (ctx) => {
  await ctx.layer.deleteBucketLifecycle(bucketOf(ctx));
  sendEmpty(ctx, 204);
};
