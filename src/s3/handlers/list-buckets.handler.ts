/**
 * ListBuckets: every bucket with its creation date, optionally filtered by prefix and paged with max-buckets and
 * an opaque continuation token (base64 of the last name), as the current API allows.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { ownerOf } from './bucket.helpers';
import { decodeContinuationToken, encodeContinuationToken } from './list-objects.helpers';

const MAX_BUCKETS = 10000;

/** GET / */
export const listBuckets: S3Handler = async (ctx) => {
  const query = ctx.req.query;
  const prefix = query.get('prefix') ?? '';
  const maxText = query.get('max-buckets');
  const max = maxText === null ? MAX_BUCKETS : /^[0-9]{1,5}$/.test(maxText) ? Number(maxText) : 0;
  if (max < 1 || max > MAX_BUCKETS) {
    throw new S3Error(
      'InvalidArgument',
      `Argument max-buckets must be an integer between 1 and ${MAX_BUCKETS}`,
      {
        ArgumentName: 'max-buckets',
        ArgumentValue: maxText ?? '',
      },
    );
  }
  const token = query.get('continuation-token');
  const after = token ? decodeContinuationToken(token) : '';
  const region = query.get('bucket-region');
  const all = (await ctx.layer.listBuckets())
    .filter((b) => b.name.startsWith(prefix) && b.name > after)
    .filter(() => region === null || region === ctx.settings.region)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = all.slice(0, max);
  const truncated = all.length > max;
  sendXml(ctx, 200, 'ListAllMyBucketsResult', {
    Buckets: {
      Bucket: page.map((b) => ({ Name: b.name, CreationDate: b.created, BucketRegion: ctx.settings.region })),
    },
    Owner: ownerOf(ctx),
    ContinuationToken: truncated ? encodeContinuationToken(page[page.length - 1].name) : undefined,
    Prefix: query.has('prefix') ? prefix : undefined,
  });
};
