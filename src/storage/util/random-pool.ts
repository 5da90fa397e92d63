/**
 * Random bytes from a pooled buffer: ids are made on every request (request ids, version and data ids), and one
 * `randomFillSync` of 4 KiB serves hundreds of them instead of one call into OpenSSL each. The bytes come from the
 * same CSPRNG; each byte is handed out once.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let used = POOL_SIZE;

/** Copies `n` (at most 256) fresh random bytes into `into` at `offset`. */
export function fillRandom(into: Buffer, offset: number, n: number): void {
  if (n > 256) throw new RangeError('fillRandom serves at most 256 bytes per call');
  if (used + n > POOL_SIZE) {
    randomFillSync(pool);
    used = 0;
  }
  pool.copy(into, offset, used, used + n);
  used += n;
}

/** `n` fresh random bytes as upper-case hex. */
export function randomHexUpper(n: number): string {
  const b = Buffer.allocUnsafe(n);
  fillRandom(b, 0, n);
  return b.toString('hex').toUpperCase();
}
