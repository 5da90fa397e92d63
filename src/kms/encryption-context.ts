/**
 * Encryption contexts: the string pairs (bucket, key, version) a data key is bound to. A sealed key opens only
 * under the same pairs, so a sealed key copied onto another object cannot decrypt it.
 *
 * Canonical encoding (what the local KMS authenticates, and the KMS test server too): u32 count, then per pair
 * sorted by the key's UTF-8 bytes, u32 length + UTF-8 key, u32 length + UTF-8 value (big-endian). Length-prefixed,
 * so no two contexts share an encoding.
 */
import { KmsError } from './kms-provider';

/** String pairs bound to a data key (AWS KMS's EncryptionContext). */
export type EncryptionContext = Readonly<Record<string, string>>;

/** Largest canonical encoding accepted (AWS KMS allows 8 KiB of context). */
export const MAX_CONTEXT_BYTES = 8192;

/** The canonical bytes of `context`; throws KmsError('InvalidRequest') for an empty key or an oversized context. */
export function canonicalContext(context: EncryptionContext): Buffer {
  const pairs = Object.entries(context).map(([k, v]) => {
    if (typeof v !== 'string')
      throw new KmsError('InvalidRequest', `encryption context value of "${k}" is not a string`);
    if (k === '') throw new KmsError('InvalidRequest', 'encryption context keys must not be empty');
    return [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const;
  });
  pairs.sort(([a], [b]) => Buffer.compare(a, b));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  const bytes = Buffer.concat(parts);
  if (bytes.length > MAX_CONTEXT_BYTES) {
    throw new KmsError(
      'InvalidRequest',
      `the encryption context encodes to ${bytes.length} bytes, over ${MAX_CONTEXT_BYTES}`,
    );
  }
  return bytes;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
