/**
 * The local KMS: data keys sealed with a 256-bit master key held by the gateway (TIERGATE_KMS_SECRET_KEY or the key
 * file of master-key-file.ts). The default provider, for on-prem deployments without a cloud KMS. Every gateway
 * sharing a namespace must have the same master key (set TIERGATE_KMS_SECRET_KEY on each node of a cluster).
 *
 * Sealed key format, version 1 (integers big-endian):
 *   0      4  magic "TGLK"
 *   4      1  version 0x01
 *   5      8  master key fingerprint: HMAC-SHA256(master, "tiergate local kms fingerprint")[0..8)
 *   13     1  K = key id length (1..255)
 *   14     K  key id, ASCII
 *   14+K  16  salt, random per seal
 *   30+K  32  data key, AES-256-GCM ciphertext
 *   62+K  16  GCM tag
 * The sealing key and nonce come from HKDF-SHA256(master, salt, "tiergate local kms v1 seal") (32 + 12 bytes), so
 * no (key, nonce) pair repeats however many keys are sealed. AAD: bytes 0..30+K (everything before the ciphertext)
 * followed by the canonical encryption context (encryption-context.ts).
 *
 * Errors: a sealed key of another master key (fingerprint differs) is `KeyNotFound`, naming both fingerprints:
 * the local KMS's equivalent of a deleted or disabled key, which only an operator restoring the old master key can
 * fix. A wrong context or any changed byte fails the tag: `InvalidCiphertext`.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { canonicalContext, type EncryptionContext } from './encryption-context';
import { DataKey, KmsError, KmsProvider, type SealedDataKey } from './kms-provider';

const MAGIC = Buffer.from('TGLK', 'latin1');
const VERSION = 1;
const SALT_LENGTH = 16;
const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
const HKDF_INFO = 'tiergate local kms v1 seal';

/** The local provider; construct it with LocalKms.fromMasterKey or through KmsModule. */
export class LocalKms extends KmsProvider {
  readonly name = 'local';
  readonly keyId: string;
  /** Fingerprint of the master key, in hex: safe to log, and what a foreign sealed key is compared with. */
  readonly fingerprint: string;
  readonly #master: Buffer;
  readonly #fingerprint: Buffer;

  private constructor(master: Buffer, keyId: string | undefined) {
    super();
    this.#master = Buffer.from(master);
    this.#fingerprint = createHmac('sha256', this.#master)
      .update('tiergate local kms fingerprint')
      .digest()
      .subarray(0, 8);
    this.fingerprint = this.#fingerprint.toString('hex');
    this.keyId = keyId ?? `local-${this.fingerprint}`;
    if (!/^[\x21-\x7e]{1,255}$/.test(this.keyId)) {
      throw new KmsError(
        'InvalidRequest',
        `local KMS key id "${this.keyId}" must be 1-255 printable ASCII characters`,
      );
    }
  }

  /** A local KMS over a 32-byte master key (copied); `keyId` defaults to `local-<fingerprint>`. */
  static fromMasterKey(master: Buffer, keyId?: string): LocalKms {
    if (master.length !== KEY_LENGTH)
      throw new KmsError('InvalidRequest', 'the local KMS master key must be 32 bytes');
    return new LocalKms(master, keyId);
  }

  async generateDataKey(context: EncryptionContext): Promise<DataKey> {
    const aadContext = canonicalContext(context);
    const plaintext = randomBytes(KEY_LENGTH);
    const keyId = Buffer.from(this.keyId, 'latin1');
    const head = Buffer.concat([
      MAGIC,
      Buffer.from([VERSION]),
      this.#fingerprint,
      Buffer.from([keyId.length]),
      keyId,
      randomBytes(SALT_LENGTH),
    ]);
    const { key, nonce } = this.#sealingKey(head.subarray(head.length - SALT_LENGTH));
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    key.fill(0);
    cipher.setAAD(Buffer.concat([head, aadContext]));
    const sealed = Buffer.concat([head, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return new DataKey(plaintext, { sealed, keyId: this.keyId });
  }

  async decrypt(sealed: SealedDataKey, context: EncryptionContext): Promise<DataKey> {
    const aadContext = canonicalContext(context);
    const parsed = parseSealed(sealed.sealed);
    if (parsed.keyId !== sealed.keyId) {
      throw new KmsError(
        'InvalidCiphertext',
        `the sealed key names KMS key "${parsed.keyId}" but was stored with key id "${sealed.keyId}"`,
      );
    }
    if (!parsed.fingerprint.equals(this.#fingerprint)) {
      throw new KmsError(
        'KeyNotFound',
        `the data key was sealed by another local master key (fingerprint ${parsed.fingerprint.toString('hex')}, ` +
          `key id "${parsed.keyId}"); this gateway's master key has fingerprint ${this.fingerprint}. Restore the ` +
          `master key it was sealed with (TIERGATE_KMS_SECRET_KEY or the key file)`,
      );
    }
    const { key, nonce } = this.#sealingKey(parsed.salt);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    key.fill(0);
    decipher.setAAD(Buffer.concat([parsed.head, aadContext]));
    decipher.setAuthTag(parsed.tag);
    const plaintext = decipher.update(parsed.ciphertext);
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      throw new KmsError(
        'InvalidCiphertext',
        `the sealed data key (KMS key "${parsed.keyId}") does not open: wrong encryption context or tampered sealed key`,
      );
    }
    return new DataKey(plaintext, sealed);
  }

  #sealingKey(salt: Buffer): { key: Buffer; nonce: Buffer } {
    const okm = Buffer.from(hkdfSync('sha256', this.#master, salt, HKDF_INFO, KEY_LENGTH + 12));
    return { key: okm.subarray(0, KEY_LENGTH), nonce: okm.subarray(KEY_LENGTH) };
  }
}

interface ParsedSealed {
  head: Buffer;
  fingerprint: Buffer;
  keyId: string;
  salt: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function parseSealed(sealed: Buffer): ParsedSealed {
  const refuse = (why: string) =>
    new KmsError('InvalidCiphertext', `not a sealed key of the local KMS: ${why}`);
  if (sealed.length < 14 || !sealed.subarray(0, 4).equals(MAGIC)) throw refuse('wrong magic');
  if (sealed[4] !== VERSION) throw refuse(`version ${sealed[4]} is not supported`);
  const k = sealed[13];
  if (k === 0 || sealed.length !== 14 + k + SALT_LENGTH + KEY_LENGTH + TAG_LENGTH)
    throw refuse('wrong length');
  const head = sealed.subarray(0, 30 + k);
  return {
    head,
    fingerprint: sealed.subarray(5, 13),
    keyId: sealed.subarray(14, 14 + k).toString('latin1'),
    salt: sealed.subarray(14 + k, 30 + k),
    ciphertext: sealed.subarray(30 + k, 62 + k),
    tag: sealed.subarray(62 + k),
  };
}
