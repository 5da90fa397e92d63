/**
 * CreateBucket: AWS naming rules (enforced by the storage layer: InvalidBucketName), an optional
 * CreateBucketConfiguration whose LocationConstraint must be empty or our region, and BucketAlreadyOwnedByYou for
 * a bucket that exists (single tenant: every bucket is the caller's).
 */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendEmpty } from '../s3-response';
import { asText, parseXml } from '../xml/xml';
import { bucketOf, MAX_CONFIG_BODY, readSmallBody } from './bucket.helpers';

/** The LocationConstraint of a CreateBucketConfiguration body ('' when there is no body or no constraint). */
export function parseLocationConstraint(body: Buffer): string {
  if (body.toString('utf8').trim() === '') return '';
  const doc = parseXml(body, 'CreateBucketConfiguration');
  const value = doc.LocationConstraint;
  if (value !== undefined && typeof value !== 'string') throw new S3Error('MalformedXML');
  return asText(value).trim();
}

/** Accepts an empty constraint or the configured region; anything else is InvalidLocationConstraint. */
export function checkLocationConstraint(constraint: string, region: string): void {
  if (constraint !== '' && constraint !== region) {
    throw new S3Error('InvalidLocationConstraint', undefined, { LocationConstraint: constraint });
  }
}

/** Path-style paths under /tiergate/ are the gateway's health, metrics and admin endpoints (see src/main.ts). */
const RESERVED_BUCKET = 'tiergate';

/** PUT /bucket */
export const createBucket: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  if (bucket === RESERVED_BUCKET) {
    throw new S3Error(
      'InvalidBucketName',
      `The bucket name "${RESERVED_BUCKET}" is reserved for the gateway's own endpoints.`,
    );
  }
  const lock = ctx.req.headers['x-amz-bucket-object-lock-enabled'];
  if (typeof lock === 'string' && lock.toLowerCase() === 'true') {
    throw new S3Error('NotImplemented', 'Object Lock is not supported by this server.');
  }
  const body = await readSmallBody(ctx, MAX_CONFIG_BODY);
  checkLocationConstraint(parseLocationConstraint(body), ctx.settings.region);
  await ctx.layer.makeBucket(bucket);
  sendEmpty(ctx, 200, { Location: `/${bucket}` });
};
