/**
 * RestoreObject (DESIGN.md section 3): a transitioned version gets a local copy back for `Days`, then loses it
 * again; the copy in the tier is never touched (no delete, no overwrite) by any step here.
 *
 * The state lives in the version's tier record (`restore`, tier-state.ts), changed only by compare-and-swaps:
 * - request (`request`, from the S3 handler): a remote version without a restore gets `{ongoing: true, days,
 *   requestedAt}` and a `restore` job is queued (202); a running one answers `in-progress` (409); a restored one
 *   gets a new expiry (200). The job id is derived from `requestedAt`, so a repeated request re-queues the same job
 *   (a crash between the swap and the add is healed by the next request), and a request finding the job failed
 *   starts over with a new `requestedAt`;
 * - copy-back (`copyBack`, the `restore` job), under the object's Redis lock: for an archive class the cloud-side
 *   restore is started and polled (the job goes back to the delayed set between polls, holding no lock and no
 *   worker); then the plaintext streams from the tier into `restoreVersionData`, which stages and verifies it
 *   (size, ETag) and, under the storage lock, swaps in the local record with `{ongoing: false, expiry}` only if
 *   the record still names this request. A crash before that commit leaves the version remote and readable, and
 *   the retried job starts the copy again; a crash after it is found by the retry, which only queues the expiry;
 * - expiry (`expireCopy`, the `expire-restore` job, delayed to the expiry): under the Redis lock, and again under
 *   the storage lock, the local copy is released (`releaseVersionData`) only if the record still says restored
 *   and its expiry has passed; an extended expiry sends the job back to the delayed set until the new one.
 *
 * The request needs the job queue: with its Redis unreachable it answers ServiceUnavailable (503) before changing
 * anything, and a queue call that does not answer within `queueWaitMs` (a stalled Redis) answers 503 too instead of
 * holding the client. A request recorded before such a stall is queued by the client's retry (see above).
 *
 * Expiry dates follow AWS: the end of the day (midnight UTC) after `Days` days, on the lifecycle day
 * (TIERGATE_LIFECYCLE_DAY_SECONDS; rules/lifecycle-days.ts), counted from the copy-back's completion and, for an
 * extension, from the request.
 */
import { Logger } from '@nestjs/common';
import { NO_TIER_OBSERVER, type TierObserver } from '../../tiers/tier-observer';
import type { Readable } from 'node:stream';
import type { KmsProvider } from '../../kms/kms-provider';
import { withTimeout } from '../../common/with-timeout';
import type { RedisLocks } from '../../redis/redis-lock';
import { isStorageError, storageError } from '../../storage/errors';
import type { ObjectVersion } from '../../storage/meta/version';
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import { missingTier, readRemote, type TierLookup } from '../../tiers/read-through';
import type { TierBackend } from '../../tiers/tier-backend';
import { TierError } from '../../tiers/tier-error';
import { restoreStateOf, tierRecordOf, type RestoreState } from '../../tiers/tier-state';
import { jobId } from '../queues/job-id';
import type { JobQueues } from '../queues/job-queues';
import type { RestoreJob } from '../queues/job-types';
import { dueAfterDays } from '../rules/lifecycle-days';
import type { ActionOutcome } from './actions';

/** What RestoreObject answers: 202, 409 RestoreAlreadyInProgress, or 200 (expiry extended). */
export type RestoreOutcome = 'accepted' | 'in-progress' | 'already-restored';

/** A copy-back cannot go ahead and no retry will change that (tier gone, remote object missing). */
export class RestoreRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefusedError';
  }
}

/**
 * Days a cloud-side restore is asked for: the cloud copy only has to live until our copy-back has read it (the
 * local copy is what serves the object for the Days the client asked for), and each day of it is billed.
 */
export const CLOUD_RESTORE_DAYS = 1;

/**
 * How long a copy-back waits between polls of a running cloud-side restore: 1/96 of a lifecycle day (15 minutes in
 * production, where AWS Glacier takes hours), at least 250 ms.
 */
export function restorePollMs(daySeconds: number): number {
  return Math.max(250, Math.floor((daySeconds * 1000) / 96));
}

const logger = new Logger('Restore');

/** Default wait of a RestoreObject request on the job queue's Redis before it answers 503. */
export const QUEUE_WAIT_MS = 5_000;

/** The job queue cannot take the request now: the client retries (S3 ServiceUnavailable, 503). */
function queueUnavailable(why: string): Error {
  return storageError('ServiceUnavailable', `the job queue (Redis) ${why}: retry the restore request`);
}

/** Same tier record with `restore` replaced (or removed with undefined). */
function withRestore(cur: ObjectVersion, restore: RestoreState | undefined): ObjectVersion {
  const tier = { ...cur.tier! };
  if (restore) tier.restore = { ...restore };
  else delete tier.restore;
  return { ...cur, tier };
}

function restoreOfRecord(v: ObjectVersion): RestoreState | undefined {
  return restoreStateOf({ tier: v.tier });
}

/** Restores of transitioned versions: the request, the copy-back job and the expiry job. */
export class Restorer {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly queues: JobQueues,
    private readonly locks: RedisLocks,
    private readonly tiers: TierLookup,
    private readonly kms: KmsProvider,
    private readonly daySeconds: number,
    private readonly observer: TierObserver = NO_TIER_OBSERVER,
    /** How long a request waits on the job queue before answering ServiceUnavailable. */
    private readonly queueWaitMs = QUEUE_WAIT_MS,
  ) {}

  /** `work` (a call to the job queue), or ServiceUnavailable once it has taken `queueWaitMs`. */
  private queued<T>(work: Promise<T>): Promise<T> {
    return withTimeout(work, this.queueWaitMs, () => queueUnavailable('did not answer in time'));
  }

  /**
   * Handles RestoreObject for one exact version. Throws the storage errors of a missing bucket, key or version,
   * InvalidObjectState when the version is not in a tier (or its tier is not configured), InvalidArgument for bad
   * days.
   */
  async request(bucket: string, key: string, versionId: string, days: number): Promise<RestoreOutcome> {
    if (!Number.isSafeInteger(days) || days < 1)
      throw storageError('InvalidArgument', `restore days must be a positive integer, not ${days}`);
    if (!this.queues.reachable) throw queueUnavailable('is unreachable');
    const info = await this.layer.getObjectInfo(bucket, key, { versionId });
    const record = tierRecordOf(info);
    if (info.deleteMarker || record?.status !== 'transitioned')
      throw storageError('InvalidObjectState', 'only a version transitioned to a tier can be restored');
    if (!this.tiers.get(record.tier))
      throw missingTier(this.tiers, record.tier, (m) => storageError('InvalidObjectState', m));

    const now = Date.now();
    // What the compare-and-swap decided, under the storage lock.
    const seen: { outcome?: RestoreOutcome; state?: RestoreState } = {};
    await this.layer.updateObjectVersion(bucket, key, versionId, (cur) => {
      delete seen.outcome;
      if (tierRecordOf({ tier: cur.tier })?.status !== 'transitioned') return null;
      const r = restoreOfRecord(cur);
      if (cur.remote && r?.ongoing) {
        Object.assign(seen, { outcome: 'in-progress', state: r });
        return null;
      }
      if (cur.remote) {
        Object.assign(seen, { outcome: 'accepted', state: { ongoing: true, days, requestedAt: now } });
      } else if (r && !r.ongoing) {
        const expiry = dueAfterDays(now, days, this.daySeconds);
        Object.assign(seen, { outcome: 'already-restored', state: { ...r, days, expiry } });
      } else {
        return null; // a local copy without restore bookkeeping: not ours to touch
      }
      return withRestore(cur, seen.state);
    });
    const s = seen.state;
    if (!seen.outcome || !s)
      throw storageError('InvalidObjectState', 'the version is not in a state that can be restored');
    if (seen.outcome === 'accepted') {
      await this.queued(this.queueCopy(bucket, key, versionId, s.requestedAt));
      return 'accepted';
    }
    if (seen.outcome === 'already-restored') {
      await this.queued(this.queueExpiry(bucket, key, versionId, s.expiry!));
      return 'already-restored';
    }
    return this.checkRunning(bucket, key, versionId, days, s);
  }

  /**
   * A restore is recorded as running: its job is normally queued or active (409). Missing (the add was lost in a
   * crash, or Redis was down): queued again, still 409. Finished without finishing the restore (failed for good):
   * started over under a new request time, 202.
   */
  private async checkRunning(
    bucket: string,
    key: string,
    versionId: string,
    days: number,
    running: RestoreState,
  ): Promise<RestoreOutcome> {
    const payload: RestoreJob = { bucket, key, versionId, action: 'restore', at: running.requestedAt };
    const job = await this.queued(this.queues.queue('restore').getJob(jobId('restore', payload)));
    const jobState = job ? await this.queued(job.getState()) : 'missing';
    if (jobState === 'missing' || jobState === 'unknown') {
      await this.queued(this.queues.add('restore', payload));
      return 'in-progress';
    }
    if (jobState !== 'failed' && jobState !== 'completed') return 'in-progress';
    const requestedAt = Math.max(Date.now(), running.requestedAt + 1);
    const after = await this.layer.updateObjectVersion(bucket, key, versionId, (cur) => {
      const r = restoreOfRecord(cur);
      if (!cur.remote || !r?.ongoing || r.requestedAt !== running.requestedAt) return null;
      return withRestore(cur, { ongoing: true, days, requestedAt });
    });
    if (restoreStateOf(after)?.requestedAt !== requestedAt) return 'in-progress'; // another request got there
    logger.warn(
      `restore of ${bucket}/${key} (${versionId}) had stopped (${jobState} job ${job?.id ?? '?'}): started again`,
    );
    await this.queued(this.queueCopy(bucket, key, versionId, requestedAt));
    return 'accepted';
  }

  /**
   * The reconciler's backstop (tier-reconciler.ts) for a job lost with Redis's data: asks again for the job a
   * version's restore state is waiting on, the copy-back of a running restore or the expiry of a restored copy,
   * under the same deterministic id (a job that still exists, in any state, is left as it is). True when a job was
   * asked for; false when the state waits on none (a local copy without expiry, a running restore of a local copy).
   */
  async requeue(
    target: { bucket: string; key: string; versionId: string; remote?: boolean },
    state: RestoreState,
  ): Promise<boolean> {
    const { bucket, key, versionId } = target;
    if (state.ongoing && target.remote) {
      await this.queueCopy(bucket, key, versionId, state.requestedAt);
      return true;
    }
    if (!state.ongoing && !target.remote && state.expiry !== undefined) {
      await this.queueExpiry(bucket, key, versionId, state.expiry);
      return true;
    }
    return false;
  }

  private async queueCopy(bucket: string, key: string, versionId: string, at: number): Promise<void> {
    await this.queues.add('restore', { bucket, key, versionId, action: 'restore', at });
  }

  private async queueExpiry(bucket: string, key: string, versionId: string, expiry: number): Promise<void> {
    await this.queues.add(
      'restore',
      { bucket, key, versionId, action: 'expire-restore', at: expiry },
      { delay: expiry - Date.now() },
    );
  }

  /** Runs a `restore` job: the copy-back of one request (see the header). */
  async copyBack(job: RestoreJob): Promise<ActionOutcome> {
    return this.locks.withLock(
      `${job.bucket}/${job.key}`,
      async () => {
        const info = await this.current(job);
        const r = info && restoreStateOf(info);
        if (!info || !r || r.requestedAt !== job.at) return 'skipped';
        if (!info.remote) {
          // Committed by an earlier attempt that stopped before queuing the expiry.
          if (r.ongoing || r.expiry === undefined) return 'skipped';
          await this.queueExpiry(job.bucket, job.key, job.versionId, r.expiry);
          return 'done';
        }
        if (!r.ongoing) return 'skipped';
        const record = tierRecordOf(info)!;
        if (!this.tiers.get(record.tier))
          throw missingTier(this.tiers, record.tier, (m) => new RestoreRefusedError(m));
        return this.tiers.use(record.tier, async ({ backend }) => {
          const ready = await this.cloudReady(backend, record.remoteKey);
          if (ready !== true) return { early: true, notBefore: ready };
          return this.copy(job, info, backend);
        });
      },
      // A copy-back holds the lock for the whole copy; other actions on the key wait or retry.
      { waitMs: 30_000 },
    );
  }

  /**
   * True when the remote object can be read now; else the time to look again, after starting the cloud-side
   * restore of an archive-class object that has none.
   */
  private async cloudReady(backend: TierBackend, remoteKey: string): Promise<true | number> {
    const head = await backend.head(remoteKey);
    if (!head) throw new RestoreRefusedError(`tier ${backend.name} has no object ${remoteKey}`);
    if (!backend.isArchiveClass(head.storageClass)) return true;
    if (head.restore && !head.restore.ongoing) return true;
    if (!head.restore && (await backend.restore(remoteKey, CLOUD_RESTORE_DAYS)) === 'already-restored')
      return true;
    return Date.now() + restorePollMs(this.daySeconds);
  }

  /** Streams the plaintext from the tier into a local copy and commits it (the caller holds the Redis lock). */
  private async copy(job: RestoreJob, info: ObjectInfo, backend: TierBackend): Promise<ActionOutcome> {
    let plaintext: Readable;
    try {
      plaintext = await readRemote(backend, this.kms, info);
    } catch (err) {
      // The cloud copy expired between the HEAD and the GET: restore it again at the next poll.
      if (err instanceof TierError && err.code === 'ObjectArchived')
        return { early: true, notBefore: Date.now() + restorePollMs(this.daySeconds) };
      throw err;
    }
    try {
      await this.layer.restoreVersionData(job.bucket, job.key, job.versionId, plaintext, (cur) => {
        const r = restoreOfRecord(cur);
        if (!r?.ongoing || r.requestedAt !== job.at) return null;
        return withRestore(cur, {
          ...r,
          ongoing: false,
          expiry: dueAfterDays(Date.now(), r.days, this.daySeconds),
        });
      });
    } catch (err) {
      if (isStorageError(err, 'PreconditionFailed')) return 'skipped'; // the version changed meanwhile
      const record = tierRecordOf(info);
      if (record) this.observer.failed(record.tier, 'restore');
      throw err;
    } finally {
      plaintext.destroy();
    }
    const record = tierRecordOf(info);
    if (record) this.observer.restored(record.tier, info.size);
    const after = await this.current(job);
    const expiry = after && restoreStateOf(after)?.expiry;
    if (expiry !== undefined) await this.queueExpiry(job.bucket, job.key, job.versionId, expiry);
    return 'done';
  }

  /** Runs an `expire-restore` job: releases the local copy once its (possibly extended) expiry has passed. */
  async expireCopy(job: RestoreJob): Promise<ActionOutcome> {
    return this.locks.withLock(`${job.bucket}/${job.key}`, async () => {
      const info = await this.current(job);
      const r = info && restoreStateOf(info);
      if (!info || !r || r.ongoing || info.remote || r.expiry === undefined) return 'skipped';
      if (r.expiry > Date.now()) return { early: true, notBefore: r.expiry };
      try {
        await this.layer.releaseVersionData(job.bucket, job.key, job.versionId, (cur) => {
          const now = restoreOfRecord(cur);
          if (cur.remote || !now || now.ongoing || now.expiry === undefined || now.expiry > Date.now())
            return null;
          return withRestore(cur, undefined);
        });
      } catch (err) {
        if (!isStorageError(err, 'PreconditionFailed')) throw err;
        const again = await this.current(job);
        const expiry = again && restoreStateOf(again)?.expiry;
        return expiry !== undefined && expiry > Date.now() ? { early: true, notBefore: expiry } : 'skipped';
      }
      return 'done';
    });
  }

  /** The job's version, or undefined when it (or its bucket) is gone. */
  private async current(job: RestoreJob): Promise<ObjectInfo | undefined> {
    try {
      const info = await this.layer.getObjectInfo(job.bucket, job.key, { versionId: job.versionId });
      return info.deleteMarker ? undefined : info;
    } catch (err) {
      if (
        isStorageError(err, 'ObjectNotFound') ||
        isStorageError(err, 'VersionNotFound') ||
        isStorageError(err, 'BucketNotFound')
      )
        return undefined;
      throw err;
    }
  }
}
