/**
 * The Transforms behind decodeBody: BodyVerifier (the declared x-amz-checksum-* computed over the decoded bytes
 * and checked before the stream ends) and PlainVerifier (`signed` / `unsigned` payloads: bytes pass through, the
 * signed SHA-256 is checked at the end). aws-chunked-decoder.ts adds the chunked framing.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { S3Error } from '../errors/s3-error';
import type { AuthResult } from './auth-types';
import { createHasher, isValidChecksumValue, type ChecksumAlgorithm, type Hasher } from './checksums';

/** The body's declared checksum: where it comes from and, for a header, its value. */
export interface ExpectedChecksum {
  algorithm: ChecksumAlgorithm;
  name: string;
  /** From a header; undefined while it is still to come in the trailer. */
  value?: string;
}
/** Shared end-of-body checksum verification; errors the stream (so the write aborts) on a mismatch. */
export abstract class BodyVerifier extends Transform {
  private readonly hasher?: Hasher;

  constructor(
    private readonly expected: ExpectedChecksum | undefined,
    private readonly verified: Record<string, string>,
  ) {
    super();
    if (expected) this.hasher = createHasher(expected.algorithm);
  }

  /** Emits decoded bytes, feeding the checksum. */
  protected pushDecoded(data: Buffer): void {
    this.hasher?.update(data);
    this.push(data);
  }

  /** Checks the declared checksum; `trailerValue` is what the trailer said, for a trailer checksum. */
  protected async verifyChecksum(trailerValue?: string): Promise<void> {
    if (!this.expected || !this.hasher) return;
    const want = this.expected.value ?? trailerValue;
    if (want === undefined) {
      throw new S3Error(
        'InvalidRequest',
        `x-amz-trailer named ${this.expected.name} but the body had no such trailer`,
      );
    }
    if (!isValidChecksumValue(this.expected.algorithm, want)) {
      throw new S3Error('InvalidRequest', `Value for ${this.expected.name} trailer is invalid.`);
    }
    const got = (await this.hasher.digest()).toString('base64');
    if (got !== want) {
      throw new S3Error(
        'BadDigest',
        `The ${this.expected.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    }
    this.verified[this.expected.algorithm] = got;
  }
}

/** `signed` and `unsigned` payloads: bytes pass through; SHA-256 and checksum are checked at the end. */
export class PlainVerifier extends BodyVerifier {
  private readonly sha?: Hash;

  constructor(
    private readonly auth: AuthResult,
    expected: ExpectedChecksum | undefined,
    verified: Record<string, string>,
  ) {
    super(expected, verified);
    if (auth.payload === 'signed') this.sha = createHash('sha256');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sha?.update(chunk);
    this.pushDecoded(chunk);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    if (this.sha) {
      const computed = this.sha.digest('hex');
      if (computed !== this.auth.contentSha256?.toLowerCase()) {
        cb(
          new S3Error('XAmzContentSHA256Mismatch', undefined, {
            ClientComputedContentSHA256: this.auth.contentSha256 ?? '',
            S3ComputedContentSHA256: computed,
          }),
        );
        return;
      }
    }
    this.verifyChecksum().then(() => cb(), cb);
  }
}
