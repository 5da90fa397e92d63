/**
 * Read-through of transitioned versions: the ObjectLayer's RemoteReader. A GET (whole or ranged) of a version whose
 * bytes are only in a tier fetches exactly the envelope packages the range needs (rangePlan), unseals the data key
 * with the KMS under the version's own encryption context, and streams out authenticated plaintext only: a package
 * that fails authentication destroys the stream, so ciphertext or tampered bytes are never served as data.
 *
 * Archive classes (GLACIER, DEEP_ARCHIVE, Archive, ColdArchive) cannot be read until restored: InvalidObjectState.
 */
import type { Readable } from 'node:stream';
import { decryptRange } from '../kms/envelope/decrypt-range';
import { parseEnvelopeHeader } from '../kms/envelope/envelope-format';
import { rangePlan } from '../kms/envelope/range-plan';
import type { KmsProvider } from '../kms/kms-provider';
import { storageError } from '../storage/errors';
import type { ByteRange, ObjectInfo, RemoteReader } from '../storage/object-layer';
import type { TierBackend } from './tier-backend';
import { dataKeyContext, tierRecordOf } from './tier-state';

/** Finds a tier's backend by name (the tier registry). */
export interface TierLookup {
  get(name: string): { readonly backend: TierBackend } | undefined;
}

/** The reader to register with `ObjectLayer.setRemoteReader`. */
export function tierReader(tiers: TierLookup, kms: KmsProvider): RemoteReader {
  return async (info: ObjectInfo, range?: ByteRange): Promise<Readable> => {
    const record = tierRecordOf(info);
    if (record?.status !== 'transitioned') {
      throw storageError('InvalidObjectState', 'the version has no readable copy in a tier');
    }
    const entry = tiers.get(record.tier);
    if (!entry)
      throw storageError('InvalidObjectState', `tier ${record.tier} is not configured on this gateway`);
    const { backend } = entry;
    if (backend.isArchiveClass(backend.storageClass)) {
      throw storageError('InvalidObjectState', 'the object is in an archive tier: restore it first');
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
  };
}
