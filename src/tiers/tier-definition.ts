/**
 * A tier as an administrator defines it (the body of `PUT /tiergate/admin/v1/tiers`, DESIGN.md section 5), the
 * storage classes each cloud offers, and the checks a definition must pass before a backend is built from it.
 *
 * Invariants: a tier's name is a storage class of ours (upper-case, never STANDARD or REDUCED_REDUNDANCY); its
 * storage class is one the cloud offers; credentials are both given or both absent (absent means the platform's
 * default chain: EC2 instance profile / ECS task role for S3, the ECS RAM role for OSS); the prefix is empty or
 * ends in `/` so two tiers sharing a bucket can never list each other's objects.
 */
import { TierError } from './tier-error';

/** The clouds a tier can live in. */
export type TierType = 's3' | 'oss';

/** A tier definition, as the admin API accepts it. */
export interface TierDefinition {
  /** The storage class name lifecycle rules use (`COLD`, `ARCHIVE`...). */
  name: string;
  type: TierType;
  /** Service endpoint URL; absent means the cloud's public endpoint for `region`. */
  endpoint?: string;
  /** AWS region (`eu-west-1`) or OSS region (`cn-hangzhou`; an `oss-` prefix is accepted). */
  region: string;
  bucket: string;
  /** Key prefix inside the bucket (empty, or ending in `/`). */
  prefix: string;
  /** The storage class objects are written with. */
  storageClass: string;
  accessKey?: string;
  secretKey?: string;
}

/** AWS S3 storage classes a tier may write. */
export const S3_STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;

/** Alibaba OSS storage classes a tier may write. */
export const OSS_STORAGE_CLASSES = ['Standard', 'IA', 'Archive', 'ColdArchive'] as const;

/** Classes whose objects cannot be read until a cloud-side restore completes. */
export const ARCHIVE_CLASSES: Readonly<Record<TierType, ReadonlySet<string>>> = {
  s3: new Set(['GLACIER', 'DEEP_ARCHIVE']),
  oss: new Set(['Archive', 'ColdArchive', 'DeepColdArchive']),
};

/** Storage class names our own namespace reserves. */
const RESERVED_NAMES = new Set(['STANDARD', 'REDUCED_REDUNDANCY']);
const NAME = /^[A-Z][A-Z0-9_-]{0,62}$/;
const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const OSS_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** Throws TierError InvalidConfig naming the first thing wrong with `def`. */
export function validateTierDefinition(def: TierDefinition): void {
  const fail = (why: string): never => {
    throw new TierError('InvalidConfig', `tier "${def.name}": ${why}`, { tier: def.name });
  };
  if (!NAME.test(def.name)) fail('the name must be 1-63 upper-case letters, digits, "_" or "-"');
  if (RESERVED_NAMES.has(def.name)) fail(`the name ${def.name} is reserved`);
  if (def.type !== 's3' && def.type !== 'oss') fail(`type must be "s3" or "oss", not "${String(def.type)}"`);
  const bucketPattern = def.type === 's3' ? S3_BUCKET : OSS_BUCKET;
  if (!bucketPattern.test(def.bucket)) fail(`"${def.bucket}" is not a valid ${def.type} bucket name`);
  if (!def.region || !/^[a-z0-9-]+$/.test(def.region)) fail(`"${def.region}" is not a region`);
  if (def.prefix !== '' && (!def.prefix.endsWith('/') || def.prefix.startsWith('/')))
    fail('the prefix must be empty or end with "/" (and not start with one)');
  const classes: readonly string[] = def.type === 's3' ? S3_STORAGE_CLASSES : OSS_STORAGE_CLASSES;
  if (!classes.includes(def.storageClass))
    fail(`storage class "${def.storageClass}" is not one of ${classes.join(', ')}`);
  if (((def.accessKey ?? '') === '') !== ((def.secretKey ?? '') === ''))
    fail('give both accessKey and secretKey, or neither (to use the instance role)');
  if (def.endpoint !== undefined && def.endpoint !== '') {
    let url: URL | undefined;
    try {
      url = new URL(def.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname.length > 1)
      fail(`endpoint "${def.endpoint}" must be an http(s) URL without a path`);
  }
}

/** True when the definition carries static keys (otherwise the default credential chain applies). */
export function hasStaticKeys(
  def: TierDefinition,
): def is TierDefinition & { accessKey: string; secretKey: string } {
  return (def.accessKey ?? '') !== '' && (def.secretKey ?? '') !== '';
}
