/**
 * PutBucketLifecycleConfiguration: replaces the bucket's lifecycle configuration with a validated one (see
 * `lifecycle/rules/parse-lifecycle.ts` for the checks and AWS's error codes). AWS requires an integrity header on
 * this operation (the SDK model marks it `requestChecksumRequired`, so current SDKs send an x-amz-checksum-crc32;
 * older ones Content-MD5); without one the answer is InvalidRequest, as for DeleteObjects. Transition storage
 * classes must be tiers of the registry (`S3Settings.isKnownStorageClass`); without one (unset) every
 * Transition and NoncurrentVersionTransition is refused with InvalidStorageClass. 200 with an empty body and the
 * transition minimum-size mode in effect, as AWS answers.
 */
import { parseLifecycleConfiguration } from '../../lifecycle/rules/parse-lifecycle';
import { encodeLifecycle } from '../../lifecycle/rules/stored-lifecycle';
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { bucketOf, hasIntegrityHeader, readSmallBody } from './bucket.helpers';
import { MAX_LIFECYCLE_BODY, TRANSITION_MIN_SIZE_HEADER, withS3Errors } from './bucket-lifecycle.helpers';

const NO_TIERS = (): boolean => false;

/** PUT /bucket?lifecycle */
export const putBucketLifecycleConfiguration: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  if (!hasIntegrityHeader(ctx.req.headers)) {
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 OR x-amz-checksum-*',
    );
  }
  await ctx.layer.headBucket(bucket);
  const body = await readSmallBody(ctx, MAX_LIFECYCLE_BODY);
  const header = ctx.req.headers[TRANSITION_MIN_SIZE_HEADER];
  const config = withS3Errors(() =>
    parseLifecycleConfiguration(body, {
      isKnownStorageClass: ctx.settings.isKnownStorageClass ?? NO_TIERS,
      transitionMinSizeHeader: Array.isArray(header) ? header.join(',') : header,
    }),
  );
  await ctx.layer.putBucketLifecycle(bucket, encodeLifecycle(config));
  sendEmpty(ctx, 200, { [TRANSITION_MIN_SIZE_HEADER]: config.transitionMinSizeMode });
};
