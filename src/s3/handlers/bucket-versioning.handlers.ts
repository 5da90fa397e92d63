/**
 * GetBucketVersioning and PutBucketVersioning. A bucket never versioned answers an empty VersioningConfiguration, as
 * AWS does; once Enabled or Suspended it stays one of the two (there is no Status that returns it to unversioned).
 * MFA Delete cannot be configured: it needs an MFA device tiergate has no way to check.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendEmpty, sendXml } from '../s3-response';
import { asText, parseXml } from '../xml/xml';
import { bucketOf, MAX_CONFIG_BODY, readSmallBody } from './bucket.helpers';

/** GET /bucket?versioning */
export const getBucketVersioning: S3Handler = async (ctx) => {
  const status = await ctx.layer.getBucketVersioning(bucketOf(ctx));
  sendXml(ctx, 200, 'VersioningConfiguration', status === 'Unversioned' ? {} : { Status: status });
};

/** Status of a VersioningConfiguration document (MalformedXML for anything but Enabled or Suspended). */
export function parseVersioningXml(body: Buffer | string): 'Enabled' | 'Suspended' {
  const doc = parseXml(body, 'VersioningConfiguration');
  const mfaDelete = asText(doc.MfaDelete);
  if (mfaDelete === 'Enabled') {
    throw new S3Error('NotImplemented', 'MFA Delete is not supported');
  }
  if (mfaDelete !== '' && mfaDelete !== 'Disabled') throw new S3Error('MalformedXML');
  const status = asText(doc.Status);
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error('MalformedXML');
  return status;
}

/** PUT /bucket?versioning */
export const putBucketVersioning: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  await ctx.layer.headBucket(bucket);
  const status = parseVersioningXml(await readSmallBody(ctx, MAX_CONFIG_BODY));
  await ctx.layer.putBucketVersioning(bucket, status);
  sendEmpty(ctx, 200);
};
