/**
 * The transition action (DESIGN.md section 3, "Transition protocol"): one version's bytes move to a tier,
 * encrypted with a fresh data key, and the local shards are released only once the remote copy is verified.
 *
 * Steps, under the Redis lock of the object (held, and extended, for the whole upload):
 * 1. re-check: the version exists, is not a delete marker, and the bucket's current rules still ask for this
 *    transition to this tier, due now (else `skipped`, or `early`);
 * 2. intent: a compare-and-swap records `{tier, status: 'transitioning', remoteKey}` on the version, with a fresh
 *    remote key for every attempt (replacing an earlier attempt's intent), so an attempt that lost its lock and
 *    still runs can neither overwrite this attempt's object nor commit its own;
 * 3. upload: the version's bytes stream from the erasure set through the envelope encryptor (a data key from the
 *    KMS bound to bucket, key and version) into the tier, multipart for large objects; bounded memory (a large
 *    object's upload first waits until its part buffers fit the process's budget of upload memory);
 * 4. verify: a single PutObject's ETag must be the MD5 of exactly the bytes sent (its receipt); otherwise the tier's
 *    HEAD must show the exact envelope length and the upload's ETag;
 * 5. commit and free: `releaseVersionData` swaps in `{status: 'transitioned', header, ...}` only if the version is
 *    still the same (ETag, time, and our remote key in its intent), commits it by quorum, then deletes the shards.
 *
 * A crash anywhere leaves the version readable: before step 5 it is local (an intent at most, and perhaps a remote
 * object no version references, which the reconciler removes once it is older than its grace); after, it is remote
 * and complete. The intent keeps naming the key of the last attempt, so the reconciler never removes an upload that
 * may still be in flight.
 *
 * An intent no attempt will follow up is dropped (`dropIntent`), so it cannot keep its tier referenced (a tier with
 * references cannot be removed): by the job that finds the transition no longer due or fails it for good, under
 * the object's lock, and otherwise by the reconciler once the intent is older than its grace and its object's lock
 * is free. Dropping is safe whenever no attempt holds the lock: an attempt that lost its lock and still runs finds
 * its intent gone at commit, and its upload is an orphan the reconciler removes.
 */
import type { Readable } from 'node:stream';
import { ByteBudget } from '../../common/byte-budget';
import { encryptStream } from '../../kms/envelope/encrypt-stream';
import { ciphertextLength, envelopeHeaderLength } from '../../kms/envelope/envelope-format';
import type { KmsProvider } from '../../kms/kms-provider';
import { isStorageError } from '../../storage/errors';
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { ObjectVersion } from '../../storage/meta/version';
import { missingTier, type TierLookup } from '../../tiers/read-through';
import type { TierBackend } from '../../tiers/tier-backend';
import { TierError } from '../../tiers/tier-error';
import { NO_TIER_OBSERVER, type TierObserver } from '../../tiers/tier-observer';
import {
  dataKeyContext,
  newRemoteKey,
  sourceMetadata,
  tierRecordOf,
  type TransitionedState,
  type TransitioningState,
} from '../../tiers/tier-state';
import type { TransitionJob } from '../queues/job-types';

/** A transition cannot go ahead and no retry will change that (the tier is not configured). */
export class TransitionRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransitionRefusedError';
  }
}

/** Same version, unchanged since `info` was read: the compare of every compare-and-swap here. */
function unchanged(cur: ObjectVersion, info: ObjectInfo): boolean {
  return cur.etag === info.etag && cur.modTime === info.modTime.getTime() && cur.size === info.size;
}

/**
 * Removes the `transitioning` intent (the one naming `remoteKey`, when given) from a local version (a compare-and-swap: any other state,
 * a newer intent, a transitioned record, is left alone). The caller holds the object's Redis lock, or knows no
 * attempt does. True when an intent was removed; false when there was none to remove (or the version is gone).
 */
export async function dropIntent(
  layer: ObjectLayer,
  target: { bucket: string; key: string; versionId: string },
  /** The intent's remote key; undefined drops whatever intent the version has. */
  remoteKey?: string,
): Promise<boolean> {
  let dropped = false;
  try {
    await layer.updateObjectVersion(target.bucket, target.key, target.versionId, (cur) => {
      const intent = tierRecordOf({ tier: cur.tier });
      if (cur.remote || intent?.status !== 'transitioning') return null;
      if (remoteKey !== undefined && intent.remoteKey !== remoteKey) return null;
      const next = { ...cur };
      delete next.tier;
      dropped = true;
      return next;
    });
    return dropped;
  } catch (err) {
    if (isStorageError(err, 'ObjectNotFound', 'VersionNotFound', 'BucketNotFound')) return false;
    throw err;
  }
}

/**
 * Default bytes of upload buffers all of a process's transitions may hold at once: four S3 multipart uploads at the
 * default 2 parts of 8 MiB, or two OSS ones (which hold a third part while cutting it).
 */
export const TRANSITION_UPLOAD_MEMORY = 64 * 1024 * 1024;

/** Moves versions to tiers (the caller holds the object's Redis lock and has re-checked that it is due). */
export class Transitioner {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly tiers: TierLookup,
    private readonly kms: KmsProvider,
    /** Counts transitions done (objects, plaintext bytes) and failed attempts, per tier. */
    private readonly observer: TierObserver = NO_TIER_OBSERVER,
    /**
     * What the uploads of transitions running at once may buffer together (TierBackend.putMemory): a large
     * object's upload waits for its parts' room; a small one streams through and never waits. Memory is bounded
     * by this, not by how many transitions run at once.
     */
    private readonly uploadMemory: ByteBudget = new ByteBudget(TRANSITION_UPLOAD_MEMORY),
  ) {}

  /** Runs steps 2 to 5 for `info` (a local version the rules say is due for `job.storageClass`). */
  async run(job: TransitionJob, info: ObjectInfo): Promise<'done' | 'skipped'> {
    const tier = this.tiers.get(job.storageClass);
    if (!tier) throw missingTier(this.tiers, job.storageClass, (m) => new TransitionRefusedError(m));
    // A removal is checking references and may yet be refused: not a permanent failure; the job backs off.
    if (tier.state === 'removing') throw new Error(`tier ${job.storageClass} is being removed`);
    // The lease keeps the backend open for the whole upload, even if the tier's keys are rotated meanwhile.
    let outcome: 'done' | 'skipped';
    try {
      outcome = await this.tiers.use(job.storageClass, ({ backend }) => this.move(job, info, backend));
    } catch (err) {
      // The version changed or went meanwhile (the action counts it skipped): not a failure of the tier.
      if (!isStorageError(err, 'PreconditionFailed', 'ObjectNotFound', 'VersionNotFound', 'BucketNotFound'))
        this.observer.failed(job.storageClass, 'transition');
      throw err;
    }
    if (outcome === 'done') this.observer.transitioned(job.storageClass, info.size);
    return outcome;
  }

  private async move(
    job: TransitionJob,
    info: ObjectInfo,
    backend: TierBackend,
  ): Promise<'done' | 'skipped'> {
    // 2. The intent: a fresh remote key for every attempt. A retry never writes under a key an earlier attempt
    // may still be writing (a stalled attempt whose lock lapsed, a GC pause): that attempt's commit then fails its
    // compare-and-swap, and whatever it uploaded is an unreferenced object the reconciler removes after the grace.
    const remoteKey = newRemoteKey();
    const intent: TransitioningState = {
      tier: job.storageClass,
      status: 'transitioning',
      remoteKey,
      startedAt: Date.now(),
    };
    const ok = await this.layer
      .updateObjectVersion(job.bucket, job.key, job.versionId, (cur) =>
        unchanged(cur, info) &&
        !cur.remote &&
        (cur.tier === undefined || tierRecordOf({ tier: cur.tier })?.status === 'transitioning')
          ? { ...cur, tier: { ...intent } }
          : null,
      )
      .then((after) => tierRecordOf(after)?.remoteKey === remoteKey);
    if (!ok) return 'skipped';

    // 3. Upload the encrypted bytes, once the upload's buffers fit the budget (the source is opened only then).
    let header: Buffer;
    let put: Awaited<ReturnType<typeof backend.put>>;
    const dataKey = await this.kms.generateDataKey(dataKeyContext(info));
    const keyFields = { keyId: dataKey.keyId, sealedKey: dataKey.sealed };
    const cipherSize = ciphertextLength(info.size, envelopeHeaderLength(keyFields));
    let stream: Readable | undefined;
    let release: (() => void) | undefined;
    try {
      release = await this.uploadMemory.acquire(backend.putMemory(cipherSize));
      ({ stream } = await this.layer.getObject(job.bucket, job.key, { versionId: job.versionId }));
      const encrypted = encryptStream(stream, dataKey.plaintext, keyFields);
      header = encrypted.header.bytes;
      put = await backend.put(remoteKey, encrypted, { size: cipherSize, metadata: sourceMetadata(info) });
    } finally {
      dataKey.destroy();
      // A multipart upload stops reading once it has the declared size, before the source reports its end: the
      // read stream (and the read lock it holds on the object) must be let go here, or the commit below waits.
      stream?.destroy();
      release?.();
    }

    // 4. Verify what the tier holds.
    // A single PutObject answered with the MD5 of exactly the bytes sent as its ETag is the cloud's receipt for them.
    // Otherwise (a multipart ETag; a bucket that encrypts with its own KMS key, whose ETags are no MD5): ask, and
    // check the exact length and the ETag the upload was given, so a torn upload fails before anything commits.
    const etag = (e: string): string => e.replace(/"/g, '').toLowerCase();
    const receipt = put.md5 !== undefined && put.size === cipherSize && etag(put.etag) === put.md5;
    if (!receipt) {
      const remote = await backend.head(remoteKey);
      if (
        !remote ||
        remote.size !== cipherSize ||
        (put.etag !== '' && remote.etag !== '' && etag(put.etag) !== etag(remote.etag))
      ) {
        throw new TierError(
          'Unavailable',
          `tier ${job.storageClass} holds ${remote?.size ?? 'nothing'} bytes (ETag ${remote?.etag ?? '-'}) at ` +
            `${remoteKey}, expected ${cipherSize} (ETag ${put.etag})`,
          { tier: job.storageClass },
        );
      }
    }

    // 5. Commit the transitioned record, then free the local shards.
    const state: TransitionedState = {
      tier: job.storageClass,
      status: 'transitioned',
      remoteKey,
      remoteEtag: put.etag,
      ...(put.versionId ? { remoteVersionId: put.versionId } : {}),
      header: header.toString('base64'),
      cipherSize,
      transitionedAt: Date.now(),
      storageClass: backend.storageClass,
    };
    await this.layer.releaseVersionData(job.bucket, job.key, job.versionId, (cur) => {
      const intent = tierRecordOf({ tier: cur.tier });
      if (!unchanged(cur, info) || intent?.status !== 'transitioning' || intent.remoteKey !== remoteKey)
        return null;
      return { ...cur, tier: { ...state } };
    });
    return 'done';
  }
}
