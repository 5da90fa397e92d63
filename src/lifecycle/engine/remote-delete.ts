/**
 * Remote deletes (DESIGN.md section 3): when a version with tier state is removed (a DELETE by id, an unversioned
 * DELETE, a Suspended delete marker replacing the `null` version, a PUT/copy/complete replacing it, a lifecycle
 * expiration), its remote object is no longer needed by that version; a `remote-delete` job removes it.
 *
 * Data safety: a cloud copy is never deleted while something still needs it.
 * - The job runs under the object's Redis lock (`<bucket>/<key>`), the lock a transition holds for its whole
 *   upload: a delete racing a transition in flight waits for the upload to end (whose commit then finds the version
 *   gone), instead of deleting first and letting the upload recreate the object.
 * - Under that lock it re-reads the key's versions: remote keys are random and per version, so only a version of
 *   this key could reference this remote key; if one still does (either status), the job does nothing.
 * - Then HEAD (nothing there: done, nothing counted) and DELETE (absent is success: idempotent across retries).
 * The job's id is its tier and remote key, so every report of one removal (a retry of the write, two gateways) is one
 * job. While the tier is down it retries with capped exponential backoff (job-queues.ts KIND_JOB_DEFAULTS); a
 * removal never heard (Redis down at the time) or a job that gave up is found later by the reconciler.
 */
import { isStorageError } from '../../storage/errors';
import type { ObjectChange, ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { RedisLocks } from '../../redis/redis-lock';
import { missingTier, type TierLookup } from '../../tiers/read-through';
import { NO_TIER_OBSERVER, type TierObserver } from '../../tiers/tier-observer';
import { tierRecordOf } from '../../tiers/tier-state';
import type { RemoteDeleteJob } from '../queues/job-types';

/** A remote delete that no retry can carry out: the tier is not configured on this gateway. */
export class RemoteDeleteRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteDeleteRefusedError';
  }
}

/** The remote-delete jobs a change asks for: one per removed version that had a remote key. */
export function remoteDeletesOf(change: ObjectChange): RemoteDeleteJob[] {
  if (change.kind !== 'object' || !change.removed) return [];
  const jobs: RemoteDeleteJob[] = [];
  for (const v of change.removed) {
    const record = tierRecordOf(v);
    if (!record) continue;
    jobs.push({
      tier: record.tier,
      remoteKey: record.remoteKey,
      bucket: v.bucket,
      key: v.key,
      versionId: v.versionId,
    });
  }
  return jobs;
}

/** Whether any of `versions` references `remoteKey` in `tier`, in either status. */
export function referencesRemote(versions: readonly ObjectInfo[], tier: string, remoteKey: string): boolean {
  return versions.some((v) => {
    const r = tierRecordOf(v);
    return r !== undefined && r.tier === tier && r.remoteKey === remoteKey;
  });
}

/** Runs remote-delete jobs. */
export class RemoteDeleter {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly tiers: TierLookup,
    private readonly locks: RedisLocks,
    private readonly observer: TierObserver = NO_TIER_OBSERVER,
  ) {}

  /** Deletes the job's remote object unless a version of its key still references it (see the header). */
  async run(job: RemoteDeleteJob): Promise<'done' | 'skipped'> {
    if (!this.tiers.get(job.tier))
      throw missingTier(this.tiers, job.tier, (m) => new RemoteDeleteRefusedError(m));
    return this.locks.withLock(
      `${job.bucket}/${job.key}`,
      async () => {
        let versions: ObjectInfo[];
        try {
          versions = await this.layer.getObjectVersions(job.bucket, job.key);
        } catch (err) {
          // A deleted bucket has no versions left to need the object.
          if (!isStorageError(err, 'BucketNotFound')) throw err;
          versions = [];
        }
        if (referencesRemote(versions, job.tier, job.remoteKey)) return 'skipped';
        return this.tiers.use(job.tier, async ({ backend }) => {
          try {
            const head = await backend.head(job.remoteKey);
            if (!head) return 'skipped';
            await backend.delete(job.remoteKey);
            this.observer.remoteDeleted(job.tier, head.size, 'version-removed');
            return 'done';
          } catch (err) {
            this.observer.failed(job.tier, 'remote-delete');
            throw err;
          }
        });
      },
      // A transition of the key holds the lock for its whole upload.
      { waitMs: 30_000 },
    );
  }
}
