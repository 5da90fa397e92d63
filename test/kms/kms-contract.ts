/**
 * The contract every KmsProvider keeps, as one suite that each provider's spec runs (after RustFS
 * `crates/kms/src/backends/contract_tests.rs`): round trips, fresh keys, the encryption context bound exactly,
 * tampering refused, keys the KMS no longer holds or has disabled refused with the code an operator acts on, an
 * unreachable KMS reported as retryable, and plaintext keys never printed.
 *
 * A provider without a notion (the local KMS has no disabled state and cannot be unreachable: it is in-process)
 * says so when the suite is registered, and the suite does not define those tests for it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import {
  KmsError,
  type DataKey,
  type EncryptionContext,
  type KmsErrorCode,
  type KmsProvider,
  type SealedDataKey,
} from '../../src/kms/kms-provider';

/** One provider set up for the contract. */
export interface KmsContractSubject {
  /** The provider under test, sealing with an enabled key. */
  readonly provider: KmsProvider;
  /** A data key sealed by a key this provider cannot use any more (another master key; a deleted key). */
  foreignSealedKey(context: EncryptionContext): Promise<SealedDataKey>;
  /** Disables the provider's key; resolves to a function that enables it again. */
  disableKey?: () => Promise<() => Promise<void>>;
  /** A provider for the same key whose KMS cannot be reached; `restore` brings the KMS back. */
  unreachable?: () => Promise<{ provider: KmsProvider; restore: () => Promise<void> }>;
  close(): Promise<void>;
}

const CONTEXT: EncryptionContext = { bucket: 'photos', key: '2024/cat.jpg', version: '3f2a-11' };

/** Asserts that `promise` rejects with a KmsError of `code` whose message shows no key material of `keys`. */
export async function rejectsWithKmsError(
  promise: Promise<unknown>,
  code: KmsErrorCode,
  keys: Buffer[] = [],
): Promise<KmsError> {
  let caught: unknown;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof KmsError, `expected a KmsError, got ${inspect(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  assert.equal(caught.retryable, code === 'Unavailable');
  for (const key of keys) assertNotShown(caught.message, key);
  return caught;
}

/** Asserts that no common encoding of `key` appears in `text`. */
export function assertNotShown(text: string, key: Buffer): void {
  for (const encoded of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
    assert.ok(!text.includes(encoded), 'plaintext key material was shown');
  }
}

/** Runs the contract against the subject `setup` returns. */
export function kmsContract(
  name: string,
  setup: () => Promise<KmsContractSubject>,
  /** Which of the optional notions the provider has (its subject must then supply them). */
  capabilities: { disableKey: boolean; unreachable: boolean },
): void {
  describe(`KMS contract: ${name}`, () => {
    let subject: KmsContractSubject;
    let kms: KmsProvider;
    before(async () => {
      subject = await setup();
      kms = subject.provider;
    });
    after(() => subject.close());

    it('round trips a data key under its encryption context', async () => {
      const key = await kms.generateDataKey(CONTEXT);
      assert.equal(key.plaintext.length, 32);
      assert.ok(key.sealed.length > 32);
      assert.ok(!key.sealed.includes(key.plaintext), 'the sealed key contains the plaintext');
      const opened = await kms.decrypt({ sealed: key.sealed, keyId: key.keyId }, CONTEXT);
      assert.ok(opened.plaintext.equals(key.plaintext));
      // The same pairs in another order are the same context.
      const reordered = { version: CONTEXT.version, key: CONTEXT.key, bucket: CONTEXT.bucket };
      assert.ok((await kms.decrypt(key, reordered)).plaintext.equals(key.plaintext));
    });

    it('gives a fresh key and a fresh sealed key every time, also for the same context', async () => {
      const keys = await Promise.all(Array.from({ length: 8 }, () => kms.generateDataKey(CONTEXT)));
      assert.equal(new Set(keys.map((k) => k.plaintext.toString('hex'))).size, keys.length);
      assert.equal(new Set(keys.map((k) => k.sealed.toString('hex'))).size, keys.length);
    });

    it('opens a sealed key only under its exact context', async () => {
      const key = await kms.generateDataKey(CONTEXT);
      const wrong: EncryptionContext[] = [
        { ...CONTEXT, version: '3f2a-12' },
        { ...CONTEXT, bucket: 'photos2' },
        { bucket: CONTEXT.bucket, key: CONTEXT.key },
        { ...CONTEXT, extra: '' },
        { bucket: 'photos', key: '2024/cat.jpgversion', version: '' },
        {},
      ];
      for (const context of wrong) {
        await rejectsWithKmsError(kms.decrypt(key, context), 'InvalidCiphertext', [key.plaintext]);
      }
    });

    it('refuses a tampered or truncated sealed key', async () => {
      const key = await kms.generateDataKey(CONTEXT);
      const damaged = [flip(key.sealed, key.sealed.length - 1), flip(key.sealed, key.sealed.length >> 1)];
      damaged.push(
        key.sealed.subarray(0, key.sealed.length - 1),
        Buffer.concat([key.sealed, Buffer.from([0])]),
      );
      for (const sealed of damaged) {
        await rejectsWithKmsError(kms.decrypt({ sealed, keyId: key.keyId }, CONTEXT), 'InvalidCiphertext');
      }
    });

    it('refuses with KeyNotFound a data key sealed by a key it does not hold', async () => {
      const foreign = await subject.foreignSealedKey(CONTEXT);
      await rejectsWithKmsError(kms.decrypt(foreign, CONTEXT), 'KeyNotFound');
    });

    if (capabilities.disableKey)
      it('refuses with KeyDisabled while its key is disabled, and works again once enabled', async () => {
        assert.ok(subject.disableKey, 'the subject can disable its key');
        const key = await kms.generateDataKey(CONTEXT);
        const enable = await subject.disableKey();
        try {
          await rejectsWithKmsError(kms.generateDataKey(CONTEXT), 'KeyDisabled');
          await rejectsWithKmsError(kms.decrypt(key, CONTEXT), 'KeyDisabled');
        } finally {
          await enable();
        }
        assert.ok((await kms.decrypt(key, CONTEXT)).plaintext.equals(key.plaintext));
      });

    if (capabilities.unreachable)
      it('reports an unreachable KMS as retryable (Unavailable)', async () => {
        assert.ok(subject.unreachable, 'the subject can make its KMS unreachable');
        const key = await kms.generateDataKey(CONTEXT);
        const { provider, restore } = await subject.unreachable();
        try {
          await rejectsWithKmsError(provider.generateDataKey(CONTEXT), 'Unavailable');
          await rejectsWithKmsError(provider.decrypt(key, CONTEXT), 'Unavailable', [key.plaintext]);
        } finally {
          await restore();
        }
        assert.ok((await provider.decrypt(key, CONTEXT)).plaintext.equals(key.plaintext));
      });

    it('never prints or serialises a plaintext data key', async () => {
      const key: DataKey = await kms.generateDataKey(CONTEXT);
      for (const text of [inspect(key, { depth: 5, showHidden: true }), JSON.stringify(key), String(key)]) {
        assertNotShown(text, key.plaintext);
      }
      assertNotShown(inspect(kms, { depth: 5, showHidden: true }), key.plaintext);
      const copy = Buffer.from(key.plaintext);
      key.destroy();
      assert.ok(key.plaintext.equals(Buffer.alloc(32)), 'destroy() zeroes the key');
      assert.ok(!copy.equals(Buffer.alloc(32)));
    });
  });
}

function flip(bytes: Buffer, index: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[index] ^= 0x01;
  return copy;
}
