/** DeleteBucketTagging: removes the tag set (204 whether or not there was one, as AWS answers). */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf } from './bucket.helpers';
import { BUCKET_TAGGING_CONFIG } from './bucket-tagging.helpers';

/** DELETE /bucket?tagging */
export const deleteBucketTagging: S3Handler = async (ctx) => {
  await ctx.layer.putBucketConfig(bucketOf(ctx), BUCKET_TAGGING_CONFIG, null);
  sendEmpty(ctx, 204);
};
