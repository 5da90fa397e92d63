/**
 * GetBucketLocation: a bare `<LocationConstraint>` element holding the region, empty for us-east-1 as AWS answers
 * (its legacy "US Standard" spelling), so SDKs map it back to us-east-1.
 */
import type { S3Handler } from '../s3-context';
import { bucketOf } from './bucket.helpers';
import { escapeXml, S3_NS } from '../xml/xml';

/** The response document for a region. */
export function locationConstraintXml(region: string): string {
  const value = region === 'us-east-1' ? '' : region;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="${S3_NS}">${escapeXml(value)}</LocationConstraint>`;
}

/** GET /bucket?location */
export const getBucketLocation: S3Handler = async (ctx) => {
  await ctx.layer.headBucket(bucketOf(ctx));
  const text = locationConstraintXml(ctx.settings.region);
  ctx.res.writeHead(200, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(text) });
  ctx.res.end(text);
};
