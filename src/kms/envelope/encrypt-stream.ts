/**
 * Encrypts a plaintext stream into a tiergate envelope (format: envelope-format.ts). A Transform with bounded
 * memory: it holds at most one package plus one input chunk, because a package can only be sealed once it is known
 * whether more bytes follow (the final flag is in its AAD). Backpressure is the stream's own.
 *
 * Invariants: the data key is copied in and zeroed when the stream ends or is destroyed; it is never part of an
 * error or of anything the stream exposes. A nonce prefix is drawn at random per envelope (encryptStream);
 * createEncryptor with a chosen header exists for the pinned test vectors and must never get a prefix twice for one
 * data key.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  DATA_KEY_LENGTH,
  encodeEnvelopeHeader,
  EnvelopeError,
  MAX_PACKAGES,
  NONCE_PREFIX_LENGTH,
  PACKAGE_SIZE,
  packageAad,
  packageNonce,
  type EncodedEnvelopeHeader,
  type EnvelopeHeader,
} from './envelope-format';
import { PackageQueue } from './package-queue';

/** The header fields a caller chooses: which KMS key sealed the data key, and the sealed key itself. */
export type EnvelopeKeyFields = Pick<EnvelopeHeader, 'keyId' | 'sealedKey'>;

/** More pieces than this per package are joined before encryption (many tiny writes cost more than one copy). */
const MAX_PIECES = 16;

/** A Transform from plaintext to envelope bytes; `header` is what it writes first (store it with the object). */
export class EnvelopeEncryptor extends Transform {
  /** The encoded header (its bytes are the envelope's first bytes). */
  readonly header: EncodedEnvelopeHeader;
  readonly #key: Buffer;
  readonly #pending = new PackageQueue();
  #index = 0;
  #headerSent = false;
  #plaintextBytes = 0;

  constructor(dataKey: Buffer, header: EncodedEnvelopeHeader) {
    super();
    checkDataKey(dataKey);
    this.#key = Buffer.from(dataKey);
    this.header = header;
  }

  /** Plaintext bytes encrypted so far (the object size once the stream has ended). */
  get plaintextBytes(): number {
    return this.#plaintextBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#sendHeader();
      this.#pending.push(chunk);
      // A package is sealed as non-final only once a byte after it exists.
      while (this.#pending.length > PACKAGE_SIZE) this.#seal(PACKAGE_SIZE, false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#sendHeader();
      this.#seal(this.#pending.length, true);
      this.#key.fill(0);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#key.fill(0);
    this.#pending.clear();
    callback(error);
  }

  #sendHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.push(this.header.bytes);
  }

  #seal(length: number, final: boolean): void {
    if (this.#index >= MAX_PACKAGES) {
      throw new EnvelopeError('BadRange', `an envelope holds at most ${MAX_PACKAGES} packages`);
    }
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.#key,
      packageNonce(this.header.header.noncePrefix, this.#index),
    );
    cipher.setAAD(packageAad(this.header.digest, this.#index, final));
    const pieces = this.#pending.takePieces(length);
    const inputs = pieces.length > MAX_PIECES ? [Buffer.concat(pieces, length)] : pieces;
    for (const piece of inputs) {
      const out = cipher.update(piece);
      if (out.length > 0) this.push(out);
    }
    const rest = cipher.final();
    if (rest.length > 0) this.push(rest);
    this.push(cipher.getAuthTag());
    this.#plaintextBytes += length;
    this.#index++;
  }
}

/** A header with a fresh random nonce prefix for one object version. */
export function newEnvelopeHeader(fields: EnvelopeKeyFields): EncodedEnvelopeHeader {
  return encodeEnvelopeHeader({ ...fields, noncePrefix: randomBytes(NONCE_PREFIX_LENGTH) });
}

/**
 * An encryptor for a chosen header. Production code uses encryptStream (fresh nonce prefix); a fixed header is for
 * test vectors, and reusing one nonce prefix with one data key would break GCM's confidentiality.
 */
export function createEncryptor(dataKey: Buffer, header: EncodedEnvelopeHeader): EnvelopeEncryptor {
  return new EnvelopeEncryptor(dataKey, header);
}

/**
 * Encrypts `plaintext` with `dataKey` (32 bytes, fresh per object version) into an envelope whose header names
 * `fields`. Errors of either side destroy both; read `.header` to store it with the object.
 */
export function encryptStream(
  plaintext: Readable,
  dataKey: Buffer,
  fields: EnvelopeKeyFields,
): EnvelopeEncryptor {
  const encryptor = createEncryptor(dataKey, newEnvelopeHeader(fields));
  // pipeline destroys both streams on an error of either; the error surfaces on the encryptor for its reader.
  pipeline(plaintext, encryptor, () => undefined);
  return encryptor;
}

/** Throws unless `key` is a 256-bit key (the message never shows the key). */
export function checkDataKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length !== DATA_KEY_LENGTH) {
    throw new EnvelopeError('BadKey', `a data key must be ${DATA_KEY_LENGTH} bytes`);
  }
}
