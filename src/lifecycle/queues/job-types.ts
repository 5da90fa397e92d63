/**
 * The job catalogue: every kind of queued work, its payload, and the tuple that identifies one job. One BullMQ
 * queue per kind (DESIGN.md section 3), named after it; a job's name is its kind. Later kinds (restore,
 * remote-delete, heal) are added here, and the compiler then asks for their handlers (JobHandlers is total).
 */
import type { LifecycleAction } from '../rules/evaluate';

/** Every kind of job, in the order their queues are opened. */
export const JOB_KINDS = [
  'expire',
  'transition',
  'abort-multipart',
  'scan',
  'restore',
  'remote-delete',
  'reconcile',
] as const;

/** A kind of job; also the name of its queue and of its jobs. */
export type JobKind = (typeof JOB_KINDS)[number];

/** An expiration action on one exact version, due at `dueAt`. */
export interface ExpireJob {
  bucket: string;
  key: string;
  versionId: string;
  action: Extract<LifecycleAction, 'expire-current' | 'expire-noncurrent' | 'remove-delete-marker'>;
  /** Epoch ms the action became due; part of the identity, so a rescheduled action is a new job. */
  dueAt: number;
}

/** A transition of one exact version to a tier (a storage class of ours), due at `dueAt`. */
export interface TransitionJob {
  bucket: string;
  key: string;
  versionId: string;
  action: Extract<LifecycleAction, 'transition' | 'transition-noncurrent'>;
  /** The tier's name, as the rule's StorageClass names it. */
  storageClass: string;
  dueAt: number;
}

/** AbortIncompleteMultipartUpload of one upload. */
export interface AbortMultipartJob {
  bucket: string;
  key: string;
  uploadId: string;
  dueAt: number;
}

/** One pass of the lifecycle scanner over the namespace (or one bucket). */
export interface ScanJob {
  /** Why it runs: the periodic backstop, or a bucket's lifecycle configuration changed. */
  reason: 'interval' | 'rules';
  bucket?: string;
  /** Epoch ms identifying the pass (the interval slot, or the time of the change), so one pass runs once. */
  slot: number;
}

/**
 * RestoreObject work on one transitioned version (lifecycle/engine/restore.ts): `restore` copies the bytes back
 * from the tier (after the cloud-side restore of an archive class); `expire-restore` releases the local copy again
 * once its expiry has passed. `at` is the request's time (restore) or the expiry (expire-restore).
 */
export interface RestoreJob {
  bucket: string;
  key: string;
  versionId: string;
  action: 'restore' | 'expire-restore';
  at: number;
}

/**
 * Removal of one remote object whose version is gone (deleted, overwritten, expired). The source names the key whose
 * versions are re-checked before deleting: remote keys are per version, so only that key's versions can refer to it.
 */
export interface RemoteDeleteJob {
  tier: string;
  /** Opaque key under the tier prefix. */
  remoteKey: string;
  bucket: string;
  key: string;
  versionId: string;
}

/** One reconciler pass over a tier's prefix (remote-reconcile: orphans older than the grace are removed). */
export interface ReconcileJob {
  tier: string;
  /** Epoch ms of the interval slot, so one pass per tier per slot runs across every gateway. */
  slot: number;
}

/** The payload of each kind. */
export interface JobPayloads {
  expire: ExpireJob;
  transition: TransitionJob;
  'abort-multipart': AbortMultipartJob;
  scan: ScanJob;
  restore: RestoreJob;
  'remote-delete': RemoteDeleteJob;
  reconcile: ReconcileJob;
}

/**
 * What identifies a job of each kind: two adds with the same identity are one job (BullMQ keeps the first), so
 * writes, rule changes, the scanner and several gateways may all schedule the same action safely.
 */
export const JOB_IDENTITY: { [K in JobKind]: (p: JobPayloads[K]) => readonly (string | number)[] } = {
  expire: (p) => [p.bucket, p.key, p.versionId, p.action, p.dueAt],
  transition: (p) => [p.bucket, p.key, p.versionId, p.action, p.storageClass, p.dueAt],
  'abort-multipart': (p) => [p.bucket, p.key, p.uploadId, p.dueAt],
  scan: (p) => [p.reason, p.bucket ?? '', p.slot],
  restore: (p) => [p.bucket, p.key, p.versionId, p.action, p.at],
  'remote-delete': (p) => [p.tier, p.remoteKey],
  reconcile: (p) => [p.tier, p.slot],
};
