/**
 * The lifecycle actions: the handlers of `expire` and `abort-multipart` jobs.
 *
 * Every action runs under two locks and one re-check:
 * - the Redis lock of the object (`<bucket>/<key>`), so gateways sharing the Redis never act on one key at once;
 * - the storage layer's write lock of the object, under which a delete guard evaluates the bucket's current rules
 *   against the version's current facts, and the action happens only if it is still due for that exact version.
 *   A job queued under older rules or facts (a rule removed, an object overwritten, a newer version deleted) thus
 *   does nothing: it is counted `skipped` and completes.
 *
 * What each action does, as AWS documents it:
 * - expire-current: a DELETE without version id of the current version: in a versioned bucket a delete marker is
 *   added (Suspended: the `null` marker), otherwise the object is removed;
 * - expire-noncurrent: that noncurrent version is removed for good;
 * - remove-delete-marker: the expired delete marker (the key's only version) is removed;
 * - abort-multipart: the upload and its parts are removed from every drive;
 * - transition, transition-noncurrent: the version's bytes go to the tier (transition.ts).
 */
import { isStorageError } from '../../storage/errors';
import type { DeleteGuardView, ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import { tierRecordOf } from '../../tiers/tier-state';
import type { RedisLocks } from '../../redis/redis-lock';
import type { AbortMultipartJob, ExpireJob, TransitionJob } from '../queues/job-types';
import { isPermanent } from './permanent';
import { dropIntent, TransitionRefusedError, type Transitioner } from './transition';
import { abortDue, nextAction } from '../rules/evaluate';
import type { BucketRules } from './bucket-rules';
import { factsAt, latestFacts } from './version-facts';

/**
 * What became of one job: acted, or no longer due; or `early`: its action is the right one but not due yet (a job
 * promoted a moment before its time, or a clock step), so it must run again at `notBefore`, not be dropped.
 */
export type ActionOutcome = 'done' | 'skipped' | { early: true; notBefore: number };

/** Storage errors meaning "the thing the job was about is gone or changed": the job is stale, not failed. */
const STALE = [
  'PreconditionFailed',
  'ObjectNotFound',
  'VersionNotFound',
  'NoSuchUpload',
  'BucketNotFound',
] as const;

function isStale(err: unknown): boolean {
  return STALE.some((code) => isStorageError(err, code));
}

/**
 * Runs a guarded storage call. Its guard asks `due(dueAt)` with the due time of the job's own action as the rules
 * give it now (undefined: the rules no longer ask for it). Acting now is `done`; a refusal for an action that is
 * right but not due yet is `early` (the job runs again then); a refusal or vanished target otherwise is `skipped`.
 */
async function guarded(
  call: (due: (dueAt: number | undefined) => boolean) => Promise<unknown>,
): Promise<ActionOutcome> {
  let notBefore: number | undefined;
  const due = (dueAt: number | undefined): boolean => {
    const now = Date.now();
    if (dueAt !== undefined && dueAt > now) notBefore = dueAt;
    return dueAt !== undefined && dueAt <= now;
  };
  try {
    await call(due);
    return 'done';
  } catch (err) {
    if (notBefore !== undefined && isStorageError(err, 'PreconditionFailed'))
      return { early: true, notBefore };
    if (isStale(err)) return 'skipped';
    throw err;
  }
}

/** Runs lifecycle actions against the ObjectLayer. */
export class LifecycleActions {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly rules: BucketRules,
    private readonly locks: RedisLocks,
    private readonly daySeconds: number,
    /** Moves versions to tiers; absent when the gateway runs without tiers and a KMS. */
    private readonly transitioner?: Transitioner,
  ) {}

  /** Runs an `expire` job: acts when its action is still due for its version, else skips. */
  async expire(job: ExpireJob): Promise<ActionOutcome> {
    return this.locks.withLock(`${job.bucket}/${job.key}`, async () => {
      const config = await this.rules.of(job.bucket);
      if (!config) return 'skipped';
      return guarded((due) =>
        this.layer.deleteObject(job.bucket, job.key, {
          ...(job.action === 'expire-current' ? {} : { versionId: job.versionId }),
          guard: ({ target, versions }: DeleteGuardView) => {
            if (!target || target.versionId !== job.versionId) return false;
            const facts = versions ? factsAt(versions, versions.indexOf(target)) : latestFacts(target);
            const next = nextAction(config, facts, { daySeconds: this.daySeconds, now: Date.now() });
            return due(next?.action === job.action ? next.dueAt : undefined);
          },
        }),
      );
    });
  }

  /**
   * Runs a `transition` job: under the object's Redis lock, re-checks that the rules still ask for this transition
   * of this exact version, due now, then hands it to the Transitioner (transition.ts). A job that ends without
   * transitioning, skipped or failed for good, drops the version's intent if it has one: no attempt holds the lock
   * now, and an intent left behind would keep its tier referenced (not removable) for no upload.
   */
  async transition(job: TransitionJob): Promise<ActionOutcome> {
    return this.locks.withLock(
      `${job.bucket}/${job.key}`,
      async () => {
        let outcome: ActionOutcome;
        try {
          outcome = await this.transitionLocked(job);
        } catch (err) {
          if (isPermanent(err)) await this.dropIntentOf(job);
          throw err;
        }
        if (outcome === 'skipped') await this.dropIntentOf(job);
        return outcome;
      },
      // An upload holds the lock for its whole length; other actions on the key wait or retry.
      { waitMs: 30_000 },
    );
  }

  /** The transition job's checks, then the transition itself. */
  private async transitionLocked(job: TransitionJob): Promise<ActionOutcome> {
    if (!this.transitioner) throw new TransitionRefusedError('this gateway has no tiers configured');
    let versions: ObjectInfo[];
    try {
      versions = await this.layer.getObjectVersions(job.bucket, job.key);
    } catch (err) {
      if (isStale(err)) return 'skipped';
      throw err;
    }
    const i = versions.findIndex((v) => v.versionId === job.versionId);
    if (i < 0 || versions[i].deleteMarker) return 'skipped';
    const info = versions[i];
    const config = await this.rules.of(job.bucket);
    if (!config) return 'skipped';
    const record = tierRecordOf(info);
    if (record?.status === 'transitioned' && record.tier === job.storageClass && info.remote) return 'done';
    // A restored copy (RestoreObject) is local but its bytes are in a tier already: transitioning it again
    // would replace the record naming that remote object. Its expiry releases it; the rules apply after.
    if (record?.status === 'transitioned' && !info.remote) return 'skipped';
    const now = Date.now();
    const next = nextAction(config, factsAt(versions, i), { daySeconds: this.daySeconds, now });
    if (!next || next.action !== job.action || next.storageClass !== job.storageClass) return 'skipped';
    if (next.dueAt > now) return { early: true, notBefore: next.dueAt };
    try {
      return await this.transitioner.run(job, info);
    } catch (err) {
      if (isStale(err)) return 'skipped';
      throw err;
    }
  }

  /** Drops the job's version's intent, if it has one (the caller holds the object's Redis lock). */
  private async dropIntentOf(job: TransitionJob): Promise<void> {
    await dropIntent(this.layer, { bucket: job.bucket, key: job.key, versionId: job.versionId });
  }

  /** Runs an `abort-multipart` job: aborts the upload when a rule still asks for it now, else skips. */
  async abortMultipart(job: AbortMultipartJob): Promise<ActionOutcome> {
    const config = await this.rules.of(job.bucket);
    if (!config) return 'skipped';
    return guarded((due) =>
      this.layer.abortMultipartUpload(job.bucket, job.key, job.uploadId, {
        guard: (initiated) =>
          due(
            abortDue(
              config,
              { key: job.key, initiated: initiated.getTime() },
              { daySeconds: this.daySeconds },
            )?.dueAt,
          ),
      }),
    );
  }
}
