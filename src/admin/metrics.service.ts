/**
 * The gateway's Prometheus metrics. Request metrics are recorded as each S3 request ends (S3Gateway's `observe`
 * callback); drive and set metrics are read from ObjectLayer.status() at scrape time, so they are never stale.
 * Tier metrics are counted as the tier paths report them (GatewayMetrics is their TierObserver); queue counts and
 * lag are read from Redis at scrape time.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { RequestOutcome } from '../s3/s3-gateway';
import type { DriveStatus, ObjectLayer, StorageStatus } from '../storage/object-layer';
import { OBJECT_LAYER } from '../storage/storage.module';
import type { RemoteDeleteReason, TierObserver, TierOperation } from '../tiers/tier-observer';
import { Registry } from './prometheus';
import { withTimeout } from '../common/with-timeout';

/**
 * Latency bucket bounds in seconds: from a cached 4 KiB GET (about a millisecond) to a multi-GiB upload (minutes).
 */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/** Every state a drive can report; the state gauge writes 1 for the current one and 0 for the rest. */
export const DRIVE_STATES: readonly DriveStatus['state'][] = [
  'ok',
  'healing',
  'offline',
  'unformatted',
  'faulty',
];

/** Jobs per state per queue, as JobQueues.counts() reports them. */
export type QueueSnapshot = Record<string, Record<string, number>>;

/** Queue lag per queue in seconds, as JobQueues.lags() reports it. */
export type QueueLags = Record<string, number>;

/** How long a scrape waits for the queue counts before reporting tiergate_queue_up 0. */
export const QUEUE_SCRAPE_TIMEOUT_MS = 2_000;
const noAnswer = (): Error => new Error(`no answer in ${QUEUE_SCRAPE_TIMEOUT_MS} ms`);

/** The metric families of one gateway process, rendered as Prometheus text. */
export class GatewayMetrics implements TierObserver {
  private readonly registry = new Registry();
  private readonly requests = this.registry.counter(
    'tiergate_s3_requests_total',
    'S3 requests by operation and HTTP status.',
    ['op', 'status'],
  );
  private readonly duration = this.registry.histogram(
    'tiergate_s3_request_duration_seconds',
    'Time from the request line to the end of the response, by S3 operation.',
    ['op'],
    LATENCY_BUCKETS,
  );
  private readonly received = this.registry.counter(
    'tiergate_s3_received_bytes_total',
    'Request body bytes read from clients (as sent on the wire, aws-chunked framing included), by operation.',
    ['op'],
  );
  private readonly sent = this.registry.counter(
    'tiergate_s3_sent_bytes_total',
    'Response bytes written to clients (status line and headers included), by operation.',
    ['op'],
  );
  private readonly driveState = this.registry.gauge(
    'tiergate_drive_state',
    'Drive state: 1 for the state the drive is in, 0 for the others.',
    ['set', 'drive', 'endpoint', 'state'],
  );
  private readonly driveTotal = this.registry.gauge(
    'tiergate_drive_total_bytes',
    'Size of the file system holding the drive.',
    ['set', 'drive', 'endpoint'],
  );
  private readonly driveFree = this.registry.gauge(
    'tiergate_drive_free_bytes',
    'Bytes available to the gateway on the drive.',
    ['set', 'drive', 'endpoint'],
  );
  private readonly readQuorum = this.registry.gauge(
    'tiergate_set_read_quorum',
    '1 when the erasure set has enough drives online to read, else 0.',
    ['set'],
  );
  private readonly writeQuorum = this.registry.gauge(
    'tiergate_set_write_quorum',
    '1 when the erasure set has enough drives online to write, else 0.',
    ['set'],
  );
  private readonly drivesOnline = this.registry.gauge(
    'tiergate_set_drives_online',
    'Drives of the erasure set that are ok or healing.',
    ['set'],
  );
  private readonly lifecycleJobs = this.registry.counter(
    'tiergate_lifecycle_jobs_total',
    'Lifecycle jobs run by this process, by queue, action and outcome (done: acted; skipped: no longer due; failed: an attempt threw).',
    ['queue', 'action', 'outcome'],
  );
  private readonly queueJobs = this.registry.gauge(
    'tiergate_queue_jobs',
    'Jobs in each queue by state, read from Redis at scrape time.',
    ['queue', 'state'],
  );
  private readonly queueUp = this.registry.gauge(
    'tiergate_queue_up',
    '1 when the queue counts could be read from Redis for this scrape, else 0.',
  );
  private readonly queueLag = this.registry.gauge(
    'tiergate_queue_lag_seconds',
    'How long the most overdue job of each queue has been waiting to start (0: none is), read at scrape time.',
    ['queue'],
  );
  private readonly tierTransitioned = this.registry.counter(
    'tiergate_tier_transitioned_objects_total',
    'Versions moved to each tier by this process.',
    ['tier'],
  );
  private readonly tierTransitionedBytes = this.registry.counter(
    'tiergate_tier_transitioned_bytes_total',
    'Plaintext bytes of the versions moved to each tier by this process.',
    ['tier'],
  );
  private readonly tierReads = this.registry.counter(
    'tiergate_tier_read_through_total',
    'Reads of transitioned versions served from each tier to the end of their stream.',
    ['tier'],
  );
  private readonly tierReadBytes = this.registry.counter(
    'tiergate_tier_read_through_bytes_total',
    'Plaintext bytes served from each tier by those reads.',
    ['tier'],
  );
  private readonly tierRestored = this.registry.counter(
    'tiergate_tier_restored_objects_total',
    'Versions copied back from each tier into the erasure set.',
    ['tier'],
  );
  private readonly tierRestoredBytes = this.registry.counter(
    'tiergate_tier_restored_bytes_total',
    'Plaintext bytes of the versions copied back from each tier.',
    ['tier'],
  );
  private readonly tierDeleted = this.registry.counter(
    'tiergate_tier_remote_deleted_objects_total',
    'Remote objects deleted from each tier, by reason (version-removed: its version was deleted, overwritten or expired; orphan: the reconciler found nothing referencing it).',
    ['tier', 'reason'],
  );
  private readonly tierDeletedBytes = this.registry.counter(
    'tiergate_tier_remote_deleted_bytes_total',
    'Bytes (as stored in the tier) of the remote objects deleted, by reason.',
    ['tier', 'reason'],
  );
  private readonly tierUploadsAborted = this.registry.counter(
    'tiergate_tier_uploads_aborted_total',
    'Multipart uploads the reconciler aborted in each tier (left open by a transition that died mid-upload; no version references their key).',
    ['tier'],
  );
  private readonly tierFailures = this.registry.counter(
    'tiergate_tier_failures_total',
    'Failed attempts of tier operations (transition, read, restore, remote-delete, reconcile), per tier; retried ones included.',
    ['tier', 'operation'],
  );
  private readonly statusUp = this.registry.gauge(
    'tiergate_storage_status_up',
    '1 when the storage status could be read for this scrape, else 0 (drive and set series are then absent).',
  );

  /** Records one finished S3 request. */
  record(outcome: RequestOutcome): void {
    const op = outcome.op;
    this.requests.inc({ op, status: outcome.status });
    this.duration.observe({ op }, outcome.durationMs / 1000);
    if (outcome.bytesIn > 0) this.received.inc({ op }, outcome.bytesIn);
    if (outcome.bytesOut > 0) this.sent.inc({ op }, outcome.bytesOut);
  }

  /** Records one lifecycle job's outcome. */
  lifecycleJob(queue: string, action: string, outcome: string): void {
    this.lifecycleJobs.inc({ queue, action, outcome });
  }

  /** TierObserver: a version moved to `tier`. */
  transitioned(tier: string, bytes: number): void {
    this.tierTransitioned.inc({ tier });
    this.tierTransitionedBytes.inc({ tier }, bytes);
  }

  /** TierObserver: a read-through served `bytes` from `tier`. */
  readThrough(tier: string, bytes: number): void {
    this.tierReads.inc({ tier });
    this.tierReadBytes.inc({ tier }, bytes);
  }

  /** TierObserver: a version was copied back from `tier`. */
  restored(tier: string, bytes: number): void {
    this.tierRestored.inc({ tier });
    this.tierRestoredBytes.inc({ tier }, bytes);
  }

  /** TierObserver: a remote object was deleted from `tier`. */
  remoteDeleted(tier: string, bytes: number, reason: RemoteDeleteReason): void {
    this.tierDeleted.inc({ tier, reason });
    this.tierDeletedBytes.inc({ tier, reason }, bytes);
  }

  /** TierObserver: the reconciler aborted a multipart upload left open in `tier`. */
  uploadAborted(tier: string): void {
    this.tierUploadsAborted.inc({ tier });
  }

  /** TierObserver: an attempt of `operation` on `tier` failed. */
  failed(tier: string, operation: TierOperation): void {
    this.tierFailures.inc({ tier, operation });
  }

  /**
   * The text exposition for one scrape, with drive and set series from `status` (undefined when reading it
   * failed) and queue series from `queues` and `lags` (undefined when the queues are not attached or could not be
   * read). Synchronous from the reset to the render, so concurrent scrapes never see half-filled gauges.
   */
  render(status: StorageStatus | undefined, queues?: QueueSnapshot | null, lags?: QueueLags | null): string {
    this.queueJobs.reset();
    this.queueUp.reset();
    this.queueLag.reset();
    for (const [queue, seconds] of Object.entries(lags ?? {})) this.queueLag.set({ queue }, seconds);
    if (queues !== undefined) this.queueUp.set({}, queues === null ? 0 : 1);
    for (const [queue, counts] of Object.entries(queues ?? {}))
      for (const [state, n] of Object.entries(counts)) this.queueJobs.set({ queue, state }, n);
    for (const g of [this.driveState, this.driveTotal, this.driveFree]) g.reset();
    for (const g of [this.readQuorum, this.writeQuorum, this.drivesOnline]) g.reset();
    this.statusUp.set({}, status === undefined ? 0 : 1);
    for (const set of status?.sets ?? []) {
      const setLabel = { set: set.index };
      this.readQuorum.set(setLabel, set.readQuorum ? 1 : 0);
      this.writeQuorum.set(setLabel, set.writeQuorum ? 1 : 0);
      this.drivesOnline.set(
        setLabel,
        set.drives.filter((d) => d.state === 'ok' || d.state === 'healing').length,
      );
      for (const d of set.drives) {
        const labels = { set: set.index, drive: d.driveIndex, endpoint: d.endpoint };
        for (const state of DRIVE_STATES)
          this.driveState.set({ ...labels, state }, d.state === state ? 1 : 0);
        if (d.totalBytes !== undefined) this.driveTotal.set(labels, d.totalBytes);
        if (d.freeBytes !== undefined) this.driveFree.set(labels, d.freeBytes);
      }
    }
    return this.registry.render();
  }
}

/** The process's GatewayMetrics as a Nest provider, bound to the ObjectLayer it reports on. */
@Injectable()
export class MetricsService extends GatewayMetrics {
  constructor(@Inject(OBJECT_LAYER) private readonly layer: ObjectLayer) {
    super();
  }

  private queues: (() => Promise<QueueSnapshot>) | undefined;
  private lags: (() => Promise<QueueLags>) | undefined;

  /** Reports the queues' counts (and lags) at every scrape from now on (the lifecycle module attaches them). */
  attachQueues(counts: () => Promise<QueueSnapshot>, lags?: () => Promise<QueueLags>): void {
    this.queues = counts;
    this.lags = lags;
  }

  /** Renders the metrics with a fresh storage status and queue counts (null if Redis does not answer in time). */
  async scrape(): Promise<string> {
    const [status, queues, lags] = await Promise.all([
      this.layer.status().catch(() => undefined),
      this.queues
        ? withTimeout(this.queues(), QUEUE_SCRAPE_TIMEOUT_MS, noAnswer).catch(() => null)
        : undefined,
      this.lags ? withTimeout(this.lags(), QUEUE_SCRAPE_TIMEOUT_MS, noAnswer).catch(() => null) : undefined,
    ]);
    return this.render(status, queues, lags);
  }
}
