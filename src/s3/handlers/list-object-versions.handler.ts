/**
 * ListObjectVersions: every version and delete marker, keys in byte order and each key's versions newest first, as
 * `Version` and `DeleteMarker` elements in that one order (S3 interleaves them). Paged by key-marker and
 * version-id-marker; a page ends after max-keys versions, markers and common prefixes together.
 */
import { S3Error } from '../errors/s3-error';
import type { S3Handler } from '../s3-context';
import { quoteEtag, sendXml } from '../s3-response';
import { XmlSequence, type XmlNode } from '../xml/xml';
import { bucketOf, ownerOf } from './bucket.helpers';
import { encoder, parseListParams, restoreStatusOf, wantsRestoreStatus } from './list-objects.helpers';
import { checkVersionId } from './object-headers';

/** GET /bucket?versions */
export const listObjectVersions: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  const params = parseListParams(ctx.req.query);
  const restoreStatus = wantsRestoreStatus(ctx.req.headers);
  const keyMarker = ctx.req.query.get('key-marker') ?? '';
  const versionIdMarker = ctx.req.query.get('version-id-marker') ?? '';
  if (versionIdMarker !== '') checkVersionId(versionIdMarker, 'version-id-marker');
  if (versionIdMarker !== '' && keyMarker === '') {
    throw new S3Error('InvalidArgument', 'A version-id marker cannot be specified without a key marker.', {
      ArgumentName: 'version-id-marker',
      ArgumentValue: versionIdMarker,
    });
  }
  const page = await ctx.layer.listObjectVersions(bucket, {
    prefix: params.prefix,
    delimiter: params.delimiter,
    keyMarker,
    versionIdMarker,
    maxKeys: params.maxKeys,
  });
  const enc = encoder(params);
  const owner = ownerOf(ctx);
  // One list in S3's order; each entry becomes a Version or a DeleteMarker element.
  const entries: [string, XmlNode][] = page.versions.map((v) =>
    v.deleteMarker
      ? [
          'DeleteMarker',
          {
            Key: enc(v.key),
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            LastModified: v.modTime,
            Owner: owner,
          },
        ]
      : [
          'Version',
          {
            Key: enc(v.key),
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            LastModified: v.modTime,
            ETag: quoteEtag(v.etag),
            Size: v.size,
            Owner: owner,
            StorageClass: v.storageClass,
            RestoreStatus: restoreStatus ? restoreStatusOf(v) : undefined,
          },
        ],
  );
  sendXml(ctx, 200, 'ListVersionsResult', {
    Name: bucket,
    Prefix: enc(params.prefix),
    KeyMarker: enc(keyMarker),
    VersionIdMarker: versionIdMarker,
    NextKeyMarker: page.nextKeyMarker !== undefined ? enc(page.nextKeyMarker) : undefined,
    NextVersionIdMarker: page.nextVersionIdMarker,
    MaxKeys: params.maxKeys,
    Delimiter: params.delimiter === '' ? undefined : enc(params.delimiter),
    EncodingType: params.encodeUrl ? 'url' : undefined,
    IsTruncated: page.isTruncated,
    Versions: new XmlSequence(entries),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: enc(p) })),
  });
};
