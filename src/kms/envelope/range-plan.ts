/**
 * Maps a plaintext byte range of an envelope to the ciphertext a reader must fetch: the whole packages that hold
 * it, and no more. Pure arithmetic over the fixed layout of envelope-format.ts.
 *
 * Decision: the plan's ciphertext offsets are absolute offsets in the envelope (header included), inclusive at both
 * ends, so they go straight into an HTTP `Range: bytes=cipherStart-cipherEnd` on the remote object. The header is
 * never part of the fetched range: the reader knows it already (it is stored with the object's metadata).
 *
 * Bound: a range of L bytes spans at most ceil(L / 64 KiB) + 1 packages, so it fetches at most L plus two packages
 * (one partial package at each end).
 */
import {
  checkSize,
  EnvelopeError,
  PACKAGE_SIZE,
  TAG_LENGTH,
  packageCount as countPackages,
} from './envelope-format';

/** Ciphertext bytes of a full package. */
const PACKAGE_STRIDE = PACKAGE_SIZE + TAG_LENGTH;

/** What to fetch and what to keep for one plaintext range. */
export interface RangePlan {
  /** Size of the whole plaintext. */
  readonly plaintextSize: number;
  /** First plaintext byte wanted. */
  readonly start: number;
  /** Plaintext bytes wanted (0 only when reading the whole empty object). */
  readonly length: number;
  /** Packages of the whole envelope. */
  readonly packageCount: number;
  /** First and last package to fetch (inclusive). */
  readonly firstPackage: number;
  readonly lastPackage: number;
  /** Absolute envelope offsets of the ciphertext to fetch, inclusive (an HTTP Range's numbers). */
  readonly cipherStart: number;
  readonly cipherEnd: number;
}

/**
 * The plan for plaintext bytes `range.start..range.end` (inclusive, as in HTTP Range; already resolved against the
 * size) of an object of `plaintextSize` bytes whose envelope header is `headerLength` bytes; the whole object when
 * `range` is omitted (which for a 0-byte object fetches its one empty package, so that it too is authenticated).
 */
export function rangePlan(
  plaintextSize: number,
  headerLength: number,
  range?: { readonly start: number; readonly end: number },
): RangePlan {
  checkSize(plaintextSize);
  if (!Number.isSafeInteger(headerLength) || headerLength < 0) {
    throw new EnvelopeError('BadRange', `header length ${headerLength} is not a byte count`);
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? plaintextSize - 1;
  if (range !== undefined) {
    const valid =
      Number.isSafeInteger(start) &&
      Number.isSafeInteger(end) &&
      start >= 0 &&
      start <= end &&
      end < plaintextSize;
    if (!valid) {
      throw new EnvelopeError(
        'BadRange',
        `bytes ${start}-${end} are not within an object of ${plaintextSize} bytes`,
      );
    }
  }
  const total = countPackages(plaintextSize);
  const firstPackage = Math.floor(start / PACKAGE_SIZE);
  const lastPackage = plaintextSize === 0 ? 0 : Math.floor(end / PACKAGE_SIZE);
  return {
    plaintextSize,
    start,
    length: end - start + 1,
    packageCount: total,
    firstPackage,
    lastPackage,
    cipherStart: headerLength + firstPackage * PACKAGE_STRIDE,
    cipherEnd:
      headerLength +
      firstPackage * PACKAGE_STRIDE +
      packagesLength(plaintextSize, firstPackage, lastPackage) -
      1,
  };
}

/** Ciphertext length of package `index` of an object of `plaintextSize` bytes. */
export function packageCiphertextLength(plaintextSize: number, index: number): number {
  return packagePlaintextLength(plaintextSize, index) + TAG_LENGTH;
}

/** Plaintext length of package `index`: full, except the last one. */
export function packagePlaintextLength(plaintextSize: number, index: number): number {
  return Math.min(PACKAGE_SIZE, plaintextSize - index * PACKAGE_SIZE);
}

/** Bytes that `plan` fetches (cipherEnd - cipherStart + 1). */
export function fetchLength(plan: RangePlan): number {
  return plan.cipherEnd - plan.cipherStart + 1;
}

function packagesLength(plaintextSize: number, first: number, last: number): number {
  return (last - first) * PACKAGE_STRIDE + packageCiphertextLength(plaintextSize, last);
}
