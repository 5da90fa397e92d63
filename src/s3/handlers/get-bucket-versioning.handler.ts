/**
 * GetBucketVersioning. A bucket that was never versioned answers an empty VersioningConfiguration, as AWS does;
 * PutBucketVersioning (and so Enabled / Suspended) arrives with the versioning issue.
 */
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { bucketOf } from './bucket.helpers';

/** GET /bucket?versioning */
export const getBucketVersioning: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  await ctx.layer.headBucket(bucket);
  sendXml(ctx, 200, 'VersioningConfiguration', {});
};
