/**
 * PutBucketTagging: replaces the bucket's whole tag set after AWS's validation (InvalidTag); an empty TagSet removes
 * it. 204 on success, as AWS answers.
 */
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf, MAX_CONFIG_BODY, readSmallBody } from './bucket.helpers';
import {
  BUCKET_TAGGING_CONFIG,
  encodeBucketTags,
  parseTaggingXml,
  validateBucketTags,
} from './bucket-tagging.helpers';

/** PUT /bucket?tagging */
export const putBucketTagging: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  await ctx.layer.headBucket(bucket);
  const tags = parseTaggingXml(await readSmallBody(ctx, MAX_CONFIG_BODY));
  validateBucketTags(tags);
  await ctx.layer.putBucketConfig(bucket, BUCKET_TAGGING_CONFIG, tags.length ? encodeBucketTags(tags) : null);
  sendEmpty(ctx, 204);
};
