/**
 * Rule evaluation: given a configuration and the facts of one object version (or one multipart upload), the next
 * action the lifecycle engine must take and when, or null. Pure: the engine supplies every fact and the time.
 *
 * Which rules apply: Enabled rules whose filter matches the version's key, size and tags (delete markers have size
 * 0 and no tags). What each action applies to, after AWS's "Expiring objects" page and MinIO's ComputeAction:
 * - Expiration Days/Date: the current version when it is not a delete marker -> `expire-current` (delete it, or add
 *   a delete marker in a versioned bucket: the engine decides from the bucket's versioning).
 * - A current delete marker that is the only version left (an "expired object delete marker") ->
 *   `remove-delete-marker`: at once under ExpiredObjectDeleteMarker true, and under Expiration Days/Date once the
 *   marker is old enough ("When you specify the Days tag, Amazon S3 automatically performs ExpiredObjectDeleteMarker
 *   cleanup when the delete markers are old enough"). A current marker with older versions behind it: nothing.
 * - Transition: current versions that are not delete markers -> `transition` to its storage class.
 * - NoncurrentVersionExpiration: noncurrent versions, delete markers included -> `expire-noncurrent`, counted from
 *   when the version became noncurrent (its successor's modification time).
 * - NoncurrentVersionTransition: noncurrent versions that are not delete markers -> `transition-noncurrent`.
 * - NewerNoncurrentVersions N: "Specifies how many noncurrent versions Amazon S3 will retain ... If there are this
 *   many more recent noncurrent versions, Amazon S3 will take the associated action": a noncurrent version is
 *   eligible when at least N noncurrent versions of its key are newer than it (the N newest are kept).
 * - Transitions skip objects under 128 KiB when the configuration's mode is `all_storage_classes_128K` (AWS's
 *   default) unless the rule's filter names an object size; `varies_by_storage_class` sets no minimum here, since
 *   a tier is not one of AWS's classes with its own minimum.
 * - A version already in a tier only moves on to transitions due later than the one that took it there; if no rule
 *   transitions to its tier any more, it stays (never back and forth between tiers).
 *
 * Choosing among candidates: if some are due (at or before `now`), an expiration-type action wins over any
 * transition (the earliest of them), else the transition due last (the final stage: a rule added late moves an
 * object straight to where it would be by now). If none is due, the earliest wins, expiration first on a tie (as
 * AWS: "If an object is eligible for both expiration and transition, expiration is chosen").
 */
import { filterMatches, hasSizePredicate, predicatesOf } from './filter';
import {
  DEFAULT_MIN_TRANSITION_SIZE,
  type LifecycleConfiguration,
  type LifecycleRule,
} from './lifecycle-config';
import { dueAfterDays } from './lifecycle-days';

/** What the engine does when an action is due. */
export type LifecycleAction =
  'expire-current' | 'expire-noncurrent' | 'remove-delete-marker' | 'transition' | 'transition-noncurrent';

/** The facts about one version the evaluation needs (times in ms since the epoch). */
export interface VersionFacts {
  key: string;
  /** Bytes (0 for a delete marker). */
  size: number;
  tags: Readonly<Record<string, string>>;
  modTime: number;
  isLatest: boolean;
  isDeleteMarker: boolean;
  /** Noncurrent versions: when it became noncurrent (the next newer version's modTime). Without it, no action. */
  noncurrentSince?: number;
  /** Noncurrent versions: how many noncurrent versions of the key are newer than this one. */
  newerNoncurrentVersions?: number;
  /** A current delete marker: true when no other version of the key remains. */
  isOnlyVersion?: boolean;
  /** `STANDARD` (or absent) while in the erasure set; the tier's name once transitioned. */
  storageClass?: string;
}

/** The next action for a version and when it is due. */
export interface DueAction {
  action: LifecycleAction;
  /** Epoch ms; at or before `now` means due now. */
  dueAt: number;
  /** ID of the rule asking for it. */
  ruleId: string;
  /** Target of a transition. */
  storageClass?: string;
}

/** Settings of an evaluation. */
export interface EvaluateOptions {
  /** Length of a lifecycle day in seconds (see lifecycle-days.ts). */
  daySeconds: number;
  /** The current time, epoch ms. */
  now: number;
}

const EXPIRATIONS: ReadonlySet<LifecycleAction> = new Set([
  'expire-current',
  'expire-noncurrent',
  'remove-delete-marker',
]);

function dateMs(iso: string, notBefore: number): number {
  return Math.max(Date.parse(iso), notBefore);
}

function transitionsAllowed(config: LifecycleConfiguration, rule: LifecycleRule, size: number): boolean {
  if (config.transitionMinSizeMode !== 'all_storage_classes_128K' || hasSizePredicate(rule.filter))
    return true;
  return size >= DEFAULT_MIN_TRANSITION_SIZE;
}

function eligibleNoncurrent(newerRequired: number | undefined, facts: VersionFacts): boolean {
  if (newerRequired === undefined) return true;
  return facts.newerNoncurrentVersions !== undefined && facts.newerNoncurrentVersions >= newerRequired;
}

function candidatesOf(
  config: LifecycleConfiguration,
  rule: LifecycleRule,
  f: VersionFacts,
  daySeconds: number,
): DueAction[] {
  const out: DueAction[] = [];
  const add = (action: LifecycleAction, dueAt: number, storageClass?: string): void => {
    out.push({ action, dueAt, ruleId: rule.id, ...(storageClass === undefined ? {} : { storageClass }) });
  };
  const e = rule.expiration;
  if (f.isLatest && f.isDeleteMarker) {
    if (!f.isOnlyVersion || e === undefined) return out;
    if ('days' in e) add('remove-delete-marker', dueAfterDays(f.modTime, e.days, daySeconds));
    else if ('date' in e) add('remove-delete-marker', dateMs(e.date, f.modTime));
    else if (e.expiredObjectDeleteMarker) add('remove-delete-marker', f.modTime);
    return out;
  }
  if (f.isLatest) {
    if (e !== undefined && 'days' in e) add('expire-current', dueAfterDays(f.modTime, e.days, daySeconds));
    if (e !== undefined && 'date' in e) add('expire-current', dateMs(e.date, f.modTime));
    if (!transitionsAllowed(config, rule, f.size)) return out;
    for (const t of rule.transitions) {
      const due = 'days' in t ? dueAfterDays(f.modTime, t.days, daySeconds) : dateMs(t.date, f.modTime);
      add('transition', due, t.storageClass);
    }
    return out;
  }
  if (f.noncurrentSince === undefined) return out;
  const nve = rule.noncurrentVersionExpiration;
  if (nve && eligibleNoncurrent(nve.newerNoncurrentVersions, f)) {
    add('expire-noncurrent', dueAfterDays(f.noncurrentSince, nve.noncurrentDays, daySeconds));
  }
  if (f.isDeleteMarker || !transitionsAllowed(config, rule, f.size)) return out;
  for (const t of rule.noncurrentVersionTransitions) {
    if (!eligibleNoncurrent(t.newerNoncurrentVersions, f)) continue;
    add(
      'transition-noncurrent',
      dueAfterDays(f.noncurrentSince, t.noncurrentDays, daySeconds),
      t.storageClass,
    );
  }
  return out;
}

/** Drops transitions a version already in tier `current` must not take (see the header). */
function afterCurrentTier(candidates: DueAction[], current: string | undefined): DueAction[] {
  if (current === undefined || current === 'STANDARD') return candidates;
  const reached = candidates.filter((c) => !EXPIRATIONS.has(c.action) && c.storageClass === current);
  const since = reached.length === 0 ? Infinity : Math.min(...reached.map((c) => c.dueAt));
  return candidates.filter(
    (c) => EXPIRATIONS.has(c.action) || (c.storageClass !== current && c.dueAt > since),
  );
}

function pick(candidates: DueAction[], now: number): DueAction | null {
  const due = candidates.filter((c) => c.dueAt <= now);
  const earliest = (list: DueAction[]): DueAction | undefined =>
    list.reduce<DueAction | undefined>(
      (best, c) => (best === undefined || c.dueAt < best.dueAt ? c : best),
      undefined,
    );
  if (due.length > 0) {
    const expiry = earliest(due.filter((c) => EXPIRATIONS.has(c.action)));
    if (expiry) return expiry;
    return due.reduce((best, c) => (c.dueAt > best.dueAt ? c : best));
  }
  const first = earliest(candidates);
  if (first === undefined) return null;
  return earliest(candidates.filter((c) => c.dueAt === first.dueAt && EXPIRATIONS.has(c.action))) ?? first;
}

/** The next lifecycle action for one version, or null when no Enabled rule will ever act on it. */
export function nextAction(
  config: LifecycleConfiguration,
  facts: VersionFacts,
  opts: EvaluateOptions,
): DueAction | null {
  const candidates = config.rules
    .filter((rule) => rule.status === 'Enabled' && filterMatches(rule.filter, facts))
    .flatMap((rule) => candidatesOf(config, rule, facts, opts.daySeconds));
  return pick(afterCurrentTier(candidates, facts.storageClass), opts.now);
}

/** When an incomplete multipart upload is due to be aborted. */
export interface AbortDue {
  ruleId: string;
  dueAt: number;
}

/**
 * When the multipart upload of `key` initiated at `initiated` (epoch ms) must be aborted: the earliest
 * AbortIncompleteMultipartUpload among Enabled rules whose prefix matches (such rules cannot filter on tags or
 * size), or null.
 */
export function abortDue(
  config: LifecycleConfiguration,
  upload: { key: string; initiated: number },
  opts: Pick<EvaluateOptions, 'daySeconds'>,
): AbortDue | null {
  let best: AbortDue | null = null;
  for (const rule of config.rules) {
    const abort = rule.abortIncompleteMultipartUpload;
    if (rule.status !== 'Enabled' || !abort) continue;
    const p = predicatesOf(rule.filter);
    if (p.tags.length > 0 || hasSizePredicate(rule.filter) || !upload.key.startsWith(p.prefix)) continue;
    const dueAt = dueAfterDays(upload.initiated, abort.daysAfterInitiation, opts.daySeconds);
    if (best === null || dueAt < best.dueAt) best = { ruleId: rule.id, dueAt };
  }
  return best;
}
