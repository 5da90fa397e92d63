/**
 * ListObjectVersions. Buckets cannot be versioned yet (PutBucketVersioning arrives with the versioning issue), so
 * every object has exactly one version, the `null` version, and it is the latest: the listing is the object
 * listing in ListVersionsResult form, paged by key-marker (version-id-marker can only ever be `null`).
 */
import type { S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import { bucketOf, ownerOf } from './bucket.helpers';
import { encoder, parseListParams } from './list-objects.helpers';

/** GET /bucket?versions */
export const listObjectVersions: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const params = parseListParams(ctx.req.query);
  const keyMarker = ctx.req.query.get('key-marker') ?? '';
  const versionIdMarker = ctx.req.query.get('version-id-marker') ?? '';
  const page = await ctx.layer.listObjects(bucket, {
    prefix: params.prefix,
    delimiter: params.delimiter,
    marker: keyMarker,
    maxKeys: params.maxKeys,
  });
  const enc = encoder(params);
  const owner = ownerOf(ctx);
  sendXml(ctx, 200, 'ListVersionsResult', {
    Name: bucket,
    Prefix: enc(params.prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    NextKeyMarker: page.isTruncated && page.nextMarker !== undefined ? enc(page.nextMarker) : undefined,
    NextVersionIdMarker: page.isTruncated ? 'null' : undefined,
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter === '' ? undefined : enc(params.delimiter),
    EncodingType: params.encodeUrl ? 'url' : undefined,
    IsTruncated: page.isTruncated,
    Version: page.objects.map((o) => ({
      Key: enc(o.key),
      VersionId: o.versionId,
      IsLatest: o.isLatest,
      LastModified: o.modTime,
      ETag: quoteEtag(o.etag),
      Size: o.size,
      Owner: owner,
      StorageClass: o.storageClass,
    })),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};
