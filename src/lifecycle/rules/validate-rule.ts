/**
 * Second pass over one rule: the checks AWS makes after its schema, with AWS's codes and, where a real answer was
 * found, its message. Sources, by check:
 * - "'Days' for Expiration action must be a positive integer" and the NoncurrentDays / DaysAfterInitiation
 *   variants: AWS answers reproduced in scality/Arsenal#2648; "'Date' must be at midnight GMT" as MinIO has it.
 * - "AbortIncompleteMultipartUpload cannot be specified with Tags." / "... with Object Size.": AWS errors quoted in
 *   terraform-aws-modules/terraform-aws-s3-bucket#109 and aws-cloudformation/cfn-lint#3554 (InvalidRequest).
 * - ExpiredObjectDeleteMarker with an object-size filter is MalformedXML on AWS (aws/aws-cli#8239); with a tag
 *   filter InvalidRequest, worded as Arsenal words it.
 * - "'ObjectSizeLessThan' should be between 1 and ..." (InvalidRequest): an AWS answer quoted in
 *   hashicorp/terraform-provider-aws#41521; the bound is the documented 50 TB filter maximum.
 * - Mixed Date/Days, duplicate storage classes, transitions less than a day apart, prefix and tag lengths: Arsenal
 *   `LifecycleConfiguration.js`, whose wording follows AWS. Expiration after transitions: AWS's
 *   "'Days' in the Expiration action ... must be greater than 'Days' in the Transition action".
 * - Unknown storage class: InvalidStorageClass, as MinIO answers for a tier it does not know. (AWS's schema has a
 *   fixed enum, so AWS answers MalformedXML for a class outside it; tiergate's classes are admin-defined tiers.)
 * AWS's per-class minimums (30 days before STANDARD_IA) and class order do not apply: tiers are peers.
 */
import { describeFilter, predicatesOf } from './filter';
import {
  type Expiration,
  LifecycleError,
  type LifecycleRule,
  MAX_NEWER_NONCURRENT_VERSIONS,
  MAX_OBJECT_SIZE_FILTER,
  MAX_PREFIX_LENGTH,
  MAX_RULE_ID_LENGTH,
  MAX_TAG_KEY_LENGTH,
  MAX_TAG_VALUE_LENGTH,
  type Transition,
} from './lifecycle-config';
import { malformed } from './lifecycle-xml';

/** Whether a name is a storage class transitions may target (the tier registry answers; none exist yet). */
export type StorageClassCheck = (name: string) => boolean;

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

function invalidArgument(message: string): LifecycleError {
  return new LifecycleError('InvalidArgument', message);
}

function invalidRequest(message: string): LifecycleError {
  return new LifecycleError('InvalidRequest', message);
}

/**
 * A lifecycle Date: ISO 8601 date and time (UTC when no offset is given) that must fall on midnight UTC. Returns it
 * as `YYYY-MM-DDT00:00:00.000Z`.
 */
export function normaliseLifecycleDate(text: string): string {
  const m = ISO_DATE.exec(text.trim());
  if (!m) throw invalidArgument('Date must be in ISO 8601 format');
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const utc = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, frac ? Math.round(Number(frac) * 1000) : 0);
  const calendar = new Date(Date.UTC(+y, +mo - 1, +d));
  if (calendar.getUTCDate() !== +d || calendar.getUTCMonth() !== +mo - 1 || +h > 23 || +mi > 59 || +s > 59) {
    throw invalidArgument('Date must be in ISO 8601 format');
  }
  const offset =
    !zone || zone === 'Z'
      ? 0
      : (zone[0] === '-' ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(4)) * 60_000;
  const instant = utc - offset;
  if (instant % DAY_MS !== 0) throw invalidArgument("'Date' must be at midnight GMT");
  return new Date(instant).toISOString();
}

function checkFilter(rule: LifecycleRule): void {
  const p = predicatesOf(rule.filter);
  if (p.prefix.length > MAX_PREFIX_LENGTH) {
    throw invalidRequest(`The maximum size of a prefix is ${MAX_PREFIX_LENGTH}`);
  }
  const seen = new Set<string>();
  for (const { key, value } of p.tags) {
    const keyLength = [...key].length;
    if (keyLength < 1 || keyLength > MAX_TAG_KEY_LENGTH) {
      throw invalidRequest(`A Tag's Key must be a length between 1 and ${MAX_TAG_KEY_LENGTH}`);
    }
    if ([...value].length > MAX_TAG_VALUE_LENGTH) {
      throw invalidRequest(`A Tag's Value must be a length between 0 and ${MAX_TAG_VALUE_LENGTH}`);
    }
    if (seen.has(key)) throw invalidRequest('Duplicate Tag Keys are not allowed.');
    seen.add(key);
  }
  const { sizeGreaterThan: gt, sizeLessThan: lt } = p;
  if (gt !== undefined && (gt < 0 || gt > MAX_OBJECT_SIZE_FILTER)) {
    throw invalidRequest(`'ObjectSizeGreaterThan' should be between 0 and ${MAX_OBJECT_SIZE_FILTER}.`);
  }
  if (lt !== undefined && (lt < 1 || lt > MAX_OBJECT_SIZE_FILTER)) {
    throw invalidRequest(`'ObjectSizeLessThan' should be between 1 and ${MAX_OBJECT_SIZE_FILTER}.`);
  }
  if (gt !== undefined && lt !== undefined && gt >= lt) {
    throw invalidRequest("'ObjectSizeLessThan' must be greater than 'ObjectSizeGreaterThan'.");
  }
}

function checkExpiration(rule: LifecycleRule, e: Expiration): Expiration {
  if ('days' in e) {
    if (e.days < 1) throw invalidArgument("'Days' for Expiration action must be a positive integer");
    return e;
  }
  if ('date' in e) return { date: normaliseLifecycleDate(e.date) };
  const p = predicatesOf(rule.filter);
  if (p.tags.length > 0) {
    throw invalidRequest('Tag-based filter cannot be used with ExpiredObjectDeleteMarker action');
  }
  if (p.sizeGreaterThan !== undefined || p.sizeLessThan !== undefined) throw malformed();
  return e;
}

function checkTransitions(rule: LifecycleRule, known: StorageClassCheck): Transition[] {
  const where = describeFilter(rule.filter);
  const out: Transition[] = [];
  for (const t of rule.transitions) {
    if (!known(t.storageClass)) throw new LifecycleError('InvalidStorageClass');
    if (out.some((o) => o.storageClass === t.storageClass)) {
      throw invalidRequest(
        `'StorageClass' must be different for 'Transition' actions in same 'Rule' with ${where}`,
      );
    }
    let next: Transition;
    if ('days' in t) {
      if (t.days < 0) throw invalidArgument("'Days' for Transition action must be a nonnegative integer");
      next = t;
    } else {
      next = { date: normaliseLifecycleDate(t.date), storageClass: t.storageClass };
    }
    if (out.length > 0 && 'days' in out[0] !== 'days' in next) {
      throw invalidRequest(
        `Found mixed 'Date' and 'Days' based Transition actions in lifecycle rule for ${where}`,
      );
    }
    const clash = out.find((o) =>
      'days' in o && 'days' in next
        ? o.days === next.days
        : 'date' in o && 'date' in next && o.date === next.date,
    );
    if (clash) {
      const unit = 'days' in next ? 'Days' : 'Date';
      throw invalidArgument(
        `'${unit}' in the 'Transition' action for StorageClass '${next.storageClass}' for ${where} must be at ` +
          `least one day apart from ${where} in the 'Transition' action for StorageClass '${clash.storageClass}'`,
      );
    }
    out.push(next);
  }
  return out;
}

function checkExpirationAfterTransitions(
  rule: LifecycleRule,
  e: Expiration | undefined,
  ts: Transition[],
): void {
  if (e === undefined || 'expiredObjectDeleteMarker' in e || ts.length === 0) return;
  const where = describeFilter(rule.filter);
  if ('days' in e !== 'days' in ts[0]) {
    throw invalidRequest(
      `Found mixed 'Date' and 'Days' based Expiration and Transition actions in lifecycle rule for ${where}`,
    );
  }
  for (const t of ts) {
    if ('days' in e && 'days' in t && e.days <= t.days) {
      throw invalidArgument(
        `'Days' in the Expiration action for ${where} must be greater than 'Days' in the Transition action`,
      );
    }
    if ('date' in e && 'date' in t && e.date <= t.date) {
      throw invalidArgument(
        `'Date' in the Expiration action for ${where} must be later than 'Date' in the Transition action`,
      );
    }
  }
}

function checkNewer(newer: number | undefined, action: string): void {
  if (newer !== undefined && (newer < 1 || newer > MAX_NEWER_NONCURRENT_VERSIONS)) {
    throw invalidArgument(
      `'NewerNoncurrentVersions' for ${action} action must be a positive integer up to ${MAX_NEWER_NONCURRENT_VERSIONS}`,
    );
  }
}

function checkNoncurrent(rule: LifecycleRule, known: StorageClassCheck): void {
  const where = describeFilter(rule.filter);
  const nve = rule.noncurrentVersionExpiration;
  if (nve) {
    if (nve.noncurrentDays < 1) {
      throw invalidArgument(
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
      );
    }
    checkNewer(nve.newerNoncurrentVersions, 'NoncurrentVersionExpiration');
  }
  const seen: typeof rule.noncurrentVersionTransitions = [];
  for (const t of rule.noncurrentVersionTransitions) {
    if (!known(t.storageClass)) throw new LifecycleError('InvalidStorageClass');
    if (t.noncurrentDays < 0) {
      throw invalidArgument(
        "'NoncurrentDays' for NoncurrentVersionTransition action must be a nonnegative integer",
      );
    }
    checkNewer(t.newerNoncurrentVersions, 'NoncurrentVersionTransition');
    if (seen.some((o) => o.storageClass === t.storageClass)) {
      throw invalidRequest(
        `'StorageClass' must be different for 'NoncurrentVersionTransition' actions in same 'Rule' with ${where}`,
      );
    }
    const clash = seen.find((o) => o.noncurrentDays === t.noncurrentDays);
    if (clash) {
      throw invalidArgument(
        `'NoncurrentDays' in the 'NoncurrentVersionTransition' action for StorageClass '${t.storageClass}' for ${where} ` +
          `must be at least one day apart from ${where} in the 'NoncurrentVersionTransition' action for StorageClass '${clash.storageClass}'`,
      );
    }
    if (nve && nve.noncurrentDays <= t.noncurrentDays) {
      throw invalidArgument(
        `'NoncurrentDays' in the NoncurrentVersionExpiration action for ${where} must be greater than 'NoncurrentDays' in the NoncurrentVersionTransition action`,
      );
    }
    seen.push(t);
  }
}

function checkAbort(rule: LifecycleRule): void {
  const abort = rule.abortIncompleteMultipartUpload;
  if (!abort) return;
  const p = predicatesOf(rule.filter);
  if (p.tags.length > 0)
    throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Tags.');
  if (p.sizeGreaterThan !== undefined || p.sizeLessThan !== undefined) {
    throw invalidRequest('AbortIncompleteMultipartUpload cannot be specified with Object Size.');
  }
  if (abort.daysAfterInitiation < 1) {
    throw invalidArgument(
      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    );
  }
}

/** Checks one parsed rule as AWS does after its schema; returns it with Dates in their one spelling. */
export function validateRule(rule: LifecycleRule, known: StorageClassCheck): LifecycleRule {
  if (rule.id.length > MAX_RULE_ID_LENGTH) {
    throw invalidArgument(`ID length should not exceed allowed limit of ${MAX_RULE_ID_LENGTH}`);
  }
  const hasAction =
    rule.expiration !== undefined ||
    rule.transitions.length > 0 ||
    rule.noncurrentVersionExpiration !== undefined ||
    rule.noncurrentVersionTransitions.length > 0 ||
    rule.abortIncompleteMultipartUpload !== undefined;
  if (!hasAction) throw invalidRequest('At least one action needs to be specified in a rule');
  checkFilter(rule);
  const expiration = rule.expiration && checkExpiration(rule, rule.expiration);
  const transitions = checkTransitions(rule, known);
  checkExpirationAfterTransitions(rule, expiration, transitions);
  checkNoncurrent(rule, known);
  checkAbort(rule);
  return { ...rule, expiration, transitions };
}
