/**
 * The tier reconciler (DESIGN.md section 3): lists a tier's prefix and removes the remote objects no version
 * references (orphans): left by a crash between a transition's upload and its commit, a removal whose remote delete
 * was never queued (Redis down) or gave up, an upload that finished after its version was deleted, a leftover probe.
 * It also aborts the multipart uploads left open under the prefix by a transition that died mid-upload (a SIGKILL
 * aborts nothing): the cloud keeps, and bills, their parts until someone does.
 *
 * Data safety: a cloud copy is never deleted, nor an upload aborted, while something still needs it.
 * 1. List first, then walk: the tier's objects and its open multipart uploads are listed, then every version of the
 *    namespace is walked for references to the listed keys (either status: `transitioning` intents too, since a
 *    retry reuses its remote key). A version that comes to reference a key after the walk passed its object can only
 *    do so with a fresh random key, never one that was already listed, so the walk cannot miss a reference to a
 *    listed object or upload, however long it takes.
 * 2. Uploads: a transition records its intent (with a fresh remote key) before it starts its upload, so a listed
 *    upload's intent was recorded before the walk began. If no version references the upload's key after the walk,
 *    the intent is gone (replaced by a later attempt's fresh key, or its version removed) and the attempt can never
 *    commit (its commit is a compare-and-swap on that intent): aborting the upload only ends an attempt that is
 *    already lost. A legitimate upload, however long, holds its intent and is referenced. There is no source header
 *    to re-check for an upload (the key is all there is), and none is needed.
 * 3. Grace: an unreferenced object or upload younger than the grace period (TIERGATE_TIER_ORPHAN_GRACE_SECONDS,
 *    default an hour) is kept: for an object, its intent or commit may be in flight; for an upload, step 2 already
 *    suffices and the grace is a second line (against a clock or a walk we did not foresee). An object without a
 *    modification time, or an upload without an initiation time, is kept too.
 * 4. Re-check: right before deleting, the object's own header names its source version (`tiergate-source`); that
 *    key's versions are read again and the object is kept if one references it now.
 * 5. Stale intents: a `transitioning` intent older than the grace whose object's Redis lock is free belongs to an
 *    attempt that is no longer running (a transition holds that lock, extended, for its whole upload), whose job was
 *    lost or failed: it is dropped by a compare-and-swap on its remote key (an attempt that lost its lock and still
 *    runs then fails its commit), so it no longer keeps its tier referenced, and what it named becomes an orphan of
 *    this same pass. The transition job itself drops the intents of transitions it skips or fails for good.
 * 6. Restores: a version of the tier with a restore state (a restore running, or a restored copy) waits on a job
 *    (its copy-back, or its copy's expiry). If that job was lost (Redis lost its data), nothing else would ever
 *    finish the restore or release the copy: the pass asks for the job again under its deterministic id (an
 *    existing one, in any state, is left as it is), and the job re-checks everything under the object's lock.
 * A dry run reports the same without deleting, aborting, dropping or queueing. A tier that cannot list multipart
 * uploads (s3rver answers 501 NotImplemented) is reconciled for its objects, and the report says why its uploads were
 * not listed.
 *
 * Memory is bounded by batches: the listing is consumed `batchSize` objects at a time, and each batch is walked for
 * and handled before the next is listed, so step 1's order (list, then walk) holds for every batch. The first walk
 * also does what needs one walk only (uploads, stale intents, restores). So a pass holds one batch of listed
 * objects, the open uploads and the stale intents, and walks the namespace once per batch (ceil(N / batchSize)
 * walks for a tier of N objects).
 *
 * A tier's prefix belongs to one deployment: everything under it that this deployment's versions do not reference
 * is removed (or aborted) once past the grace. Two deployments must never share a bucket and prefix.
 */
import { isStorageError } from '../../storage/errors';
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { TierLookup } from '../../tiers/read-through';
import type { TierBackend, TierListEntry, TierUploadEntry } from '../../tiers/tier-backend';
import { isNotImplemented, TierError } from '../../tiers/tier-error';
import { NO_TIER_OBSERVER, type TierObserver } from '../../tiers/tier-observer';
import { allVersions } from '../../tiers/tier-references';
import { restoreStateOf, SOURCE_METADATA_KEY, tierRecordOf, type RestoreState } from '../../tiers/tier-state';
import { LockTimeoutError, type RedisLocks } from '../../redis/redis-lock';
import { referencesRemote } from './remote-delete';
import { dropIntent } from './transition';

/** Default grace period: an hour. */
export const DEFAULT_ORPHAN_GRACE_SECONDS = 3600;

/** Listed tier objects a pass holds at once (see the memory note above): a walk of the namespace per this many. */
export const RECONCILE_BATCH = 50_000;

/** Most orphans (and most stale uploads) listed one by one in a report (the counts cover all of them). */
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

/** One stale multipart upload in a report. */
export interface UploadDetail {
  key: string;
  uploadId: string;
  initiated: string;
  aborted: boolean;
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
  /** Multipart uploads open under the tier prefix (0 when they could not be listed: see `uploadsNotListed`). */
  uploadsListed: number;
  /** Listed uploads whose key some version references (a transition's upload in flight). */
  uploadsReferenced: number;
  /** Unreferenced uploads kept because they are younger than the grace (or have no initiation time). */
  uploadsYoung: number;
  /** Unreferenced uploads older than the grace: no attempt can ever complete them. */
  uploadsStale: number;
  /** Stale uploads aborted (0 on a dry run). */
  uploadsAborted: number;
  /** The first REPORT_DETAILS_MAX stale uploads. */
  uploadDetails: UploadDetail[];
  /**
   * Why the tier's open uploads could not be listed (it does not implement ListMultipartUploads, or its credentials
   * may not list them); absent if they were.
   */
  uploadsNotListed?: string;
  /** `transitioning` intents naming this tier that are older than the grace. */
  intentsStale: number;
  /** Stale intents dropped (no attempt held their object's lock; 0 on a dry run). */
  intentsDropped: number;
  /** Versions of the tier with a restore running or a restored copy. */
  restores: number;
  /** Jobs of those restores asked for again (step 6; 0 on a dry run): an existing job is left as it is. */
  restoreJobs: number;
}

/** What step 6 asks for a restore's job through (the engine's Restorer). */
export interface RestoreRequeue {
  /** Asks again for the job `state` waits on; true when there is one. */
  requeue(
    target: { bucket: string; key: string; versionId: string; remote?: boolean },
    state: RestoreState,
  ): Promise<boolean>;
}

/** A `transitioning` intent older than the grace, found by the walk. */
interface StaleIntent {
  bucket: string;
  key: string;
  versionId: string;
  remoteKey: string;
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
    /** The objects' Redis locks: with them, stale intents are dropped (step 5); without, only counted. */
    private readonly locks?: RedisLocks,
    /** The restores' jobs: with them, lost ones are asked for again (step 6); without, restores are only counted. */
    private readonly restores?: RestoreRequeue,
    /** Listed objects held and walked for at once (at least 1). */
    private readonly batchSize: number = RECONCILE_BATCH,
  ) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1)
      throw new RangeError(`bad batch size ${batchSize}`);
  }

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
      uploadsListed: 0,
      uploadsReferenced: 0,
      uploadsYoung: 0,
      uploadsStale: 0,
      uploadsAborted: 0,
      uploadDetails: [],
      intentsStale: 0,
      intentsDropped: 0,
      restores: 0,
      restoreJobs: 0,
    };
    // 1. The open uploads, then the objects a batch at a time, each batch walked for references once listed.
    const uploads = await this.listUploads(backend, report);
    const listing = backend.list()[Symbol.asyncIterator]();
    try {
      const intents: StaleIntent[] = [];
      for (let first = true; ; first = false) {
        const listed = new Map<string, TierListEntry>();
        while (listed.size < this.batchSize) {
          const next = await listing.next();
          if (next.done) break;
          listed.set(next.value.key, next.value);
        }
        if (listed.size === 0 && !first) break;
        report.listed += listed.size;
        const referenced = await this.walk(tier, listed, first ? { uploads, intents } : null, dryRun, report);
        // 5. Stale intents (found by the first walk): dropped when no attempt holds their object's lock; what they
        // named is then unreferenced (the later batches' walks no longer see those intents).
        if (first) for (const key of await this.dropStale(intents, dryRun, report)) referenced.delete(key);
        // 3. The grace, counted from the walk's end (the first walk's for the uploads, listed and walked for once).
        const cutoff = Date.now() - this.graceSeconds * 1000;
        if (first) await this.abortStale(tier, backend, uploads, referenced, cutoff, dryRun, report);
        for (const key of listed.keys()) if (referenced.has(key)) report.referenced++;
        await this.removeOrphans(tier, backend, listed, referenced, cutoff, dryRun, report);
        if (listed.size < this.batchSize) break;
      }
    } finally {
      await listing.return?.(); // a pass that failed mid-listing ends the listing too
    }
    return report;
  }

  /** The tier's open multipart uploads; none (with the reason in the report) where it may not or cannot list them. */
  private async listUploads(backend: TierBackend, report: ReconcileReport): Promise<TierUploadEntry[]> {
    const uploads: TierUploadEntry[] = [];
    try {
      for await (const upload of backend.listUploads()) uploads.push(upload);
    } catch (err) {
      const denied = err instanceof TierError && err.code === 'AccessDenied';
      if (!isNotImplemented(err) && !denied) throw err;
      report.uploadsNotListed = denied
        ? `the tier's credentials may not list multipart uploads (grant ListBucketMultipartUploads / ListMultipartUploads): ${err.message}`
        : `the tier does not implement ListMultipartUploads: ${err.message}`;
      return [];
    }
    report.uploadsListed = uploads.length;
    return uploads;
  }

  /**
   * Walks every version for references to the `listed` objects of `tier`; returns the referenced remote keys. The
   * first walk of a pass (`first` given) also looks for references to the open uploads, collects the stale intents
   * and asks again for lost restore jobs (step 6).
   */
  private async walk(
    tier: string,
    listed: ReadonlyMap<string, TierListEntry>,
    first: { uploads: readonly TierUploadEntry[]; intents: StaleIntent[] } | null,
    dryRun: boolean,
    report: ReconcileReport,
  ): Promise<Set<string>> {
    const uploadKeys = new Set(first?.uploads.map((u) => u.key));
    const referenced = new Set<string>();
    const intentCutoff = Date.now() - this.graceSeconds * 1000;
    for await (const v of allVersions(this.layer)) {
      const r = tierRecordOf(v);
      if (!r || r.tier !== tier) continue;
      if (listed.has(r.remoteKey) || uploadKeys.has(r.remoteKey)) referenced.add(r.remoteKey);
      if (!first) continue;
      if (r.status === 'transitioning' && !(r.startedAt >= intentCutoff))
        first.intents.push({ bucket: v.bucket, key: v.key, versionId: v.versionId, remoteKey: r.remoteKey });
      // 6. A restore's job, asked for again.
      const restore = restoreStateOf(v);
      if (restore) {
        report.restores++;
        if (!dryRun && (await this.restores?.requeue(v, restore))) report.restoreJobs++;
      }
    }
    return referenced;
  }

  /** Steps 3 and 4 for one batch: deletes (or, on a dry run, reports) its unreferenced objects past the grace. */
  private async removeOrphans(
    tier: string,
    backend: TierBackend,
    listed: ReadonlyMap<string, TierListEntry>,
    referenced: ReadonlySet<string>,
    cutoff: number,
    dryRun: boolean,
    report: ReconcileReport,
  ): Promise<void> {
    for (const [key, entry] of listed) {
      if (referenced.has(key)) continue;
      const at = entry.lastModified?.getTime();
      if (at === undefined || at > cutoff) {
        report.young++;
        continue;
      }
      // 4. Re-check the source key right before deleting.
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
  }

  /**
   * Step 5: drops each stale intent whose object's Redis lock is free (no attempt runs: a transition holds the lock
   * for its whole upload), by a compare-and-swap on its remote key; returns the remote keys of the dropped ones.
   * A busy lock keeps the intent (an attempt is running, or the object is otherwise busy: the next pass sees it).
   */
  private async dropStale(
    intents: readonly StaleIntent[],
    dryRun: boolean,
    report: ReconcileReport,
  ): Promise<string[]> {
    report.intentsStale = intents.length;
    const locks = this.locks;
    if (dryRun || !locks) return [];
    const dropped: string[] = [];
    for (const intent of intents) {
      try {
        const done = await locks.withLock(
          `${intent.bucket}/${intent.key}`,
          () => dropIntent(this.layer, intent, intent.remoteKey),
          {
            waitMs: 0,
          },
        );
        if (done) {
          dropped.push(intent.remoteKey);
          report.intentsDropped++;
        }
      } catch (err) {
        if (!(err instanceof LockTimeoutError)) throw err;
      }
    }
    return dropped;
  }

  /** Steps 2 and 3 for the listed uploads: aborts (or, on a dry run, reports) the unreferenced ones past the grace. */
  private async abortStale(
    tier: string,
    backend: TierBackend,
    uploads: readonly TierUploadEntry[],
    referenced: ReadonlySet<string>,
    cutoff: number,
    dryRun: boolean,
    report: ReconcileReport,
  ): Promise<void> {
    for (const upload of uploads) {
      if (referenced.has(upload.key)) {
        report.uploadsReferenced++;
        continue;
      }
      const at = upload.initiated?.getTime();
      if (at === undefined || at > cutoff) {
        report.uploadsYoung++;
        continue;
      }
      report.uploadsStale++;
      let aborted = false;
      if (!dryRun) {
        await backend.abortUpload(upload.key, upload.uploadId);
        aborted = true;
        report.uploadsAborted++;
        this.observer.uploadAborted(tier);
      }
      if (report.uploadDetails.length < REPORT_DETAILS_MAX) {
        report.uploadDetails.push({
          key: upload.key,
          uploadId: upload.uploadId,
          initiated: new Date(at).toISOString(),
          aborted,
        });
      }
    }
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
