/**
 * The tier reconciler (DESIGN.md section 3): lists a tier's prefix and removes the remote objects no version
 * references (orphans): left by a crash between a transition's upload and its commit, a removal whose remote delete
 * was never queued (Redis down) or gave up, an upload that finished after its version was deleted, a leftover probe.
 *
 * Data safety: a cloud copy is never deleted while something still needs it.
 * 1. List first, then walk: the tier is listed, then every version of the namespace is walked for references to
 *    the listed keys (either status: `transitioning` intents too, since a retry reuses its remote key). A version
 *    that comes to reference a key after the walk passed its object can only do so with a fresh random key, never
 *    one that was already listed, so the walk cannot miss a reference to a listed object, however long it takes.
 * 2. Grace: an unreferenced object younger than the grace period (TIERGATE_TIER_ORPHAN_GRACE_SECONDS, default an
 *    hour) is kept: it may be an upload whose intent or commit is in flight. An object without a modification time
 *    is kept too.
 * 3. Re-check: right before deleting, the object's own header names its source version (`tiergate-source`); that
 *    key's versions are read again and the object is kept if one references it now.
 * A dry run reports the same without deleting. Memory: one entry per listed object.
 *
 * A tier's prefix belongs to one deployment: everything under it that this deployment's versions do not reference
 * is removed once past the grace. Two deployments must never share a bucket and prefix.
 */
import { isStorageError } from '../../storage/errors';
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { TierLookup } from '../../tiers/read-through';
import type { TierBackend, TierListEntry } from '../../tiers/tier-backend';
import { NO_TIER_OBSERVER, type TierObserver } from '../../tiers/tier-observer';
import { allVersions } from '../../tiers/tier-references';
import { SOURCE_METADATA_KEY, tierRecordOf } from '../../tiers/tier-state';
import { referencesRemote } from './remote-delete';

/** Default grace period: an hour. */
export const DEFAULT_ORPHAN_GRACE_SECONDS = 3600;

/** Most orphans listed one by one in a report (the counts cover all of them). */
export const REPORT_DETAILS_MAX = 1000;

/** A reconcile of a tier this gateway does not have. */
export class NoSuchTierError extends Error {
  constructor(readonly tier: string) {
    super(`no tier is named ${tier}`);
    this.name = 'NoSuchTierError';
  }
}

/** The version a remote object says it holds (from its `tiergate-source` metadata). */
export interface RemoteSource {
  bucket: string;
  key: string;
  versionId: string;
}

/** One orphan in a report. */
export interface OrphanDetail {
  key: string;
  size: number;
  lastModified: string;
  source?: RemoteSource;
  removed: boolean;
}

/** What a reconcile found and did (the admin API's answer). */
export interface ReconcileReport {
  tier: string;
  dryRun: boolean;
  graceSeconds: number;
  /** Objects under the tier prefix. */
  listed: number;
  /** Listed objects some version references. */
  referenced: number;
  /** Unreferenced objects kept because they are younger than the grace (or have no modification time). */
  young: number;
  /** Unreferenced objects older than the grace. */
  orphans: number;
  /** Orphans deleted (0 on a dry run). */
  removed: number;
  /** The first REPORT_DETAILS_MAX orphans. */
  details: OrphanDetail[];
}

/** Options of one pass. */
export interface ReconcileOptions {
  dryRun?: boolean;
}

/** The source a remote object's metadata names, or undefined when it has none (or not ours). */
export function remoteSource(metadata: Record<string, string>): RemoteSource | undefined {
  const raw = metadata[SOURCE_METADATA_KEY];
  if (!raw) return undefined;
  try {
    const s = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Partial<RemoteSource>;
    if (typeof s.bucket !== 'string' || typeof s.key !== 'string' || typeof s.versionId !== 'string')
      return undefined;
    return { bucket: s.bucket, key: s.key, versionId: s.versionId };
  } catch {
    return undefined;
  }
}

/** Reconciles tiers against the namespace. */
export class TierReconciler {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly tiers: TierLookup,
    private readonly graceSeconds: number = DEFAULT_ORPHAN_GRACE_SECONDS,
    private readonly observer: TierObserver = NO_TIER_OBSERVER,
  ) {}

  /** One pass over `tier` (NoSuchTierError when this gateway has none by that name). */
  async reconcile(tier: string, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
    if (!this.tiers.get(tier)) throw new NoSuchTierError(tier);
    try {
      return await this.tiers.use(tier, ({ backend }) => this.pass(tier, backend, opts.dryRun === true));
    } catch (err) {
      this.observer.failed(tier, 'reconcile');
      throw err;
    }
  }

  private async pass(tier: string, backend: TierBackend, dryRun: boolean): Promise<ReconcileReport> {
    const report: ReconcileReport = {
      tier,
      dryRun,
      graceSeconds: this.graceSeconds,
      listed: 0,
      referenced: 0,
      young: 0,
      orphans: 0,
      removed: 0,
      details: [],
    };
    // 1. List, then walk for references to what was listed.
    const listed = new Map<string, TierListEntry>();
    for await (const entry of backend.list()) listed.set(entry.key, entry);
    report.listed = listed.size;
    const referenced = new Set<string>();
    for await (const v of allVersions(this.layer)) {
      const r = tierRecordOf(v);
      if (r && r.tier === tier && listed.has(r.remoteKey)) referenced.add(r.remoteKey);
    }
    report.referenced = referenced.size;

    // 2. The grace, counted from the walk's end.
    const cutoff = Date.now() - this.graceSeconds * 1000;
    for (const [key, entry] of listed) {
      if (referenced.has(key)) continue;
      const at = entry.lastModified?.getTime();
      if (at === undefined || at > cutoff) {
        report.young++;
        continue;
      }
      // 3. Re-check the source key right before deleting.
      const head = await backend.head(key);
      if (!head) continue; // gone meanwhile (a remote delete got there first)
      const source = remoteSource(head.metadata);
      if (source && referencesRemote(await this.versionsOf(source), tier, key)) {
        report.referenced++;
        continue;
      }
      report.orphans++;
      let removed = false;
      if (!dryRun) {
        await backend.delete(key);
        removed = true;
        report.removed++;
        this.observer.remoteDeleted(tier, head.size, 'orphan');
      }
      if (report.details.length < REPORT_DETAILS_MAX) {
        report.details.push({
          key,
          size: head.size,
          lastModified: new Date(at).toISOString(),
          ...(source ? { source } : {}),
          removed,
        });
      }
    }
    return report;
  }

  private async versionsOf(source: RemoteSource): Promise<ObjectInfo[]> {
    try {
      return await this.layer.getObjectVersions(source.bucket, source.key);
    } catch (err) {
      if (isStorageError(err, 'BucketNotFound', 'InvalidBucketName', 'InvalidObjectName')) return [];
      throw err;
    }
  }
}
