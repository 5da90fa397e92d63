/**
 * GetBucketLifecycleConfiguration: the stored configuration as AWS answers it (generated rule IDs filled in, the
 * filter in the form it was sent, dates as `YYYY-MM-DDT00:00:00.000Z`), or NoSuchLifecycleConfiguration (404)
 * when the bucket has none.
 */
import { lifecycleToXml } from '../../lifecycle/rules/lifecycle-to-xml';
import { decodeLifecycle } from '../../lifecycle/rules/stored-lifecycle';
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { bucketOf } from './bucket.helpers';
import { TRANSITION_MIN_SIZE_HEADER } from './bucket-lifecycle.helpers';

/** GET /bucket?lifecycle */
export const getBucketLifecycleConfiguration: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const stored = await ctx.layer.getBucketLifecycle(bucket);
  if (stored === null) {
    throw new S3Error('NoSuchLifecycleConfiguration', undefined, { BucketName: bucket });
  }
  const config = decodeLifecycle(stored);
  sendXml(ctx, 200, 'LifecycleConfiguration', lifecycleToXml(config), {
    [TRANSITION_MIN_SIZE_HEADER]: config.transitionMinSizeMode,
  });
};
