/** GetBucketTagging: the stored tag set, or NoSuchTagSet when the bucket has none. */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { bucketOf } from './bucket.helpers';
import { BUCKET_TAGGING_CONFIG, decodeBucketTags, taggingXml } from './bucket-tagging.helpers';

/** GET /bucket?tagging */
export const getBucketTagging: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const stored = await ctx.layer.getBucketConfig(bucket, BUCKET_TAGGING_CONFIG);
  if (stored === null) throw new S3Error('NoSuchTagSet', undefined, { BucketName: bucket });
  sendXml(ctx, 200, 'Tagging', taggingXml(decodeBucketTags(stored)));
};
