/**
 * Pure evaluation of the read-side request conditions S3 honours: `Range` (RFC 7233 as S3 applies it: one range
 * only, a multi-range or malformed header is ignored and the whole object served) and the RFC 7232 conditionals
 * (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since, in that precedence), also used for CopyObject's
 * `x-amz-copy-source-if-*` headers where every failure is a 412.
 */
import type { ByteRange } from '../../storage/object-layer';

/** What a Range header asks for, resolved against the object size. */
export type RangeRequest =
  | { kind: 'none' }
  | { kind: 'range'; range: ByteRange }
  /** Syntactically valid but outside the object: 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' };

const DIGITS = /^\d+$/;

/** Resolves a Range header against an object of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.*?)\s*$/i.exec(header);
  if (!m || m[1].includes(',')) return { kind: 'none' };
  const dash = m[1].indexOf('-');
  if (dash < 0) return { kind: 'none' };
  const first = m[1].slice(0, dash).trim();
  const last = m[1].slice(dash + 1).trim();
  if (first === '') {
    // Suffix range: the last N bytes.
    if (!DIGITS.test(last)) return { kind: 'none' };
    const n = Number(last);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return { kind: 'none' };
  const start = Number(first);
  if (last !== '' && Number(last) < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Number(last);
  return { kind: 'range', range: { start, end: Math.min(end, size - 1) } };
}

/** The conditional headers of one request (GET/HEAD names, or the copy-source ones). */
export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
}

/** Outcome of evaluating conditions: serve, 304 Not Modified, or 412 Precondition Failed. */
export type ConditionOutcome = 'ok' | 'not-modified' | 'precondition-failed';

/** True when an If-Match / If-None-Match list (`*`, `"a"`, `W/"b"`, comma-separated) names `etag`. */
export function etagListMatches(list: string, etag: string): boolean {
  return list.split(',').some((raw) => {
    const t = raw.trim().replace(/^W\//, '');
    return t === '*' || t.replace(/^"(.*)"$/, '$1') === etag;
  });
}

/** An HTTP date in seconds, or undefined when it does not parse (an unparsable date is ignored, per RFC 7232). */
function dateSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** Evaluates conditionals against an object with `etag` last modified at `modTime` (RFC 7232 section 6). */
export function evaluateConditions(c: Conditions, etag: string, modTime: Date): ConditionOutcome {
  const modified = Math.floor(modTime.getTime() / 1000);
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, etag)) return 'precondition-failed';
  } else {
    const since = dateSeconds(c.ifUnmodifiedSince);
    if (since !== undefined && modified > since) return 'precondition-failed';
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, etag)) return 'not-modified';
  } else {
    const since = dateSeconds(c.ifModifiedSince);
    if (since !== undefined && modified <= since) return 'not-modified';
  }
  return 'ok';
}

/** True when any condition is present. */
export function hasConditions(c: Conditions): boolean {
  return (
    c.ifMatch !== undefined ||
    c.ifNoneMatch !== undefined ||
    c.ifModifiedSince !== undefined ||
    c.ifUnmodifiedSince !== undefined
  );
}
