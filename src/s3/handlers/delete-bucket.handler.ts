/** DeleteBucket: removes an empty bucket (BucketNotEmpty otherwise, NoSuchBucket if absent); 204 on success. */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf } from './bucket.helpers';

/** DELETE /bucket */
export const deleteBucket: S3Handler = async (ctx) => {
  await ctx.layer.deleteBucket(bucketOf(ctx));
  sendEmpty(ctx, 204);
};
