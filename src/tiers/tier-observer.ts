/**
 * TierObserver: what the tier paths tell the metrics (admin/metrics.service.ts implements it). The transition, the
 * read-through, the restore, the remote delete and the reconciler each report what they moved (the reconciler: what
 * it removed and the uploads it aborted), per tier, and every failed attempt with its operation, so a tier that is
 * down shows as failures climbing while nothing moves.
 * Observers only count: they must not throw, and nothing waits on them.
 */

/** A tier operation that can fail. */
export type TierOperation = 'transition' | 'read' | 'restore' | 'remote-delete' | 'reconcile';

/** Why a remote object was removed: its version went (delete, overwrite, expiry), or the reconciler found it orphaned. */
export type RemoteDeleteReason = 'version-removed' | 'orphan';

/** Hears the tier paths' outcomes. */
export interface TierObserver {
  /** A version's bytes (`bytes`: its plaintext size) are now in `tier`. */
  transitioned(tier: string, bytes: number): void;
  /** A read-through served `bytes` plaintext bytes from `tier` to the end of the stream. */
  readThrough(tier: string, bytes: number): void;
  /** A version's bytes (`bytes`) were copied back from `tier` into the erasure set. */
  restored(tier: string, bytes: number): void;
  /** A remote object of `bytes` bytes (as the tier stores it) was deleted from `tier`. */
  remoteDeleted(tier: string, bytes: number, reason: RemoteDeleteReason): void;
  /** The reconciler aborted a multipart upload left open in `tier` (its parts are deleted). */
  uploadAborted(tier: string): void;
  /** One attempt of `operation` on `tier` failed (it may be retried). */
  failed(tier: string, operation: TierOperation): void;
}

/** An observer that counts nothing (no metrics attached). */
export const NO_TIER_OBSERVER: TierObserver = Object.freeze({
  transitioned: () => undefined,
  readThrough: () => undefined,
  restored: () => undefined,
  remoteDeleted: () => undefined,
  uploadAborted: () => undefined,
  failed: () => undefined,
});
