/**
 * The KMS seen by the rest of tiergate: generate a data key for an encryption context, and decrypt a sealed data key
 * for the same context. Implementations: local-kms.ts (a master key on this gateway) and aws-kms.ts (AWS KMS).
 *
 * Invariants every provider keeps (test/kms/kms-contract.ts checks them on each):
 * - a sealed key opens only under the exact encryption context it was sealed with; anything else is an
 *   `InvalidCiphertext` KmsError, never a wrong key;
 * - every fresh data key is 256 random bits;
 * - plaintext data keys are never logged, serialised or put in an error message: DataKey redacts itself, and
 *   KmsError messages name keys by id only;
 * - failures are KmsErrors whose `retryable` says whether trying again later can help (the transition job maps it
 *   to a BullMQ retry or an UnrecoverableError).
 */
import { inspect } from 'node:util';
import type { EncryptionContext } from './encryption-context';

export type { EncryptionContext } from './encryption-context';

/** A data key sealed by a KMS, with the id of the KMS key that sealed it (both are stored with the object). */
export interface SealedDataKey {
  /** The KMS's ciphertext of the data key (opaque). */
  readonly sealed: Buffer;
  /** The KMS key id as the KMS reported it (an ARN for AWS). */
  readonly keyId: string;
}

const REDACTED = '[redacted]';

/**
 * A plaintext data key and its sealed form. The plaintext is readable through `plaintext` only; printing or
 * serialising the object shows the key id and the sealed key, never the plaintext. `destroy()` zeroes it.
 */
export class DataKey implements SealedDataKey {
  readonly sealed: Buffer;
  readonly keyId: string;
  readonly #plaintext: Buffer;

  constructor(plaintext: Buffer, sealed: SealedDataKey) {
    this.#plaintext = plaintext;
    this.sealed = sealed.sealed;
    this.keyId = sealed.keyId;
  }

  /** The 32-byte key itself, for the encryptor (which copies it); do not keep or log it. */
  get plaintext(): Buffer {
    return this.#plaintext;
  }

  /** Zeroes the plaintext once the key is no longer needed. */
  destroy(): void {
    this.#plaintext.fill(0);
  }

  toJSON(): { keyId: string; sealed: string; plaintext: string } {
    return { keyId: this.keyId, sealed: this.sealed.toString('base64'), plaintext: REDACTED };
  }

  toString(): string {
    return `DataKey(keyId=${this.keyId}, plaintext=${REDACTED})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** What went wrong at the KMS, as far as a caller must tell apart. */
export type KmsErrorCode =
  /** The sealed key does not open: wrong encryption context, tampered, or not a sealed key. Never retried. */
  | 'InvalidCiphertext'
  /** The KMS key is disabled (or pending import/deletion): an operator must act. */
  | 'KeyDisabled'
  /** The KMS key does not exist (any more), or is not the key that sealed this data key: an operator must act. */
  | 'KeyNotFound'
  /** The credentials are refused or lack permission for the key: an operator must act. */
  | 'AccessDenied'
  /** The request is malformed (a bad key id or context): a bug or a bad configuration, never retried. */
  | 'InvalidRequest'
  /** The KMS could not be reached, timed out, throttled or failed internally: retry with backoff. */
  | 'Unavailable';

/** A KMS failure; `retryable` is true only for `Unavailable`. Messages never carry key material. */
export class KmsError extends Error {
  /** Whether retrying later may succeed without anyone acting. */
  readonly retryable: boolean;

  constructor(
    readonly code: KmsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KmsError';
    this.retryable = code === 'Unavailable';
  }
}

/** A KMS provider; the abstract class doubles as the Nest injection token. */
export abstract class KmsProvider {
  /** Name of the provider (`local`, `aws`) for logs and metrics. */
  abstract readonly name: string;
  /** The key id new data keys are sealed under, as configured (an alias or id for AWS). */
  abstract readonly keyId: string;

  /** A fresh 256-bit data key, sealed for `context`. */
  abstract generateDataKey(context: EncryptionContext): Promise<DataKey>;

  /** Opens `sealed` for `context`; fails with InvalidCiphertext unless `context` is the one it was sealed for. */
  abstract decrypt(sealed: SealedDataKey, context: EncryptionContext): Promise<DataKey>;
}
