/**
 * Scheduling without full scans (DESIGN.md section 3): after every change to a key (a write, a delete, a tag
 * update; not an in-place update that changed no fact the rules read, see LifecycleEngine.onChange) and for every
 * version the scanner walks, the next due action is computed and queued as a delayed job
 * whose id is its identity (bucket, key, version, action, due time). Scheduling the same action twice, from two
 * writes, the scanner or two gateways, adds one job.
 *
 * Invariants:
 * - Only what the rules say now is queued; a job queued under older rules or facts is harmless, because its handler
 *   re-checks under the object lock that its action is still due for that exact version (actions.ts).
 * - Expirations go to the `expire` queue, transitions (to a tier, by its storage class) to `transition`.
 */
import { isStorageError } from '../../storage/errors';
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { ExpireJob, TransitionJob } from '../queues/job-types';
import type { JobQueues } from '../queues/job-queues';
import { abortDue, type DueAction, nextAction } from '../rules/evaluate';
import type { LifecycleConfiguration } from '../rules/lifecycle-config';
import type { BucketRules } from './bucket-rules';
import { factsAt } from './version-facts';

/** An action planned for one version. */
export interface PlannedAction extends DueAction {
  versionId: string;
}

/** The expiration actions (the ones an `expire` job carries). */
const EXPIRE_ACTIONS: ReadonlySet<string> = new Set<ExpireJob['action']>([
  'expire-current',
  'expire-noncurrent',
  'remove-delete-marker',
]);

/** True when an Enabled rule acts on noncurrent versions (their schedule changes when a new version arrives). */
export function actsOnNoncurrent(config: LifecycleConfiguration): boolean {
  return config.rules.some(
    (r) =>
      r.status === 'Enabled' &&
      (r.noncurrentVersionExpiration !== undefined || r.noncurrentVersionTransitions.length > 0),
  );
}

/** Computes and queues lifecycle actions. */
export class LifecycleScheduler {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly queues: JobQueues,
    private readonly rules: BucketRules,
    private readonly daySeconds: number,
  ) {}

  /** The next action of each version of one key (newest first), by the rules of `config`, evaluated at `now`. */
  plan(config: LifecycleConfiguration, versions: readonly ObjectInfo[], now: number): PlannedAction[] {
    const out: PlannedAction[] = [];
    for (let i = 0; i < versions.length; i++) {
      const next = nextAction(config, factsAt(versions, i), { daySeconds: this.daySeconds, now });
      if (next) out.push({ ...next, versionId: versions[i].versionId });
    }
    return out;
  }

  /** Queues the planned actions of one key (expirations and transitions); returns how many jobs were asked for. */
  async enqueue(
    bucket: string,
    key: string,
    planned: readonly PlannedAction[],
    now: number,
  ): Promise<number> {
    const expire = planned.filter((p) => EXPIRE_ACTIONS.has(p.action));
    const transition = planned.filter((p) => !EXPIRE_ACTIONS.has(p.action) && p.storageClass !== undefined);
    await Promise.all([
      this.queues.addMany(
        'expire',
        expire.map((p) => ({
          payload: {
            bucket,
            key,
            versionId: p.versionId,
            action: p.action as ExpireJob['action'],
            dueAt: p.dueAt,
          },
          delay: p.dueAt - now,
        })),
      ),
      this.queues.addMany(
        'transition',
        transition.map((p) => ({
          payload: {
            bucket,
            key,
            versionId: p.versionId,
            action: p.action as TransitionJob['action'],
            storageClass: p.storageClass!,
            dueAt: p.dueAt,
          },
          delay: p.dueAt - now,
        })),
      ),
    ]);
    return expire.length + transition.length;
  }

  /**
   * Re-plans one key after a change to it; returns the number of jobs asked for (0 when the bucket has no rules).
   * `latest` is the key's latest version when the write knows it (ObjectChange.latest): then only a versioned
   * bucket whose rules act on noncurrent versions needs the key's other versions read.
   */
  async scheduleKey(bucket: string, key: string, latest?: ObjectInfo | null): Promise<number> {
    const config = await this.rules.of(bucket);
    if (!config || latest === null) return 0;
    let versions: ObjectInfo[];
    const versioned = (await this.layer.getBucketVersioning(bucket)) !== 'Unversioned';
    if (latest && !latest.deleteMarker && (!versioned || !actsOnNoncurrent(config))) {
      versions = [latest];
    } else if (!versioned) {
      try {
        versions = [await this.layer.getObjectInfo(bucket, key)];
      } catch (err) {
        if (isStorageError(err, 'ObjectNotFound')) return 0;
        throw err;
      }
    } else {
      versions = await this.layer.getObjectVersions(bucket, key);
    }
    const now = Date.now();
    return this.enqueue(bucket, key, this.plan(config, versions, now), now);
  }

  /** Queues the abort of a new multipart upload when a rule will ask for it; returns the jobs asked for. */
  async scheduleUpload(bucket: string, key: string, uploadId: string, initiated: Date): Promise<number> {
    const config = await this.rules.of(bucket);
    if (!config) return 0;
    return this.enqueueAbort(config, bucket, key, uploadId, initiated, Date.now());
  }

  /** Queues one upload's abort if a rule asks for it. */
  async enqueueAbort(
    config: LifecycleConfiguration,
    bucket: string,
    key: string,
    uploadId: string,
    initiated: Date,
    now: number,
  ): Promise<number> {
    const due = abortDue(config, { key, initiated: initiated.getTime() }, { daySeconds: this.daySeconds });
    if (!due) return 0;
    // Batched with the adds of the same turn (a scan asks for a page's at once).
    await this.queues.addMany('abort-multipart', [
      { payload: { bucket, key, uploadId, dueAt: due.dueAt }, delay: due.dueAt - now },
    ]);
    return 1;
  }
}
