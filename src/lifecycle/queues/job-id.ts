/**
 * Deterministic BullMQ job ids. BullMQ 6 rejects custom ids that contain ':' (its key separator; it tolerates
 * exactly three parts only for legacy repeatable jobs) or that parse as integers (its own counter ids), and object
 * keys may contain anything, so the identity tuple is hashed: `<kind>-<base64url(sha256(JSON(tuple)))>`. The kind
 * prefix keeps ids readable and never numeric; JSON keeps the tuple unambiguous ('a/b'+'c' differs from 'a'+'b/c').
 */
import { createHash } from 'node:crypto';
import { JOB_IDENTITY, type JobKind, type JobPayloads } from './job-types';

/** The job id of `payload` as a job of `kind`; equal identities give equal ids. */
export function jobId<K extends JobKind>(kind: K, payload: JobPayloads[K]): string {
  const tuple = JOB_IDENTITY[kind](payload);
  return `${kind}-${createHash('sha256').update(JSON.stringify(tuple)).digest('base64url')}`;
}
