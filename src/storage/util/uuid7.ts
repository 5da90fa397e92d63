/**
 * UUIDv7 (RFC 9562): a 48-bit millisecond timestamp, then random bits. Ids sort as text in creation order, which
 * S3 listings rely on (uploads of one key are listed in initiation order and paged by upload id).
 */
import { fillRandom } from './random-pool';

let lastMs = 0;
let counter = 0;

/** A new version 7 UUID; ids made in the same millisecond by this process still sort in creation order. */
export function uuid7(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = 0;
  } else {
    counter = (counter + 1) & 0xfff;
    if (counter === 0) lastMs++; // 4096 ids in one millisecond: borrow the next one
  }
  const b = Buffer.allocUnsafe(16);
  fillRandom(b, 6, 10);
  b.writeUIntBE(lastMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
