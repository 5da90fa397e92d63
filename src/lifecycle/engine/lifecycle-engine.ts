/**
 * The lifecycle engine of one gateway process: hears every change the ObjectLayer makes durable and schedules the
 * key's next actions (except after an in-place update that changed no fact the rules read) (and the remote deletes of removed versions that were in a tier), runs the workers of every
 * queue (expire, transition, abort-multipart, scan, remote-delete, reconcile), and queues a scan every scanner
 * interval and a reconcile of every tier every reconcile interval. Plain TypeScript; lifecycle.module.ts starts and
 * stops it with the app.
 *
 * Invariants:
 * - Scheduling after a write is awaited by the write (the ObjectLayer waits for its listeners), bounded by
 *   SCHEDULE_TIMEOUT_MS and skipped at once while Redis is unreachable: a write is never held hostage by Redis.
 *   What was not scheduled then is found by the scanner.
 * - One scan per interval slot across every gateway sharing the Redis: the scan job's id is the slot's start (the
 *   same for a tier's reconcile).
 *   The first periodic scan comes one interval after start (the queue, not a boot scan, carries scheduled work
 *   across restarts).
 * - `close()` stops hearing changes and queuing scans, then waits for running jobs to finish.
 */
import { Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ByteBudget } from '../../common/byte-budget';
import { storageError } from '../../storage/errors';
import type { ObjectChange, ObjectLayer } from '../../storage/object-layer';
import { RedisLocks } from '../../redis/redis-lock';
import type { KmsProvider } from '../../kms/kms-provider';
import { tierReader, type TierLookup } from '../../tiers/read-through';
import type { TierObserver } from '../../tiers/tier-observer';
import { jobId } from '../queues/job-id';
import type { JobQueues } from '../queues/job-queues';
import type { JobKind } from '../queues/job-types';
import { JobWorkers, type JobHandlers } from '../queues/job-workers';
import { abortDue, nextAction } from '../rules/evaluate';
import { LifecycleActions, type ActionOutcome } from './actions';
import { BucketRules } from './bucket-rules';
import { isPermanent } from './permanent';
import { LifecycleScanner } from './scanner';
import { LifecycleScheduler } from './scheduler';
import { factsAt, sameRuleFacts } from './version-facts';
import { TRANSITION_UPLOAD_MEMORY, Transitioner } from './transition';
import { RestoreRefusedError, Restorer, type RestoreOutcome } from './restore';
import { RemoteDeleteRefusedError, RemoteDeleter, remoteDeletesOf } from './remote-delete';
import { DEFAULT_ORPHAN_GRACE_SECONDS, TierReconciler } from './tier-reconciler';

/**
 * Jobs run at once by each of this process's workers: expirations are short metadata writes that wait on drives
 * and Redis, so many overlap well (the storage engine group-commits their metadata); so do transitions, most of
 * whose time is metadata rounds and cloud round trips, while the memory of large ones is bounded by the upload
 * budget (`transitionUploadMemory`), not by this; a scan walks a whole bucket, so one at a time; a remote delete is
 * two small cloud requests; a reconcile lists a tier and walks the namespace.
 */
export const ENGINE_CONCURRENCY: Readonly<Record<JobKind, number>> = {
  expire: 32,
  transition: 16,
  'abort-multipart': 8,
  scan: 1,
  restore: 4,
  'remote-delete': 8,
  reconcile: 1,
};

/** Longest a write waits for its scheduling before leaving it to the scanner. */
export const SCHEDULE_TIMEOUT_MS = 2_000;

const logger = new Logger('Lifecycle');

/** How the engine runs. */
export interface LifecycleSettings {
  readonly daySeconds: number;
  readonly scannerIntervalSeconds: number;
  /** BullMQ key prefix (TIERGATE_QUEUE_PREFIX); the object locks live under `<prefix>:lock:`. */
  readonly prefix: string;
  /** Jobs run at once per queue (default ENGINE_CONCURRENCY). */
  readonly concurrency?: Partial<Record<JobKind, number>>;
  /** Bytes of upload buffers this process's transitions may hold at once (default TRANSITION_UPLOAD_MEMORY). */
  readonly transitionUploadMemory?: number;
  /**
   * How long this process's object locks and job locks outlive it after a crash, ms (default 30 s, BullMQ's own):
   * a job cut short by a crash runs again about this long (up to twice this) after the crash.
   */
  readonly lockMs?: number;
  /** Unreferenced remote objects and open uploads younger than this are kept by the reconciler (default an hour). */
  readonly orphanGraceSeconds?: number;
  /** Seconds between periodic reconciles of every tier (default: the scanner interval). */
  readonly reconcileIntervalSeconds?: number;
}

/** Told about every job outcome (metrics). */
export type ActionObserver = (kind: JobKind, action: string, outcome: 'done' | 'skipped' | 'failed') => void;

/** Where a job stands, as BullMQ has it. */
export interface JobReport {
  id: string;
  state: string;
  attemptsMade: number;
  failedReason?: string;
  finishedOn?: string;
}

/** One version's lifecycle as the engine sees it now. */
export interface VersionExplanation {
  versionId: string;
  isLatest: boolean;
  deleteMarker: boolean;
  lastModified: string;
  /** The next action and the rule asking for it, or null when no Enabled rule will act on this version. */
  next: { action: string; ruleId: string; dueAt: string; due: boolean; storageClass?: string } | null;
  /** The job of that action, or null when none is queued (yet, or any more). */
  job: JobReport | null;
}

/** An incomplete multipart upload's lifecycle. */
export interface UploadExplanation {
  uploadId: string;
  initiated: string;
  abort: { ruleId: string; dueAt: string; due: boolean } | null;
  job: JobReport | null;
}

/** Body of GET /tiergate/admin/v1/lifecycle/explain. */
export interface Explanation {
  bucket: string;
  key: string;
  /** False when the bucket has no lifecycle configuration. */
  hasRules: boolean;
  versions: VersionExplanation[];
  uploads: UploadExplanation[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Scheduling, actions, scanner and workers of one process. */
export class LifecycleEngine {
  readonly rules: BucketRules;
  readonly scheduler: LifecycleScheduler;
  readonly scanner: LifecycleScanner;
  readonly actions: LifecycleActions;
  /** RestoreObject requests and their jobs; absent without tiers and a KMS. */
  readonly restorer: Restorer | undefined;
  /** Removes tier objects of removed versions; absent without tiers. */
  readonly remoteDeleter: RemoteDeleter | undefined;
  /** Lists tiers and removes orphans (the admin API runs it too); absent without tiers. */
  readonly reconciler: TierReconciler | undefined;
  private workers: JobWorkers | undefined;
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private redisDownSince = 0;
  /** The wait on scheduling the changes of this moment share (scheduleDeadline). */
  private deadline: { at: number; promise: Promise<'timeout'> } | undefined;

  constructor(
    private readonly layer: ObjectLayer,
    private readonly queues: JobQueues,
    private readonly redis: Redis,
    private readonly settings: LifecycleSettings,
    private readonly observe: ActionObserver = () => undefined,
    /**
     * The tier registry and the KMS: transitions, read-through, remote deletes and the reconciler (none:
     * transitions and remote deletes fail, reads refuse); `observer` counts their outcomes per tier (metrics).
     */
    private readonly tiering?: { tiers: TierLookup; kms: KmsProvider; observer?: TierObserver },
  ) {
    this.rules = new BucketRules(layer);
    this.scheduler = new LifecycleScheduler(layer, queues, this.rules, settings.daySeconds);
    this.scanner = new LifecycleScanner(layer, this.rules, this.scheduler);
    const locks = new RedisLocks(redis, `${settings.prefix}:lock:`, settings.lockMs);
    this.actions = new LifecycleActions(
      layer,
      this.rules,
      locks,
      settings.daySeconds,
      tiering &&
        new Transitioner(
          layer,
          tiering.tiers,
          tiering.kms,
          tiering.observer,
          new ByteBudget(settings.transitionUploadMemory ?? TRANSITION_UPLOAD_MEMORY),
        ),
    );
    this.remoteDeleter = tiering && new RemoteDeleter(layer, tiering.tiers, locks, tiering.observer);
    this.restorer =
      tiering &&
      new Restorer(layer, queues, locks, tiering.tiers, tiering.kms, settings.daySeconds, tiering.observer);
    this.reconciler =
      tiering &&
      new TierReconciler(
        layer,
        tiering.tiers,
        settings.orphanGraceSeconds ?? DEFAULT_ORPHAN_GRACE_SECONDS,
        tiering.observer,
        locks,
        this.restorer,
      );
  }

  /**
   * RestoreObject of one exact version (restore.ts): 'accepted' (202), 'in-progress' (409) or 'already-restored'
   * (200, expiry extended). Throws storage errors: not found, InvalidObjectState (not in a tier, or no tiers).
   */
  async requestRestore(
    bucket: string,
    key: string,
    versionId: string,
    days: number,
  ): Promise<RestoreOutcome> {
    if (!this.restorer) throw storageError('InvalidObjectState', 'this gateway has no tiers configured');
    return this.restorer.request(bucket, key, versionId, days);
  }

  /** Starts hearing changes, serving reads of transitioned versions, the workers and the periodic scan. */
  start(): void {
    this.unsubscribe = this.layer.onChange((change) => this.onChange(change));
    if (this.tiering)
      this.layer.setRemoteReader(tierReader(this.tiering.tiers, this.tiering.kms, this.tiering.observer));
    const handlers: JobHandlers = {
      expire: (payload, job, token) =>
        this.run('expire', payload.action, job, token, () => this.actions.expire(payload)),
      transition: (payload, job, token) =>
        this.run('transition', payload.action, job, token, () => this.actions.transition(payload)),
      'abort-multipart': (payload, job, token) =>
        this.run('abort-multipart', 'abort', job, token, () => this.actions.abortMultipart(payload)),
      restore: (payload, job, token) =>
        this.run('restore', payload.action, job, token, () => {
          if (!this.restorer) throw new RestoreRefusedError('this gateway has no tiers configured');
          return payload.action === 'restore'
            ? this.restorer.copyBack(payload)
            : this.restorer.expireCopy(payload);
        }),
      scan: async (payload) => {
        const report = await this.scanner.scan(payload.bucket);
        logger.log(
          `scan (${payload.reason}): ${report.buckets} buckets, ${report.versions} versions, ${report.uploads} uploads, ${report.scheduled} jobs asked for`,
        );
        this.observe('scan', 'scan', 'done');
      },
      'remote-delete': (payload, job, token) =>
        this.run('remote-delete', 'remote-delete', job, token, () => {
          if (!this.remoteDeleter) throw new RemoteDeleteRefusedError('this gateway has no tiers configured');
          return this.remoteDeleter.run(payload);
        }),
      reconcile: async (payload) => {
        // A tier removed since the pass was queued has nothing left to reconcile here.
        if (!this.reconciler || !this.tiering?.tiers.get(payload.tier)) return;
        const r = await this.reconciler.reconcile(payload.tier);
        const uploads =
          r.uploadsNotListed ??
          `${r.uploadsListed} listed, ${r.uploadsReferenced} referenced, ${r.uploadsYoung} young, ${r.uploadsStale} stale, ${r.uploadsAborted} aborted`;
        logger.log(
          `reconcile of tier ${r.tier}: ${r.listed} listed, ${r.referenced} referenced, ${r.young} young, ${r.orphans} orphans, ${r.removed} removed; open uploads: ${uploads}; restores: ${r.restores}, ${r.restoreJobs} jobs asked for`,
        );
        this.observe('reconcile', 'reconcile', 'done');
      },
    };
    this.workers = new JobWorkers(handlers, {
      connection: this.redis,
      prefix: this.settings.prefix,
      concurrency: { ...ENGINE_CONCURRENCY, ...this.settings.concurrency },
      ...(this.settings.lockMs !== undefined ? { lockMs: this.settings.lockMs } : {}),
    });
    for (const kind of [
      'expire',
      'transition',
      'abort-multipart',
      'restore',
      'remote-delete',
      'reconcile',
    ] as const) {
      this.workers.worker(kind).on('failed', (job: Job | undefined, err: Error) => {
        const action =
          (job?.data as { action?: string } | undefined)?.action ??
          (kind === 'abort-multipart' ? 'abort' : kind);
        this.observe(kind, action, 'failed');
        logger.warn(
          `${kind} job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message}`,
        );
      });
    }
    const intervalMs = this.settings.scannerIntervalSeconds * 1000;
    this.timer = setInterval(() => void this.queuePeriodicScan(intervalMs), intervalMs);
    this.timer.unref();
    const reconcileMs =
      (this.settings.reconcileIntervalSeconds ?? this.settings.scannerIntervalSeconds) * 1000;
    this.reconcileTimer = setInterval(() => void this.queuePeriodicReconciles(reconcileMs), reconcileMs);
    this.reconcileTimer.unref();
  }

  /** Stops hearing changes and queuing scans; resolves when running jobs have finished. */
  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    // The remote reader stays registered: the app closes the engine before its HTTP server (Nest runs module
    // destroy hooks first), and GETs of transitioned objects must keep working until the server stops. It only
    // needs the tier registry and the KMS, which close after the server.
    clearInterval(this.timer);
    clearInterval(this.reconcileTimer);
    await this.workers?.close();
    this.workers = undefined;
  }

  /** The workers (tests listen to their events). */
  get jobWorkers(): JobWorkers | undefined {
    return this.workers;
  }

  /** Throws the storage layer's BucketNotFound (or InvalidBucketName) unless `bucket` exists. */
  async requireBucket(bucket: string): Promise<void> {
    await this.layer.headBucket(bucket);
  }

  /** What the engine will do with a key's versions and uploads, and where their jobs stand. */
  async explain(bucket: string, key: string): Promise<Explanation> {
    const config = await this.rules.of(bucket);
    const versions = await this.layer.getObjectVersions(bucket, key);
    const now = Date.now();
    const out: Explanation = { bucket, key, hasRules: config !== null, versions: [], uploads: [] };
    for (let i = 0; i < versions.length; i++) {
      const v = versions[i];
      const next =
        config && nextAction(config, factsAt(versions, i), { daySeconds: this.settings.daySeconds, now });
      let job: JobReport | null = null;
      if (
        next &&
        (next.action === 'expire-current' ||
          next.action === 'expire-noncurrent' ||
          next.action === 'remove-delete-marker')
      ) {
        job = await this.jobReport(
          'expire',
          jobId('expire', { bucket, key, versionId: v.versionId, action: next.action, dueAt: next.dueAt }),
        );
      }
      out.versions.push({
        versionId: v.versionId,
        isLatest: i === 0,
        deleteMarker: v.deleteMarker,
        lastModified: v.modTime.toISOString(),
        next: next
          ? {
              action: next.action,
              ruleId: next.ruleId,
              dueAt: iso(next.dueAt),
              due: next.dueAt <= now,
              ...(next.storageClass ? { storageClass: next.storageClass } : {}),
            }
          : null,
        job,
      });
    }
    const uploads = await this.layer.listMultipartUploads(bucket, { prefix: key, maxUploads: 1000 });
    for (const u of uploads.uploads.filter((x) => x.key === key)) {
      const due =
        config &&
        abortDue(config, { key, initiated: u.initiated.getTime() }, { daySeconds: this.settings.daySeconds });
      out.uploads.push({
        uploadId: u.uploadId,
        initiated: u.initiated.toISOString(),
        abort: due ? { ruleId: due.ruleId, dueAt: iso(due.dueAt), due: due.dueAt <= now } : null,
        job: due
          ? await this.jobReport(
              'abort-multipart',
              jobId('abort-multipart', { bucket, key, uploadId: u.uploadId, dueAt: due.dueAt }),
            )
          : null,
      });
    }
    return out;
  }

  private async jobReport(kind: JobKind, id: string): Promise<JobReport | null> {
    const job = await this.queues.queue(kind).getJob(id);
    if (!job) return null;
    return {
      id,
      state: await job.getState(),
      attemptsMade: job.attemptsMade,
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
      ...(job.finishedOn ? { finishedOn: iso(job.finishedOn) } : {}),
    };
  }

  /**
   * Runs an action and records its outcome. Failures no retry can fix (an unreadable stored configuration, a
   * payload naming an invalid bucket or key) fail the job at once with UnrecoverableError; anything else (drives
   * or Redis unavailable, a lock held too long) is retried with backoff.
   */
  private async run(
    kind: JobKind,
    action: string,
    job: Job,
    token: string | undefined,
    fn: () => Promise<ActionOutcome>,
  ): Promise<void> {
    let outcome: ActionOutcome;
    try {
      outcome = await fn();
    } catch (err) {
      if (isPermanent(err)) throw new UnrecoverableError((err as Error).message);
      throw err;
    }
    if (typeof outcome === 'object') {
      // Right action, too early: back to the delayed set until it is due (not an attempt, not a failure).
      await job.moveToDelayed(outcome.notBefore, token);
      throw new DelayedError();
    }
    this.observe(kind, action, outcome);
  }

  private async queuePeriodicScan(intervalMs: number): Promise<void> {
    const slot = Math.floor(Date.now() / intervalMs) * intervalMs;
    try {
      await this.queues.add('scan', { reason: 'interval', slot });
    } catch (err) {
      logger.warn(`could not queue the periodic scan: ${(err as Error).message}`);
    }
  }

  /** Queues one reconcile per tier for the current slot (the slot's id makes it one across gateways). */
  private async queuePeriodicReconciles(intervalMs: number): Promise<void> {
    const slot = Math.floor(Date.now() / intervalMs) * intervalMs;
    for (const handle of this.tiering?.tiers.list?.() ?? []) {
      try {
        await this.queues.add('reconcile', { tier: handle.backend.name, slot });
      } catch (err) {
        logger.warn(
          `could not queue the reconcile of tier ${handle.backend.name}: ${(err as Error).message}`,
        );
      }
    }
  }

  /** Schedules after a durable change (see the header for the bounds). */
  private async onChange(change: ObjectChange): Promise<void> {
    if (this.redis.status !== 'ready') {
      if (this.redisDownSince === 0) {
        this.redisDownSince = Date.now();
        logger.warn('Redis is unreachable: changes are left to the scanner until it is back');
      }
      return;
    }
    this.redisDownSince = 0;
    // An in-place update that left every fact the rules read as it was plans nothing new (every transition's intent
    // is one): what those facts plan was queued when they first appeared, or is the scanner's to find.
    if (
      change.kind === 'object' &&
      change.updated &&
      !change.removed?.length &&
      sameRuleFacts(change.updated.before, change.updated.after)
    )
      return;
    const deletes = remoteDeletesOf(change).map((payload) => ({ payload }));
    const work = Promise.all([
      change.kind === 'upload'
        ? this.scheduler.scheduleUpload(change.bucket, change.key, change.uploadId, change.initiated)
        : change.kind === 'object'
          ? this.scheduler.scheduleKey(change.bucket, change.key, change.latest)
          : this.queues.add('scan', { reason: 'rules', bucket: change.bucket, slot: Date.now() }),
      this.queues.addMany('remote-delete', deletes),
    ]);
    if ((await Promise.race([work, this.scheduleDeadline()])) === 'timeout') {
      logger.warn(
        `scheduling after a ${change.kind} change in ${change.bucket} took over ${SCHEDULE_TIMEOUT_MS / 2} ms; left to the scanner`,
      );
      work.catch(() => undefined);
    }
  }

  /**
   * A moment between SCHEDULE_TIMEOUT_MS / 2 and SCHEDULE_TIMEOUT_MS from now, shared by the changes of the same
   * half-window: one timer for a burst of writes instead of one per write (it was a measurable share of a small PUT).
   */
  private scheduleDeadline(): Promise<'timeout'> {
    const now = performance.now(); // monotonic: a clock step must not make a fired deadline look fresh
    if (!this.deadline || this.deadline.at - now < SCHEDULE_TIMEOUT_MS / 2) {
      const promise = new Promise<'timeout'>((resolve) => {
        setTimeout(() => {
          if (this.deadline?.promise === promise) this.deadline = undefined;
          resolve('timeout');
        }, SCHEDULE_TIMEOUT_MS).unref();
      });
      this.deadline = { at: now + SCHEDULE_TIMEOUT_MS, promise };
    }
    return this.deadline.promise;
  }
}
