/**
 * Capped exponential backoff, for jobs that must retry for as long as a cloud is down (a remote delete: the remote
 * object costs money until it goes, and the version that needed it is already gone). BullMQ's own `exponential`
 * doubles without bound, so after a day's outage the next try would be a day away; this one doubles from the job's
 * `backoff.delay` up to CAPPED_BACKOFF_MAX_MS and stays there. Jobs ask for it with
 * `backoff: { type: CAPPED_EXPONENTIAL, delay }`; every worker registers `cappedBackoff` as its custom strategy.
 */
import type { MinimalJob } from 'bullmq';

/** The backoff type name jobs use to ask for the capped strategy. */
export const CAPPED_EXPONENTIAL = 'capped-exponential';

/** Longest pause between two attempts of a capped job: 10 minutes. */
export const CAPPED_BACKOFF_MAX_MS = 10 * 60_000;

/** The pause before attempt `attemptsMade + 1`: delay * 2^(attemptsMade - 1), at most CAPPED_BACKOFF_MAX_MS. */
export function cappedBackoff(attemptsMade: number, type?: string, _err?: Error, job?: MinimalJob): number {
  if (type !== CAPPED_EXPONENTIAL) throw new Error(`unknown backoff strategy ${type ?? '(none)'}`);
  const base = (job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 1_000;
  const exp = Math.min(30, Math.max(0, attemptsMade - 1));
  return Math.min(CAPPED_BACKOFF_MAX_MS, base * 2 ** exp);
}
