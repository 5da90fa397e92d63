/**
 * Bucket tagging: the Tagging XML document parsed and validated as AWS does (at most 50 tags, keys 1-128 and
 * values 0-256 characters from AWS's tag alphabet, unique keys, no `aws:` keys), and the versioned document
 * stored under the bucket's `tagging` configuration. Pure functions.
 */
import { S3Error } from '../errors/s3-error';
import { asArray, parseXml, type XmlNode } from '../xml/xml';

/** Name of the bucket configuration document holding the tags. */
export const BUCKET_TAGGING_CONFIG = 'tagging';
/** AWS's limit on tags per bucket. */
export const MAX_BUCKET_TAGS = 50;

/** One tag. */
export interface BucketTag {
  key: string;
  value: string;
}

const TAG_ALPHABET = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const STORED_FORMAT = 'tiergate.bucket-tagging';

/** Parses a `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>` body (MalformedXML if not one). */
export function parseTaggingXml(body: Buffer | string): BucketTag[] {
  const doc = parseXml(body, 'Tagging');
  const tagSet = doc.TagSet;
  if (tagSet === undefined) throw new S3Error('MalformedXML');
  const tags =
    typeof tagSet === 'object' && tagSet !== null ? asArray((tagSet as Record<string, unknown>).Tag) : [];
  return tags.map((t) => {
    const tag = t as Record<string, unknown> | string;
    if (typeof tag !== 'object' || typeof tag.Key !== 'string' || typeof tag.Value !== 'string') {
      throw new S3Error('MalformedXML');
    }
    return { key: tag.Key, value: tag.Value };
  });
}

/** Throws InvalidTag, with AWS's message, for the first rule the tags break. */
export function validateBucketTags(tags: readonly BucketTag[]): void {
  if (tags.length > MAX_BUCKET_TAGS) {
    throw new S3Error('InvalidTag', `Bucket tag count cannot be greater than ${MAX_BUCKET_TAGS}`);
  }
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    const keyLength = [...key].length;
    if (keyLength === 0 || !TAG_ALPHABET.test(key)) {
      throw new S3Error('InvalidTag', 'The TagKey you have provided is invalid', { TagKey: key });
    }
    if (keyLength > 128) {
      throw new S3Error('InvalidTag', 'The TagKey you have provided is too long, max 128', { TagKey: key });
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw new S3Error('InvalidTag', 'System tags cannot be added/updated by requester', { TagKey: key });
    }
    if (!TAG_ALPHABET.test(value)) {
      throw new S3Error('InvalidTag', 'The TagValue you have provided is invalid', { TagKey: key });
    }
    if ([...value].length > 256) {
      throw new S3Error('InvalidTag', 'The TagValue you have provided is too long, max 256', { TagKey: key });
    }
    if (seen.has(key)) throw new S3Error('InvalidTag', 'Cannot provide multiple Tags with the same key');
    seen.add(key);
  }
}

/** The stored form: a versioned JSON document, so a later release can read it. */
export function encodeBucketTags(tags: readonly BucketTag[]): Buffer {
  return Buffer.from(JSON.stringify({ format: STORED_FORMAT, version: 1, tags }));
}

/** Reads the stored form back; anything unrecognised is an internal error, not the client's. */
export function decodeBucketTags(data: Buffer): BucketTag[] {
  const doc = JSON.parse(data.toString('utf8')) as { format?: unknown; version?: unknown; tags?: unknown };
  if (doc.format !== STORED_FORMAT || doc.version !== 1 || !Array.isArray(doc.tags)) {
    throw new Error('unrecognised bucket tagging document');
  }
  return (doc.tags as BucketTag[]).map((t) => ({ key: String(t.key), value: String(t.value) }));
}

/** The body of GetBucketTagging's `<Tagging>` root. */
export function taggingXml(tags: readonly BucketTag[]): XmlNode {
  return { TagSet: { Tag: tags.map((t) => ({ Key: t.key, Value: t.value })) } };
}
