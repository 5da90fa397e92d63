/**
 * DeleteObjects (multi-object delete): a `<Delete>` document of at most 1000 keys, which AWS only accepts with
 * Content-MD5 or an x-amz-checksum-* header. Each key is deleted on its own: a key that does not exist counts as
 * deleted (as S3), failures are reported per key, and quiet mode lists only the failures.
 */
import { S3Error, toS3Error } from '../errors/s3-error';
import type { S3Context, S3Handler } from '../s3-context';
import { sendXml } from '../s3-response';
import { asArray, parseXml, type XmlNode } from '../xml/xml';
import { checkVersionId } from './object-headers';
import { bucketOf, hasIntegrityHeader, readSmallBody } from './bucket.helpers';
import { isStorageError } from '../../storage/errors';

/** AWS's limit on keys per request. */
export const MAX_DELETE_KEYS = 1000;
/** Body limit: 1000 keys of up to 1024 bytes each, XML-escaped, with room to spare. */
const MAX_DELETE_BODY = 8 * 1024 * 1024;
const PARALLEL_DELETES = 16;

/** A parsed delete request. */
export interface DeleteRequest {
  quiet: boolean;
  objects: { key: string; versionId?: string }[];
}

/** Parses the `<Delete>` body: MalformedXML without objects, with more than 1000, or with an Object lacking Key. */
export function parseDeleteXml(body: Buffer | string): DeleteRequest {
  const doc = parseXml(body, 'Delete');
  const quiet = typeof doc.Quiet === 'string' && doc.Quiet.trim().toLowerCase() === 'true';
  const items = asArray(doc.Object);
  if (items.length === 0 || items.length > MAX_DELETE_KEYS) throw new S3Error('MalformedXML');
  const objects = items.map((item) => {
    const o = item as Record<string, unknown>;
    if (typeof o !== 'object' || typeof o.Key !== 'string') throw new S3Error('MalformedXML');
    const versionId = typeof o.VersionId === 'string' && o.VersionId !== '' ? o.VersionId : undefined;
    return { key: o.Key, versionId };
  });
  return { quiet, objects };
}

/** The outcome of one key: a Deleted element, or an Error element. */
type Outcome = { deleted: XmlNode } | { error: XmlNode };

async function deleteOne(
  ctx: S3Context,
  bucket: string,
  key: string,
  versionId: string | undefined,
): Promise<Outcome> {
  try {
    if (versionId !== undefined) checkVersionId(versionId, 'VersionId');
    const res = await ctx.layer.deleteObject(bucket, key, versionId ? { versionId } : {});
    return {
      deleted: {
        Key: key,
        VersionId: versionId,
        DeleteMarker: res.deleteMarker ? true : undefined,
        DeleteMarkerVersionId: res.deleteMarker ? res.versionId : undefined,
      },
    };
  } catch (err) {
    if (isStorageError(err, 'ObjectNotFound', 'VersionNotFound')) {
      return { deleted: { Key: key, VersionId: versionId } };
    }
    const e = toS3Error(err);
    const s3 = e instanceof S3Error ? e : new S3Error('InternalError');
    return { error: { Key: key, VersionId: versionId, Code: s3.code, Message: s3.message } };
  }
}

/** POST /bucket?delete */
export const deleteObjects: S3Handler = async (ctx) => {
  const bucket = bucketOf(ctx);
  if (!hasIntegrityHeader(ctx.req.headers)) {
    throw new S3Error(
      'InvalidRequest',
      'Missing required header for this request: Content-MD5 OR x-amz-checksum-*',
    );
  }
  const request = parseDeleteXml(await readSmallBody(ctx, MAX_DELETE_BODY));
  await ctx.layer.headBucket(bucket);
  const outcomes: Outcome[] = new Array<Outcome>(request.objects.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < request.objects.length) {
      const i = next++;
      const { key, versionId } = request.objects[i];
      outcomes[i] = await deleteOne(ctx, bucket, key, versionId);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, request.objects.length) }, worker));
  const deleted = request.quiet ? [] : outcomes.flatMap((o) => ('deleted' in o ? [o.deleted] : []));
  const errors = outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
  sendXml(ctx, 200, 'DeleteResult', { Deleted: deleted, Error: errors });
};
