/**
 * ListObjectsV2: like v1, but paged with an opaque continuation token (which wins over start-after), a KeyCount,
 * and the owner only when fetch-owner=true.
 */
import type { S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { bucketOf, ownerOf } from './bucket.helpers';
import {
  decodeContinuationToken,
  listObjectsV2Xml,
  parseListParams,
  wantsRestoreStatus,
} from './list-objects.helpers';

/** GET /bucket?list-type=2. */
export const listObjectsV2: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const query = ctx.req.query;
  const params = parseListParams(query);
  const restoreStatus = wantsRestoreStatus(ctx.req.headers);
  const continuationToken = query.get('continuation-token') ?? undefined;
  const startAfter = query.get('start-after') ?? undefined;
  // An empty token is echoed but starts from the beginning, as S3 does.
  const marker = continuationToken ? decodeContinuationToken(continuationToken) : (startAfter ?? '');
  const page = await ctx.layer.listObjects(bucket, {
    prefix: params.prefix,
    delimiter: params.delimiter,
    marker,
    maxKeys: params.maxKeys,
  });
  const owner = query.get('fetch-owner') === 'true' ? ownerOf(ctx) : undefined;
  sendXml(
    ctx,
    200,
    'ListBucketResult',
    listObjectsV2Xml(bucket, params, { continuationToken, startAfter }, page, owner, restoreStatus),
  );
};
