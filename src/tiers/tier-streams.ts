/**
 * Stream helpers both backends share: a checked response body (counts bytes, fails on a short or long body, maps
 * transport errors to TierError, releases the socket when the reader gives up), and a part cutter that turns an
 * unsized upload stream into fixed-size parts one at a time, so an upload's memory is bounded by the part size
 * times the parts in flight, never by the object's size.
 */
import { Transform, type Readable } from 'node:stream';
import { copyingMd5, type Md5Hasher } from '../common/md5-hasher';
import { TierError } from './tier-error';

/**
 * Wraps a response body: errors of `source` become `toError(err)`; a body that ends before `expected` bytes (or
 * runs past them) fails with Unavailable instead of ending, so a reader never mistakes a cut connection for the
 * end of the object. Destroying the returned stream destroys `source` (and frees its socket).
 */
export function checkedBody(
  source: Readable,
  expected: number | undefined,
  toError: (err: unknown) => TierError,
  what: string,
): Readable {
  let seen = 0;
  const short = (): TierError =>
    new TierError('Unavailable', `${what}: the body ended after ${seen} of ${expected ?? '?'} bytes`);
  const out = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (expected !== undefined && seen > expected)
        done(
          new TierError('Unavailable', `${what}: the body is longer than the ${expected} bytes announced`),
        );
      else done(null, chunk);
    },
    flush(done) {
      done(expected !== undefined && seen !== expected ? short() : null);
    },
  });
  source.on('error', (err) => out.destroy(toError(err)));
  source.on('close', () => {
    if (!source.readableEnded && !out.destroyed) out.destroy(short());
  });
  out.on('close', () => {
    if (!source.destroyed) source.destroy();
  });
  source.pipe(out);
  return out;
}

/** The most parts a multipart upload may have, on S3 and on OSS alike. */
export const MAX_PARTS = 10_000;

const MiB = 1024 * 1024;

/**
 * The part size of an upload of `size` bytes: the backend's `partSize`, or more (whole MiB) when `partSize` would
 * need more than MAX_PARTS parts. Unsized uploads use `partSize`.
 */
export function partSizeFor(size: number | undefined, partSize: number): number {
  return size !== undefined && size > partSize * MAX_PARTS
    ? Math.ceil(size / MAX_PARTS / MiB) * MiB
    : partSize;
}

/**
 * Cuts `source` into parts of exactly `partSize` bytes (the last one shorter; an empty source yields one empty
 * part, so a 0-byte object is still one PUT). Holds one part buffer at a time: the caller decides how many
 * yielded parts it keeps in flight.
 */
export async function* cutParts(
  source: AsyncIterable<Buffer | string>,
  partSize: number,
): AsyncGenerator<Buffer> {
  let part = Buffer.allocUnsafe(partSize);
  let filled = 0;
  let yielded = false;
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    while (chunk.length > 0) {
      const n = Math.min(chunk.length, partSize - filled);
      chunk.copy(part, filled, 0, n);
      filled += n;
      chunk = chunk.subarray(n);
      if (filled === partSize) {
        yield part;
        yielded = true;
        part = Buffer.allocUnsafe(partSize);
        filled = 0;
      }
    }
  }
  if (filled > 0 || !yielded) yield part.subarray(0, filled);
}

/** Printable ASCII without leading/trailing spaces: what both clouds sign and store unchanged. */
const PRINTABLE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;
const META_KEY = /^[a-z0-9][a-z0-9-]*$/;

/** Throws InvalidConfig unless every metadata key is lower-case `[a-z0-9-]` and every value printable ASCII. */
export function checkMetadata(meta: Record<string, string> | undefined, tier: string): void {
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (!META_KEY.test(key) || (value !== '' && !PRINTABLE.test(value)))
      throw new TierError(
        'InvalidConfig',
        `metadata ${key}=${value} is not lower-case [a-z0-9-] = printable ASCII`,
        {
          tier,
        },
      );
  }
}

/** Throws InvalidRange unless `start <= end`, both non-negative integers. */
export function checkRange(range: { start: number; end: number }, tier: string): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start)
    throw new TierError('InvalidRange', `bad range ${start}-${end}`, { tier });
}

/** An upload body that counts its bytes and, when `expected` is given, fails unless exactly that many pass. */
export interface CountedBody {
  stream: Readable;
  /** Bytes passed so far. */
  count(): number;
  /**
   * Hex MD5 of every byte passed, once the body ended (when asked for; undefined otherwise). A promise: the digest
   * comes from the hashing worker, and the cloud may answer before it does.
   */
  md5(): Promise<string | undefined>;
}

/**
 * Wraps an upload body so `put` knows how many bytes it sent and a source shorter or longer than its declared size
 * fails the upload (a short body under a Content-Length would otherwise hang until a timeout). With `md5`, it also
 * hashes them (on the hasher's worker when one is given): a single PutObject's ETag is the MD5 of what the cloud
 * stored, so the two together are its receipt.
 */
export function countedBody(
  source: Readable,
  expected: number | undefined,
  tier: string,
  opts: { md5?: boolean; hasher?: Md5Hasher } = {},
): CountedBody {
  let seen = 0;
  const hash = opts.md5 ? copyingMd5(opts.hasher) : undefined;
  let digest: Promise<string> | undefined;
  const out = new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      seen += buf.length;
      if (expected !== undefined && seen > expected) {
        done(
          new TierError('InvalidConfig', `put: the body is longer than its declared size ${expected}`, {
            tier,
          }),
        );
        return;
      }
      // The chunk goes on at once unless the hash's buffers are full (then once they drain).
      const wait = hash?.update(buf);
      if (wait) wait.then(() => done(null, buf), done);
      else done(null, buf);
    },
    flush(done) {
      if (expected !== undefined && seen !== expected) {
        done(
          new TierError('InvalidConfig', `put: the body has ${seen} bytes, not its declared ${expected}`, {
            tier,
          }),
        );
        return;
      }
      if (!hash) return done(null);
      digest = hash.digest();
      digest.then(() => done(null), done);
    },
    destroy(err, done) {
      if (!digest) hash?.drop();
      done(err);
    },
  });
  source.on('error', (err) => out.destroy(err));
  source.pipe(out);
  return { stream: out, count: () => seen, md5: async () => digest };
}
