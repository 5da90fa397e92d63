/**
 * What the object tagging operations share: the Tagging XML document (parse and build), the version a tagging
 * request addresses (the latest unless `versionId` names one; never a delete marker) and the tag update itself,
 * a compare-and-swap on that version's metadata.
 */
import type { ObjectInfo } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import type { S3Context } from '../s3-context';
import { asArray, asText, parseXml, type XmlNode } from '../xml/xml';
import { validateTags } from './object-headers';
import { queryVersionId, rejectDeleteMarker } from './object-read';

/** Largest Tagging document accepted (10 tags of 128 + 256 characters fit many times over). */
export const MAX_TAGGING_BYTES = 64 * 1024;

/** Parses a `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>` body into validated tags. */
export function parseTaggingXml(body: Buffer | string): Record<string, string> {
  const root = parseXml(body, 'Tagging');
  if (!('TagSet' in root)) throw new S3Error('MalformedXML');
  const tagSet = root.TagSet;
  const tags = asArray<Record<string, unknown>>(
    typeof tagSet === 'object' && tagSet !== null ? (tagSet as Record<string, unknown>).Tag : undefined,
  );
  const pairs: [string, string][] = tags.map((t) => {
    if (typeof t !== 'object' || t === null || !('Key' in t)) throw new S3Error('MalformedXML');
    return [asText(t.Key), asText(t.Value)];
  });
  return validateTags(pairs);
}

/** The Tagging document for a tag set. */
export function taggingXml(tags: Record<string, string>): XmlNode {
  return { TagSet: { Tag: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } };
}

/** `x-amz-version-id` for a response about `info`, omitted for the null version. */
export function versionHeader(info: ObjectInfo): Record<string, string> {
  return info.versionId === 'null' ? {} : { 'x-amz-version-id': info.versionId };
}

/** The version a tagging request addresses (NoSuchKey / MethodNotAllowed for delete markers). */
export async function taggedVersion(ctx: S3Context): Promise<ObjectInfo> {
  const versionId = queryVersionId(ctx);
  const info = await ctx.layer.getObjectInfo(ctx.req.bucket!, ctx.req.key!, { versionId });
  rejectDeleteMarker(info, versionId !== undefined);
  return info;
}

/** Replaces the tags of the addressed version under its write lock. */
export async function replaceTags(ctx: S3Context, tags: Record<string, string>): Promise<ObjectInfo> {
  const info = await taggedVersion(ctx);
  return ctx.layer.updateObjectVersion(ctx.req.bucket!, ctx.req.key!, info.versionId, (v) => {
    // The version may have become a delete marker (same id) since it was resolved.
    if (v.type !== 'object') throw new S3Error('NoSuchKey', undefined, { Key: info.key });
    return { ...v, tags };
  });
}
