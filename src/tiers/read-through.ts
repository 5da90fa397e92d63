/**
 * Read-through of transitioned versions: the ObjectLayer's RemoteReader. A GET (whole or ranged) of a version whose
 * bytes are only in a tier fetches exactly the envelope packages the range needs (rangePlan), unseals the data key
 * with the KMS under the version's own encryption context, and streams out authenticated plaintext only: a package
 * that fails authentication destroys the stream, so ciphertext or tampered bytes are never served as data.
 *
 * Archive classes (GLACIER, DEEP_ARCHIVE, Archive, ColdArchive) cannot be read until restored: InvalidObjectState.
 *
 * A read holds a lease on its tier (TierLookup.use) for as long as its stream lives, so a credential rotation
 * never cuts off a long GET: the retired backend stays open until the last read through it is done.
 *
 * The optional TierObserver counts the plaintext bytes of each read that reaches its end, and each read that fails
 * (before the stream, or while it flows).
 */
import { finished, type Readable } from 'node:stream';
import { decryptRange } from '../kms/envelope/decrypt-range';
import { parseEnvelopeHeader } from '../kms/envelope/envelope-format';
import { rangePlan } from '../kms/envelope/range-plan';
import type { KmsProvider } from '../kms/kms-provider';
import { storageError } from '../storage/errors';
import type { ByteRange, ObjectInfo, RemoteReader } from '../storage/object-layer';
import type { TierBackend } from './tier-backend';
import { TierError } from './tier-error';
import { NO_TIER_OBSERVER, type TierObserver } from './tier-observer';
import { dataKeyContext, tierRecordOf, writtenClass } from './tier-state';

/** A tier as the transition and read paths need it. */
export interface TierHandle {
  readonly backend: TierBackend;
  /** `removing`: a removal is checking references; reads work, no new transition may start. */
  readonly state?: 'active' | 'removing';
}

/** Finds tiers by name: the tier registry (TierRegistry satisfies this), or a fixed set in tests. */
export interface TierLookup {
  get(name: string): TierHandle | undefined;
  /** Runs `fn` with the tier, keeping its backend open until `fn` settles, even across a credential rotation. */
  use<T>(name: string, fn: (tier: TierHandle) => Promise<T>): Promise<T>;
  /** Every tier (the reconciler's periodic pass walks them); a lookup without it has none to reconcile. */
  list?(): readonly TierHandle[];
  /**
   * Whether `name` is a stored tier even when `get` has no backend for it (its keys did not unseal on this node,
   * the KMS being down at boot): work on it is then retried, not refused for good.
   */
  isStored?(name: string): boolean;
}

/**
 * The error for a tier `get` does not have: retryable (TierError Unavailable, a 503 to clients) when the tier is
 * stored but not usable here yet, else `refused(message)` (a permanent refusal chosen by the caller).
 */
export function missingTier(tiers: TierLookup, name: string, refused: (message: string) => Error): Error {
  if (tiers.isStored?.(name))
    return new TierError('Unavailable', `tier ${name} is stored but not usable on this gateway yet`, {
      tier: name,
    });
  return refused(`tier ${name} is not configured on this gateway`);
}

/** A TierLookup over a fixed map of backends (tests, benchmarks). */
export function fixedTiers(backends: Readonly<Record<string, TierBackend>>): TierLookup {
  const get = (name: string): TierHandle | undefined =>
    Object.hasOwn(backends, name) ? { backend: backends[name], state: 'active' } : undefined;
  return {
    get,
    list: () => Object.keys(backends).map((name) => get(name)!),
    async use(name, fn) {
      const tier = get(name);
      if (!tier) throw new Error(`no tier is named ${name}`);
      return fn(tier);
    },
  };
}

/** The reader to register with `ObjectLayer.setRemoteReader`. */
export function tierReader(
  tiers: TierLookup,
  kms: KmsProvider,
  observer: TierObserver = NO_TIER_OBSERVER,
): RemoteReader {
  return async (info: ObjectInfo, range?: ByteRange): Promise<Readable> => {
    const record = tierRecordOf(info);
    if (record?.status !== 'transitioned') {
      throw storageError('InvalidObjectState', 'the version has no readable copy in a tier');
    }
    if (!tiers.get(record.tier))
      throw missingTier(tiers, record.tier, (m) => storageError('InvalidObjectState', m));
    const tier = record.tier;
    // The read holds a lease on the tier for as long as its stream lives (until it ends, fails or is destroyed):
    // a credential rotation meanwhile retires the backend it reads from, which is closed only once no lease holds it.
    return new Promise<Readable>((resolve, reject) => {
      tiers
        .use(tier, async ({ backend }) => {
          // The class the object was written in: editing the tier's class later does not move old objects.
          if (backend.isArchiveClass(writtenClass(record, backend.storageClass))) {
            throw storageError('InvalidObjectState', 'the object is in an archive tier: restore it first');
          }
          let plain: Readable;
          try {
            plain = await readRemote(backend, kms, info, range);
          } catch (err) {
            observer.failed(tier, 'read');
            throw err;
          }
          // 'end' and 'error' listeners do not change how the stream flows; the consumer still drives it.
          const bytes = range ? range.end - range.start + 1 : info.size;
          plain.once('end', () => observer.readThrough(tier, bytes));
          plain.on('error', () => observer.failed(tier, 'read'));
          resolve(plain);
          await new Promise<void>((done) => finished(plain, () => done()));
        })
        .catch(reject);
    });
  };
}

/**
 * The plaintext of a transitioned version (or `range` of it) from `backend`, with no archive-class check: the
 * restore copy-back calls it once the cloud-side restore of an archive object has completed.
 */
export async function readRemote(
  backend: TierBackend,
  kms: KmsProvider,
  info: ObjectInfo,
  range?: ByteRange,
): Promise<Readable> {
  const record = tierRecordOf(info);
  if (record?.status !== 'transitioned') {
    throw storageError('InvalidObjectState', 'the version has no readable copy in a tier');
  }
  const header = parseEnvelopeHeader(Buffer.from(record.header, 'base64'));
  const key = await kms.decrypt(
    { sealed: header.header.sealedKey, keyId: header.header.keyId },
    dataKeyContext(info),
  );
  try {
    const plan = rangePlan(info.size, header.bytes.length, range);
    const cipher = await backend.get(record.remoteKey, { start: plan.cipherStart, end: plan.cipherEnd });
    return decryptRange(cipher, key.plaintext, header, plan);
  } finally {
    key.destroy(); // the decryptor holds its own copy
  }
}
