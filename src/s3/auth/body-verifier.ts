/**
 * The checks behind decodeBody: ChecksumCheck (the declared x-amz-checksum-* computed over the decoded bytes) and
 * PlainChecks (for `signed` / `unsigned` payloads, the signed SHA-256 as well), and the Transforms that apply them
 * to a streamed body before it ends: BodyVerifier, which aws-chunked-decoder.ts extends with the chunked framing,
 * and PlainVerifier. whole-body.ts applies PlainChecks to a small body read whole.
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
/** The declared x-amz-checksum-* of a body: fed the decoded bytes, checked once they have all been seen. */
export class ChecksumCheck {
  private readonly hasher?: Hasher;

  constructor(
    private readonly expected: ExpectedChecksum | undefined,
    private readonly verified: Record<string, string>,
  ) {
    if (expected) this.hasher = createHasher(expected.algorithm);
  }

  update(data: Buffer): void {
    this.hasher?.update(data);
  }

  /**
   * Checks the declared checksum and records it in `verified`; `trailerValue` is what the trailer said, for a
   * trailer checksum. Throws an S3Error (InvalidRequest, BadDigest) when it does not hold.
   */
  async verify(trailerValue?: string): Promise<void> {
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

/**
 * What a `signed` or `unsigned` payload is checked against: the SHA-256 the client signed (signed payloads), then
 * the declared checksum. Shared by PlainVerifier and the whole-body reader (whole-body.ts).
 */
export class PlainChecks {
  private readonly sha?: Hash;
  private readonly checksum: ChecksumCheck;

  constructor(
    private readonly auth: AuthResult,
    expected: ExpectedChecksum | undefined,
    verified: Record<string, string>,
  ) {
    if (auth.payload === 'signed') this.sha = createHash('sha256');
    this.checksum = new ChecksumCheck(expected, verified);
  }

  update(chunk: Buffer): void {
    this.sha?.update(chunk);
    this.checksum.update(chunk);
  }

  /** Throws an S3Error (XAmzContentSHA256Mismatch, BadDigest, ...) unless every byte was what the client said. */
  async verify(): Promise<void> {
    if (this.sha) {
      const computed = this.sha.digest('hex');
      if (computed !== this.auth.contentSha256?.toLowerCase()) {
        throw new S3Error('XAmzContentSHA256Mismatch', undefined, {
          ClientComputedContentSHA256: this.auth.contentSha256 ?? '',
          S3ComputedContentSHA256: computed,
        });
      }
    }
    await this.checksum.verify();
  }
}

/** Shared end-of-body checksum verification; errors the stream (so the write aborts) on a mismatch. */
export abstract class BodyVerifier extends Transform {
  private readonly checksum: ChecksumCheck;

  constructor(expected: ExpectedChecksum | undefined, verified: Record<string, string>) {
    super();
    this.checksum = new ChecksumCheck(expected, verified);
  }

  /** Emits decoded bytes, feeding the checksum. */
  protected pushDecoded(data: Buffer): void {
    this.checksum.update(data);
    this.push(data);
  }

  /** Checks the declared checksum; `trailerValue` is what the trailer said, for a trailer checksum. */
  protected verifyChecksum(trailerValue?: string): Promise<void> {
    return this.checksum.verify(trailerValue);
  }
}

/** `signed` and `unsigned` payloads: bytes pass through; SHA-256 and checksum are checked at the end. */
export class PlainVerifier extends Transform {
  private readonly checks: PlainChecks;

  constructor(auth: AuthResult, expected: ExpectedChecksum | undefined, verified: Record<string, string>) {
    super();
    this.checks = new PlainChecks(auth, expected, verified);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.checks.update(chunk);
    this.push(chunk);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.checks.verify().then(() => cb(), cb);
  }
}
