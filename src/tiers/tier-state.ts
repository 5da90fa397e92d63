/**
 * What a version records about its copy in a tier (ObjectVersion.tier, opaque to storage), and what the remote
 * object carries so a version's metadata can be rebuilt from the tier alone.
 *
 * A version goes through two states, each committed by quorum with a compare-and-swap on the version:
 * - `transitioning` (the intent): the tier and the remote key are chosen before any byte leaves, so a crash at
 *   any later point finds them, and the retry overwrites the same remote key (or the reconciler removes it);
 * - `transitioned`: the remote object is complete and verified; the local shards are then released
 *   (`ObjectLayer.releaseVersionData`). It holds the envelope header (sealed data key, KMS key id, nonce prefix):
 *   the read path needs it to plan a ranged fetch without reading the header from the tier first.
 *
 * A transitioned version may carry a `restore` (RestoreObject, lifecycle/engine/restore.ts): while `ongoing` the
 * version is still remote and a copy-back job is queued; once done the version has a local copy again (no
 * `remote`) until `expiry`, when the local copy is released and the record goes back to plain `transitioned`. The
 * status stays `transitioned` throughout: the bytes in the tier are never touched by a restore.
 *
 * Remote keys are opaque (`<prefix>` + a random UUID, never the user's key name). The remote object's metadata
 * names its source (bucket, key, version id, size, ETag) in base64url JSON, and its first bytes are the envelope
 * header, so the version can be rebuilt from the tier.
 */
import { randomUUID } from 'node:crypto';
import type { ObjectInfo } from '../storage/object-layer';

/** The intent: the tier and remote key are chosen, bytes may be on their way. */
export interface TransitioningState {
  readonly tier: string;
  readonly status: 'transitioning';
  readonly remoteKey: string;
  /** Epoch ms the intent was recorded. */
  readonly startedAt: number;
  readonly [field: string]: unknown;
}

/** The version's bytes are in the tier, encrypted; its local shards are released (or about to be). */
export interface TransitionedState {
  readonly tier: string;
  readonly status: 'transitioned';
  readonly remoteKey: string;
  /** ETag (and version id, on a versioned bucket) the tier gave the remote object. */
  readonly remoteEtag: string;
  readonly remoteVersionId?: string;
  /** The envelope header, base64: sealed data key, KMS key id, nonce prefix. */
  readonly header: string;
  /** Bytes of the remote object (header and packages). */
  readonly cipherSize: number;
  readonly transitionedAt: number;
  /**
   * The cloud storage class the remote object was written in (a tier's class may be edited later; records written
   * before this was kept lack it, and the tier's current class stands in for it).
   */
  readonly storageClass?: string;
  readonly [field: string]: unknown;
}

/** The class the remote object of `record` was written in: its own record's, else the tier's current one. */
export function writtenClass(record: TransitionedState, tierClass: string): string {
  return typeof record.storageClass === 'string' ? record.storageClass : tierClass;
}

/** A RestoreObject of a transitioned version (TransitionedState.restore). */
export interface RestoreState {
  /** True from the request until the local copy is committed. */
  readonly ongoing: boolean;
  /** Days asked for (the last request's, after an extension). */
  readonly days: number;
  /** Epoch ms of the request that started the copy-back: names its job, so a stale job finds a newer request. */
  readonly requestedAt: number;
  /** Epoch ms the local copy expires (set once restored). */
  readonly expiry?: number;
}

/** A version's tier state as the tiering code reads it. */
export type TierRecord = TransitioningState | TransitionedState;

/** Metadata key of the remote object naming its source version. */
export const SOURCE_METADATA_KEY = 'tiergate-source';

/** The encryption context of a version's data key: it binds the key to exactly this version. */
export function dataKeyContext(
  info: Pick<ObjectInfo, 'bucket' | 'key' | 'versionId'>,
): Record<string, string> {
  return { bucket: info.bucket, key: info.key, version: info.versionId };
}

/** A fresh opaque remote key. */
export function newRemoteKey(): string {
  return randomUUID();
}

/** The remote object's self-describing metadata (ASCII only: the user's key may be any UTF-8). */
export function sourceMetadata(info: ObjectInfo): Record<string, string> {
  const source = {
    bucket: info.bucket,
    key: info.key,
    versionId: info.versionId,
    size: info.size,
    etag: info.etag,
    modTime: info.modTime.getTime(),
  };
  return { [SOURCE_METADATA_KEY]: Buffer.from(JSON.stringify(source)).toString('base64url') };
}

/** The tier state of `info` when it is (being) transitioned, else undefined. */
export function tierRecordOf(info: Pick<ObjectInfo, 'tier'>): TierRecord | undefined {
  const t = info.tier;
  if (!t || typeof t.remoteKey !== 'string') return undefined;
  if (t.status === 'transitioning' || t.status === 'transitioned') return t as unknown as TierRecord;
  return undefined;
}

/** The restore state of a transitioned version, else undefined. */
export function restoreStateOf(info: Pick<ObjectInfo, 'tier'>): RestoreState | undefined {
  const record = tierRecordOf(info);
  if (record?.status !== 'transitioned') return undefined;
  const r = record.restore as Partial<RestoreState> | undefined;
  if (!r || typeof r.ongoing !== 'boolean' || typeof r.requestedAt !== 'number' || typeof r.days !== 'number')
    return undefined;
  return r as RestoreState;
}
