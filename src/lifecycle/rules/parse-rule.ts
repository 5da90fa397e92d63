/**
 * First pass over one `<Rule>`: the shape AWS's schema enforces, every failure MalformedXML (an unknown or repeated
 * element, Status other than Enabled/Disabled, neither or both of Filter and Prefix, a Filter with more than one
 * predicate or an And with fewer than two, an Expiration with none or several of Days/Date/ExpiredObjectDeleteMarker,
 * a Transition without StorageClass or with both or neither of Days and Date, a missing NoncurrentDays or
 * DaysAfterInitiation, a number that is not an integer). Sources: Arsenal `lib/models/LifecycleConfiguration.js` and
 * cloudserver's functional tests written against AWS, MinIO `internal/bucket/lifecycle/`.
 *
 * The rule it returns still carries `Date` values as the client wrote them; validate-rule.ts checks their format
 * and rewrites them in one spelling, with the checks that have AWS's specific codes and messages.
 */
import {
  type Expiration,
  type LifecycleRule,
  type LifecycleTag,
  MAX_DAYS,
  type NoncurrentVersionExpiration,
  type NoncurrentVersionTransition,
  type RuleFilter,
  type Transition,
} from './lifecycle-config';
import {
  asBoolean,
  asElement,
  asInteger,
  asText,
  malformed,
  onlyChildren,
  optional,
  repeated,
  type XmlElement,
} from './lifecycle-xml';

const RULE_CHILDREN = [
  'ID',
  'Status',
  'Filter',
  'Prefix',
  'Expiration',
  'Transition',
  'NoncurrentVersionExpiration',
  'NoncurrentVersionTransition',
  'AbortIncompleteMultipartUpload',
];
/** Sizes are xsd:long in the schema; anything past 2^53 is far beyond any object and refused as malformed. */
const MAX_SIZE_TEXT = Number.MAX_SAFE_INTEGER;

function tagOf(value: unknown): LifecycleTag {
  const tag = asElement(value);
  onlyChildren(tag, ['Key', 'Value']);
  const key = optional(tag, 'Key');
  if (key === undefined) throw malformed();
  const v = optional(tag, 'Value');
  return { key: asText(key), value: v === undefined ? '' : asText(v) };
}

function andOf(value: unknown): RuleFilter {
  const and = asElement(value);
  onlyChildren(and, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan']);
  const prefix = optional(and, 'Prefix');
  const tags = repeated(and, 'Tag').map(tagOf);
  const gt = optional(and, 'ObjectSizeGreaterThan');
  const lt = optional(and, 'ObjectSizeLessThan');
  const predicates =
    (prefix === undefined ? 0 : 1) + tags.length + (gt === undefined ? 0 : 1) + (lt === undefined ? 0 : 1);
  // "a logical AND to two or more predicates": And with one Prefix (or one Tag) is MalformedXML on AWS.
  if (predicates < 2) throw malformed();
  return {
    kind: 'and',
    prefix: prefix === undefined ? undefined : asText(prefix),
    tags,
    sizeGreaterThan: gt === undefined ? undefined : asInteger(gt, MAX_SIZE_TEXT),
    sizeLessThan: lt === undefined ? undefined : asInteger(lt, MAX_SIZE_TEXT),
  };
}

function filterOf(value: unknown): RuleFilter {
  const filter = asElement(value);
  onlyChildren(filter, ['Prefix', 'Tag', 'ObjectSizeGreaterThan', 'ObjectSizeLessThan', 'And']);
  const present = Object.keys(filter).filter((name) => name !== '#text');
  if (present.length === 0) return { kind: 'all' };
  // "A Filter can have exactly one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan, or And."
  if (present.length > 1) throw malformed();
  const name = present[0];
  const only = optional(filter, name);
  switch (name) {
    case 'Prefix':
      return { kind: 'prefix', prefix: asText(only) };
    case 'Tag':
      return { kind: 'tag', tag: tagOf(only) };
    case 'ObjectSizeGreaterThan':
      return { kind: 'size-greater-than', bytes: asInteger(only, MAX_SIZE_TEXT) };
    case 'ObjectSizeLessThan':
      return { kind: 'size-less-than', bytes: asInteger(only, MAX_SIZE_TEXT) };
    default:
      return andOf(only);
  }
}

function expirationOf(value: unknown): Expiration {
  const e = asElement(value);
  onlyChildren(e, ['Days', 'Date', 'ExpiredObjectDeleteMarker']);
  const days = optional(e, 'Days');
  const date = optional(e, 'Date');
  const marker = optional(e, 'ExpiredObjectDeleteMarker');
  const count = [days, date, marker].filter((v) => v !== undefined).length;
  // Empty Expiration, and ExpiredObjectDeleteMarker with Days or Date, are MalformedXML on AWS.
  if (count !== 1) throw malformed();
  if (days !== undefined) return { days: asInteger(days, MAX_DAYS) };
  if (date !== undefined) return { date: asText(date) };
  return { expiredObjectDeleteMarker: asBoolean(marker) };
}

function transitionOf(value: unknown): Transition {
  const t = asElement(value);
  onlyChildren(t, ['Days', 'Date', 'StorageClass']);
  const days = optional(t, 'Days');
  const date = optional(t, 'Date');
  const storageClass = optional(t, 'StorageClass');
  if (storageClass === undefined || (days === undefined) === (date === undefined)) throw malformed();
  const cls = asText(storageClass);
  return days !== undefined
    ? { days: asInteger(days, MAX_DAYS), storageClass: cls }
    : { date: asText(date), storageClass: cls };
}

/** The NoncurrentDays and NewerNoncurrentVersions of a noncurrent action, with any other `allowed` children. */
function noncurrentOf(value: unknown, allowed: readonly string[]): [NoncurrentVersionExpiration, XmlElement] {
  const n = asElement(value);
  onlyChildren(n, ['NoncurrentDays', 'NewerNoncurrentVersions', ...allowed]);
  // NoncurrentDays is required in practice, whatever the API reference says (Arsenal maintainers checked AWS).
  const days = optional(n, 'NoncurrentDays');
  if (days === undefined) throw malformed();
  const out: NoncurrentVersionExpiration = { noncurrentDays: asInteger(days, MAX_DAYS) };
  const newer = optional(n, 'NewerNoncurrentVersions');
  if (newer !== undefined) out.newerNoncurrentVersions = asInteger(newer, MAX_DAYS);
  return [out, n];
}

function noncurrentTransitionOf(value: unknown): NoncurrentVersionTransition {
  const [out, element] = noncurrentOf(value, ['StorageClass']);
  const storageClass = optional(element, 'StorageClass');
  if (storageClass === undefined) throw malformed();
  return { ...out, storageClass: asText(storageClass) };
}

/** Parses one `<Rule>` element (MalformedXML for anything the schema refuses); `newRuleId` names rules sent without ID. */
export function parseRule(value: unknown, newRuleId: () => string): LifecycleRule {
  const rule: XmlElement = asElement(value);
  onlyChildren(rule, RULE_CHILDREN);
  const status = optional(rule, 'Status');
  const statusText = status === undefined ? '' : asText(status);
  if (statusText !== 'Enabled' && statusText !== 'Disabled') throw malformed();
  const filter = optional(rule, 'Filter');
  const prefix = optional(rule, 'Prefix');
  // Exactly one of the deprecated Prefix and Filter (cloudserver's AWS-verified tests: neither and both fail).
  if ((filter === undefined) === (prefix === undefined)) throw malformed();
  const id = optional(rule, 'ID');
  const idText = id === undefined ? '' : asText(id);
  const expiration = optional(rule, 'Expiration');
  const nve = optional(rule, 'NoncurrentVersionExpiration');
  const abort = optional(rule, 'AbortIncompleteMultipartUpload');
  let abortIncompleteMultipartUpload: LifecycleRule['abortIncompleteMultipartUpload'];
  if (abort !== undefined) {
    const a = asElement(abort);
    onlyChildren(a, ['DaysAfterInitiation']);
    const days = optional(a, 'DaysAfterInitiation');
    if (days === undefined) throw malformed();
    abortIncompleteMultipartUpload = { daysAfterInitiation: asInteger(days, MAX_DAYS) };
  }
  return {
    id: idText === '' ? newRuleId() : idText,
    status: statusText,
    filter: filter !== undefined ? filterOf(filter) : { kind: 'legacy-prefix', prefix: asText(prefix) },
    expiration: expiration === undefined ? undefined : expirationOf(expiration),
    transitions: repeated(rule, 'Transition').map(transitionOf),
    noncurrentVersionExpiration: nve === undefined ? undefined : noncurrentOf(nve, [])[0],
    noncurrentVersionTransitions: repeated(rule, 'NoncurrentVersionTransition').map(noncurrentTransitionOf),
    abortIncompleteMultipartUpload,
  };
}
