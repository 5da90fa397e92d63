/** ListObjects (v1): one page of keys strictly after `marker`, with the owner on every entry. */
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { bucketOf, ownerOf } from './bucket.helpers';
import { listObjectsV1Xml, parseListParams, wantsRestoreStatus } from './list-objects.helpers';

/** GET /bucket (no list-type=2). */
export const listObjects: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const params = parseListParams(ctx.req.query);
  const restoreStatus = wantsRestoreStatus(ctx.req.headers);
  const marker = ctx.req.query.get('marker') ?? '';
  const page = await ctx.layer.listObjects(bucket, {
    prefix: params.prefix,
    delimiter: params.delimiter,
    marker,
    maxKeys: params.maxKeys,
  });
  sendXml(
    ctx,
    200,
    'ListBucketResult',
    listObjectsV1Xml(bucket, params, marker, page, ownerOf(ctx), restoreStatus),
  );
};
