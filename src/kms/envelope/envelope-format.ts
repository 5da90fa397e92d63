/**
 * The tiergate envelope, version 1: how an object version is encrypted before it leaves for a cloud tier.
 *
 * Key hierarchy: the KMS master key seals a fresh 256-bit data key per object version (sealed with the encryption
 * context bucket/key/version); the data key encrypts the object. Only the sealed key is ever stored.
 *
 * Byte layout (all integers big-endian):
 *
 *   header
 *     0      4  magic "TGEV" (54 47 45 56)
 *     4      1  version 0x01
 *     5      1  flags 0x00 (reserved; a reader refuses any other value)
 *     6      8  nonce prefix: random per object version
 *     14     2  K = length of the KMS key id (1..2048)
 *     16     K  KMS key id, UTF-8 (the id the KMS returned with the sealed key: an ARN for AWS)
 *     16+K   2  S = length of the sealed data key (1..4096)
 *     18+K   S  sealed data key, as the KMS returned it (opaque here)
 *   packages, header length H = 18 + K + S
 *     package i holds plaintext bytes [i * 64 KiB, (i + 1) * 64 KiB): AES-256-GCM ciphertext (same length as its
 *     plaintext) followed by the 16-byte tag. Every package is full (65,536 + 16 bytes) except the last one, which
 *     holds the remaining 0..65,536 bytes; a 0-byte object is one empty final package (just a tag), so even the
 *     empty object authenticates. Total length: H + n + 16 * max(1, ceil(n / 65,536)).
 *
 * Nonce of package i: nonce prefix (8 bytes) || i (u32), 12 bytes; unique because the data key is fresh per object
 * version and i < 2^32 (at most 256 TiB per object). The random prefix also keeps nonces apart if a data key were
 * ever reused.
 * AAD of package i: SHA-256(header bytes) (32) || i (u32) || final flag (u8: 1 for the last package, else 0).
 *
 * What that detects: a flipped bit anywhere in a package (GCM tag); a changed header byte (it is hashed into every
 * package's AAD, and magic/version/flags/lengths are checked by parseEnvelopeHeader); packages reordered or moved
 * (index in nonce and AAD); the last package dropped (the new last package was sealed as non-final); bytes
 * appended (the package boundaries shift, so the last package's tag fails, or a reader that knows the size sees
 * trailing data). Nothing of a package reaches a caller before its tag verified.
 *
 * Random access: package boundaries are fixed, so a plaintext byte range maps to whole packages (range-plan.ts)
 * and decrypts without reading from the start.
 */
import { createHash } from 'node:crypto';

/** First bytes of every envelope. */
export const ENVELOPE_MAGIC = Buffer.from('TGEV', 'latin1');
/** The only version this release writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Plaintext bytes per package (every package but the last is exactly this long). */
export const PACKAGE_SIZE = 64 * 1024;
/** GCM tag length closing every package. */
export const TAG_LENGTH = 16;
/** Bytes of the random nonce prefix in the header. */
export const NONCE_PREFIX_LENGTH = 8;
/** AES-256 key length: data keys are exactly this long. */
export const DATA_KEY_LENGTH = 32;
/** Largest key id the header carries. */
export const MAX_KEY_ID_LENGTH = 2048;
/** Largest sealed key the header carries. */
export const MAX_SEALED_KEY_LENGTH = 4096;
/** Fixed bytes of the header around the key id and the sealed key. */
const FIXED_HEADER_LENGTH = 18;
/** The longest header a reader may need to fetch before it can parse one. */
export const MAX_HEADER_LENGTH = FIXED_HEADER_LENGTH + MAX_KEY_ID_LENGTH + MAX_SEALED_KEY_LENGTH;
/** Most packages one envelope may hold (the package index is a u32). */
export const MAX_PACKAGES = 2 ** 32;

/** Why an envelope could not be read; never carries key material or plaintext. */
export type EnvelopeErrorCode =
  /** The header is malformed: wrong magic, unknown version or flags, bad lengths. */
  | 'BadHeader'
  /** A package failed authentication: tampered, reordered, truncated at a boundary or decrypted with a wrong key. */
  | 'AuthenticationFailed'
  /** The ciphertext ended before the packages the reader expected. */
  | 'Truncated'
  /** More ciphertext arrived than the packages the reader expected. */
  | 'TrailingData'
  /** A range or size that no envelope can have. */
  | 'BadRange'
  /** A data key that is not 256 bits. */
  | 'BadKey';

/** Raised (or used to destroy a stream) when an envelope cannot be trusted; its plaintext is never served. */
export class EnvelopeError extends Error {
  constructor(
    readonly code: EnvelopeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** What the header records. The nonce prefix is random for every object version (newEnvelopeHeader). */
export interface EnvelopeHeader {
  readonly noncePrefix: Buffer;
  /** The KMS key id that sealed the data key (as the KMS named it). */
  readonly keyId: string;
  /** The data key as the KMS sealed it. */
  readonly sealedKey: Buffer;
}

/** A header and its encoded bytes (what precedes the packages, and what the AAD hashes). */
export interface EncodedEnvelopeHeader {
  readonly header: EnvelopeHeader;
  readonly bytes: Buffer;
  /** SHA-256 of `bytes`, the first part of every package's AAD. */
  readonly digest: Buffer;
}

/** Encodes a header (validating its fields). */
export function encodeEnvelopeHeader(header: EnvelopeHeader): EncodedEnvelopeHeader {
  const keyId = Buffer.from(header.keyId, 'utf8');
  if (header.noncePrefix.length !== NONCE_PREFIX_LENGTH) {
    throw new EnvelopeError('BadHeader', `the nonce prefix must be ${NONCE_PREFIX_LENGTH} bytes`);
  }
  checkLength('key id', keyId.length, MAX_KEY_ID_LENGTH);
  checkLength('sealed key', header.sealedKey.length, MAX_SEALED_KEY_LENGTH);
  const bytes = Buffer.alloc(FIXED_HEADER_LENGTH + keyId.length + header.sealedKey.length);
  ENVELOPE_MAGIC.copy(bytes, 0);
  bytes[4] = ENVELOPE_VERSION;
  bytes[5] = 0;
  header.noncePrefix.copy(bytes, 6);
  bytes.writeUInt16BE(keyId.length, 14);
  keyId.copy(bytes, 16);
  bytes.writeUInt16BE(header.sealedKey.length, 16 + keyId.length);
  header.sealedKey.copy(bytes, 18 + keyId.length);
  return { header: copyHeader(header), bytes, digest: sha256(bytes) };
}

/** Length of the header that `header` encodes to, without encoding it. */
export function envelopeHeaderLength(header: Pick<EnvelopeHeader, 'keyId' | 'sealedKey'>): number {
  return FIXED_HEADER_LENGTH + Buffer.byteLength(header.keyId, 'utf8') + header.sealedKey.length;
}

/**
 * Parses the header at the start of `bytes` (which may hold more: the packages that follow). Throws
 * EnvelopeError('BadHeader') for a wrong magic, version or flags, and 'Truncated' when `bytes` ends inside the
 * header (fetch up to MAX_HEADER_LENGTH bytes to be sure to hold one).
 */
export function parseEnvelopeHeader(bytes: Buffer): EncodedEnvelopeHeader {
  need(bytes, 6);
  if (!bytes.subarray(0, 4).equals(ENVELOPE_MAGIC)) {
    throw new EnvelopeError('BadHeader', 'not a tiergate envelope (wrong magic)');
  }
  if (bytes[4] !== ENVELOPE_VERSION) {
    throw new EnvelopeError(
      'BadHeader',
      `envelope version ${bytes[4]} is not supported (this release reads ${ENVELOPE_VERSION})`,
    );
  }
  if (bytes[5] !== 0) throw new EnvelopeError('BadHeader', `unknown envelope flags 0x${hex2(bytes[5])}`);
  need(bytes, 16);
  const keyIdLength = bytes.readUInt16BE(14);
  checkLength('key id', keyIdLength, MAX_KEY_ID_LENGTH);
  need(bytes, 18 + keyIdLength);
  const sealedLength = bytes.readUInt16BE(16 + keyIdLength);
  checkLength('sealed key', sealedLength, MAX_SEALED_KEY_LENGTH);
  const length = FIXED_HEADER_LENGTH + keyIdLength + sealedLength;
  need(bytes, length);
  const keyIdBytes = bytes.subarray(16, 16 + keyIdLength);
  const keyId = keyIdBytes.toString('utf8');
  if (!Buffer.from(keyId, 'utf8').equals(keyIdBytes)) {
    throw new EnvelopeError('BadHeader', 'the key id is not valid UTF-8');
  }
  const header = {
    noncePrefix: Buffer.from(bytes.subarray(6, 14)),
    keyId,
    sealedKey: Buffer.from(bytes.subarray(18 + keyIdLength, length)),
  };
  const own = Buffer.from(bytes.subarray(0, length));
  return { header, bytes: own, digest: sha256(own) };
}

/** The 12-byte GCM nonce of package `index`. */
export function packageNonce(noncePrefix: Buffer, index: number): Buffer {
  const nonce = Buffer.alloc(12);
  noncePrefix.copy(nonce, 0);
  nonce.writeUInt32BE(index, 8);
  return nonce;
}

/** The AAD of package `index`: header digest, index and whether it is the last package. */
export function packageAad(headerDigest: Buffer, index: number, final: boolean): Buffer {
  const aad = Buffer.alloc(37);
  headerDigest.copy(aad, 0);
  aad.writeUInt32BE(index, 32);
  aad[36] = final ? 1 : 0;
  return aad;
}

/** Number of packages of an n-byte plaintext (at least one: the empty object has one empty package). */
export function packageCount(plaintextLength: number): number {
  return Math.max(1, Math.ceil(plaintextLength / PACKAGE_SIZE));
}

/** Total envelope length (header included) of an n-byte plaintext. */
export function ciphertextLength(plaintextLength: number, headerLength: number): number {
  checkSize(plaintextLength);
  return headerLength + plaintextLength + TAG_LENGTH * packageCount(plaintextLength);
}

/**
 * Plaintext length of an envelope of `envelopeLength` bytes with an `headerLength`-byte header (for a reader that
 * knows only the remote object's size); throws BadRange when no envelope has that length.
 */
export function plaintextLength(envelopeLength: number, headerLength: number): number {
  const body = envelopeLength - headerLength;
  if (!Number.isSafeInteger(body) || body < TAG_LENGTH) {
    throw new EnvelopeError('BadRange', `${envelopeLength} bytes is not the length of any envelope`);
  }
  const full = Math.floor(body / (PACKAGE_SIZE + TAG_LENGTH));
  const rest = body - full * (PACKAGE_SIZE + TAG_LENGTH);
  // A body is `full` whole packages and, unless it ends exactly on a package, a last package of >= 1 byte + tag.
  let n: number;
  if (rest === 0 && full > 0) n = full * PACKAGE_SIZE;
  else if (rest >= TAG_LENGTH && (rest > TAG_LENGTH || full === 0))
    n = full * PACKAGE_SIZE + rest - TAG_LENGTH;
  else throw new EnvelopeError('BadRange', `${envelopeLength} bytes is not the length of any envelope`);
  return n;
}

/** Throws BadRange unless `n` is a plaintext size an envelope can hold. */
export function checkSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0 || packageCount(n) > MAX_PACKAGES) {
    throw new EnvelopeError('BadRange', `${n} is not a plaintext size an envelope can hold`);
  }
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function copyHeader(header: EnvelopeHeader): EnvelopeHeader {
  return {
    noncePrefix: Buffer.from(header.noncePrefix),
    keyId: header.keyId,
    sealedKey: Buffer.from(header.sealedKey),
  };
}

function checkLength(what: string, length: number, max: number): void {
  if (length < 1 || length > max) {
    throw new EnvelopeError('BadHeader', `the ${what} must be 1-${max} bytes, not ${length}`);
  }
}

function need(bytes: Buffer, length: number): void {
  if (bytes.length < length) {
    throw new EnvelopeError('Truncated', `the envelope header needs ${length} bytes, got ${bytes.length}`);
  }
}

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
