/**
 * Decrypts the packages a RangePlan fetched and yields exactly the planned plaintext bytes.
 *
 * Invariant: never emits unauthenticated plaintext. Each package is collected whole (at most 64 KiB + 16), its tag
 * verified, and only then is its slice of the range pushed. Any failure (tag mismatch, a short or long ciphertext
 * stream, a package from another position or envelope) destroys the stream with an EnvelopeError, so a reader
 * serving it to a client aborts the response instead of sending ciphertext or forged data as the object.
 * The data key is copied in and zeroed when the stream ends or is destroyed.
 */
import { createDecipheriv } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { checkDataKey } from './encrypt-stream';
import {
  EnvelopeError,
  PACKAGE_SIZE,
  TAG_LENGTH,
  packageAad,
  packageNonce,
  type EncodedEnvelopeHeader,
} from './envelope-format';
import { PackageQueue } from './package-queue';
import { packageCiphertextLength, type RangePlan } from './range-plan';

/** A Transform from the planned ciphertext (bytes plan.cipherStart..cipherEnd) to the planned plaintext. */
export class EnvelopeDecryptor extends Transform {
  readonly #key: Buffer;
  readonly #header: EncodedEnvelopeHeader;
  readonly #plan: RangePlan;
  readonly #pending = new PackageQueue();
  #index: number;

  constructor(dataKey: Buffer, header: EncodedEnvelopeHeader, plan: RangePlan) {
    super();
    checkDataKey(dataKey);
    this.#key = Buffer.from(dataKey);
    this.#header = header;
    this.#plan = plan;
    this.#index = plan.firstPackage;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#pending.push(chunk);
      while (this.#index <= this.#plan.lastPackage) {
        const length = packageCiphertextLength(this.#plan.plaintextSize, this.#index);
        if (this.#pending.length < length) break;
        this.#open(this.#pending.take(length));
      }
      if (this.#index > this.#plan.lastPackage && this.#pending.length > 0) {
        throw new EnvelopeError('TrailingData', 'the ciphertext continues past the last planned package');
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.#key.fill(0);
    if (this.#index <= this.#plan.lastPackage) {
      callback(
        new EnvelopeError(
          'Truncated',
          `the ciphertext ended in package ${this.#index} of ${this.#plan.firstPackage}-${this.#plan.lastPackage}`,
        ),
      );
      return;
    }
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#key.fill(0);
    this.#pending.clear();
    callback(error);
  }

  /** Verifies package #index and pushes its part of the range. */
  #open(sealed: Buffer): void {
    const index = this.#index;
    const final = index === this.#plan.packageCount - 1;
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.#key,
      packageNonce(this.#header.header.noncePrefix, index),
    );
    decipher.setAAD(packageAad(this.#header.digest, index, final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LENGTH));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      plaintext.fill(0);
      throw new EnvelopeError(
        'AuthenticationFailed',
        `package ${index} failed authentication (tampered, reordered, truncated or a wrong data key)`,
      );
    }
    this.#index++;
    const packageStart = index * PACKAGE_SIZE;
    const from = Math.max(0, this.#plan.start - packageStart);
    const to = Math.min(plaintext.length, this.#plan.start + this.#plan.length - packageStart);
    if (to > from) this.push(plaintext.subarray(from, to));
  }
}

/**
 * Decrypts `ciphertext` (exactly the bytes plan.cipherStart..plan.cipherEnd of the envelope) into the planned
 * plaintext range. Errors of either stream destroy both; an authentication failure surfaces as an EnvelopeError.
 */
export function decryptRange(
  ciphertext: Readable,
  dataKey: Buffer,
  header: EncodedEnvelopeHeader,
  plan: RangePlan,
): EnvelopeDecryptor {
  const decryptor = new EnvelopeDecryptor(dataKey, header, plan);
  pipeline(ciphertext, decryptor, () => undefined);
  return decryptor;
}
