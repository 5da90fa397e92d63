/**
 * The typed model of an S3 bucket `LifecycleConfiguration` (after MinIO's `internal/bucket/lifecycle/` and AWS's
 * PutBucketLifecycleConfiguration schema), and the one error type of this folder.
 *
 * The model keeps what the XML said, not only what it means: the filter remembers whether it was the legacy
 * top-level `<Prefix>`, an empty `<Filter/>`, one predicate or an `<And>`, so GetBucketLifecycleConfiguration can
 * answer the document the client sent (normalised: generated IDs filled in, dates in one spelling). Every value
 * in a `LifecycleConfiguration` has passed validation (see parse-lifecycle.ts); code that builds one by hand must
 * keep the same invariants. Pure types and constants: no I/O, nothing from `s3/` or `storage/`.
 */

/** AWS's limit on rules per configuration ("up to 1,000 rules", S3 User Guide, lifecycle configuration elements). */
export const MAX_RULES = 1000;
/** AWS's limit on a rule ID ("The ID length is limited to 255 characters"). */
export const MAX_RULE_ID_LENGTH = 255;
/** Longest prefix a filter may name (cloudserver's AWS-verified functional tests: 1024 passes, 1025 fails). */
export const MAX_PREFIX_LENGTH = 1024;
/** AWS's limits on a tag key and value (characters). */
export const MAX_TAG_KEY_LENGTH = 128;
/** See MAX_TAG_KEY_LENGTH. */
export const MAX_TAG_VALUE_LENGTH = 256;
/** Most noncurrent versions NewerNoncurrentVersions may keep ("You can specify up to 100"). */
export const MAX_NEWER_NONCURRENT_VERSIONS = 100;
/** Largest Days value: the schema's 32-bit int (cloudserver: 2147483648 is MalformedXML on AWS). */
export const MAX_DAYS = 2_147_483_647;
/** Largest object-size filter value: "Maximum filter size is 50 TB" (S3 User Guide, adding filters). */
export const MAX_OBJECT_SIZE_FILTER = 50 * 1024 ** 4;
/** Objects below this size do not transition by default (AWS's `all_storage_classes_128K`, September 2024). */
export const DEFAULT_MIN_TRANSITION_SIZE = 128 * 1024;

/** Values of the `x-amz-transition-default-minimum-object-size` header, as AWS names them. */
export const TRANSITION_MIN_SIZE_MODES = ['all_storage_classes_128K', 'varies_by_storage_class'] as const;
/** How small objects are treated by transitions when a rule's filter names no object size. */
export type TransitionMinSizeMode = (typeof TRANSITION_MIN_SIZE_MODES)[number];

/** A rule's Status. Disabled rules are kept and returned but never match. */
export type RuleStatus = 'Enabled' | 'Disabled';

/** One tag a filter requires; a missing `<Value>` means the empty value (AWS: matches a tag without a value). */
export interface LifecycleTag {
  key: string;
  value: string;
}

/**
 * Which objects a rule applies to, in the form the XML used. Object sizes are exclusive bounds in bytes
 * (`ObjectSizeGreaterThan` 9 matches 10 bytes and more; CloudFormation documents them as exclusive).
 */
export type RuleFilter =
  /** The deprecated `<Rule><Prefix>` (no Filter element). */
  | { kind: 'legacy-prefix'; prefix: string }
  /** `<Filter/>` or `<Filter></Filter>`: every object in the bucket. */
  | { kind: 'all' }
  | { kind: 'prefix'; prefix: string }
  | { kind: 'tag'; tag: LifecycleTag }
  | { kind: 'size-greater-than'; bytes: number }
  | { kind: 'size-less-than'; bytes: number }
  /** `<And>` with at least two predicates (the Prefix element counts even when empty). */
  | {
      kind: 'and';
      prefix?: string;
      tags: LifecycleTag[];
      sizeGreaterThan?: number;
      sizeLessThan?: number;
    };

/** `<Expiration>`: exactly one of Days, Date or ExpiredObjectDeleteMarker. */
export type Expiration =
  /** Days after creation (at least 1). */
  | { days: number }
  /** An ISO 8601 instant at midnight UTC, as `YYYY-MM-DDT00:00:00.000Z`. */
  | { date: string }
  /** Remove a delete marker that is an object's only version (false: the element is there and does nothing). */
  | { expiredObjectDeleteMarker: boolean };

/** `<Transition>`: to `storageClass` (a tier name) Days after creation (0 allowed) or on a Date. */
export type Transition = ({ days: number } | { date: string }) & { storageClass: string };

/** `<NoncurrentVersionExpiration>`: delete a version NoncurrentDays (at least 1) after it became noncurrent. */
export interface NoncurrentVersionExpiration {
  noncurrentDays: number;
  /** Keep this many newer noncurrent versions (1-100); absent: no count condition. */
  newerNoncurrentVersions?: number;
}

/** `<NoncurrentVersionTransition>`: move a noncurrent version to `storageClass` NoncurrentDays (0 allowed) later. */
export interface NoncurrentVersionTransition {
  noncurrentDays: number;
  newerNoncurrentVersions?: number;
  storageClass: string;
}

/** `<AbortIncompleteMultipartUpload>`: abort uploads DaysAfterInitiation (at least 1) after they were started. */
export interface AbortIncompleteMultipartUpload {
  daysAfterInitiation: number;
}

/** One `<Rule>`: at least one action is present. */
export interface LifecycleRule {
  /** The client's ID, or one generated when it sent none (AWS does the same). */
  id: string;
  status: RuleStatus;
  filter: RuleFilter;
  expiration?: Expiration;
  /** In document order; distinct storage classes and times, all Days or all Date. */
  transitions: Transition[];
  noncurrentVersionExpiration?: NoncurrentVersionExpiration;
  noncurrentVersionTransitions: NoncurrentVersionTransition[];
  abortIncompleteMultipartUpload?: AbortIncompleteMultipartUpload;
}

/** A validated bucket lifecycle configuration: 1 to 1000 rules with unique IDs. */
export interface LifecycleConfiguration {
  rules: LifecycleRule[];
  /** From the PUT's `x-amz-transition-default-minimum-object-size` header; AWS's default when absent. */
  transitionMinSizeMode: TransitionMinSizeMode;
}

/** Error codes this folder raises, all AWS S3 codes answered with HTTP 400. */
export type LifecycleErrorCode =
  'MalformedXML' | 'InvalidArgument' | 'InvalidRequest' | 'InvalidStorageClass';

/** AWS's default messages, used when a check has nothing more specific to say. */
const DEFAULT_MESSAGES: Record<LifecycleErrorCode, string> = {
  MalformedXML: 'The XML you provided was not well-formed or did not validate against our published schema',
  InvalidArgument: 'Invalid Argument',
  InvalidRequest: 'Invalid Request',
  InvalidStorageClass: 'The storage class you specified is not valid',
};

/**
 * Why a configuration was refused, with the code AWS answers. `lifecycle/` may not import the S3 error catalog
 * (dependencies point inward), so the S3 handler turns this into its S3Error with the same code and message.
 */
export class LifecycleError extends Error {
  constructor(
    readonly code: LifecycleErrorCode,
    message?: string,
  ) {
    super(message ?? DEFAULT_MESSAGES[code]);
    this.name = code;
  }
}
