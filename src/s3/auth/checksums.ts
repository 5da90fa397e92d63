/**
 * The flexible checksums S3 clients send (`x-amz-checksum-<algorithm>`, as a header or as an aws-chunked trailer):
 * incremental hashers over the decoded body and the rules for reading the declared values. CRC32/CRC32C are native
 * (@node-rs/crc32, SIMD), CRC64NVME is the AWS SDK's slice-by-8 JS implementation, SHA-1/SHA-256 are node:crypto.
 */
import { createHash } from 'node:crypto';
import { crc32, crc32c } from '@node-rs/crc32';
import { Crc64Nvme } from '@aws-sdk/crc64-nvme';

/** The algorithms we verify, with their digest sizes in bytes. */
export const CHECKSUM_ALGORITHMS = { crc32: 4, crc32c: 4, crc64nvme: 8, sha1: 20, sha256: 32 } as const;

/** A supported checksum algorithm (lower-case, as in `x-amz-checksum-<name>`). */
export type ChecksumAlgorithm = keyof typeof CHECKSUM_ALGORITHMS;

/** Prefix of the checksum headers and trailers. */
export const CHECKSUM_PREFIX = 'x-amz-checksum-';

/** x-amz-checksum-* headers that are settings, not checksums of the body. */
const NOT_CHECKSUMS = new Set(['x-amz-checksum-type', 'x-amz-checksum-mode', 'x-amz-checksum-algorithm']);

/** An incremental hasher; digest() may be called once. */
export interface Hasher {
  update(data: Buffer): void;
  digest(): Promise<Buffer>;
}

class CrcHasher implements Hasher {
  private state = 0;
  constructor(private readonly fn: (data: Uint8Array, initial?: number) => number) {}
  update(data: Buffer): void {
    this.state = this.fn(data, this.state);
  }
  async digest(): Promise<Buffer> {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.state >>> 0);
    return out;
  }
}

/** A hasher for `algorithm`. */
export function createHasher(algorithm: ChecksumAlgorithm): Hasher {
  switch (algorithm) {
    case 'crc32':
      return new CrcHasher(crc32);
    case 'crc32c':
      return new CrcHasher(crc32c);
    case 'crc64nvme': {
      const crc = new Crc64Nvme();
      return { update: (data) => crc.update(data), digest: async () => Buffer.from(await crc.digest()) };
    }
    case 'sha1':
    case 'sha256': {
      const hash = createHash(algorithm);
      return { update: (data) => hash.update(data), digest: async () => hash.digest() };
    }
  }
}

/** Whether a header or trailer name is a body checksum (x-amz-checksum-*, but not -type/-mode/-algorithm). */
export function isChecksumName(name: string): boolean {
  return name.startsWith(CHECKSUM_PREFIX) && !NOT_CHECKSUMS.has(name);
}

/** The algorithm a checksum header names, or undefined when we do not support it. */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const algorithm = name.slice(CHECKSUM_PREFIX.length);
  return Object.hasOwn(CHECKSUM_ALGORITHMS, algorithm) ? (algorithm as ChecksumAlgorithm) : undefined;
}

/** Whether `value` is canonical base64 of exactly the algorithm's digest size. */
export function isValidChecksumValue(algorithm: ChecksumAlgorithm, value: string): boolean {
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === CHECKSUM_ALGORITHMS[algorithm] && bytes.toString('base64') === value;
}
