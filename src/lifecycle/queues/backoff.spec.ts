/** The capped backoff doubles from the job's delay and stops at the cap; unknown types are refused. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MinimalJob } from 'bullmq';
import { CAPPED_BACKOFF_MAX_MS, CAPPED_EXPONENTIAL, cappedBackoff } from './backoff';

function job(delay: number): MinimalJob {
  return { opts: { backoff: { type: CAPPED_EXPONENTIAL, delay } } } as unknown as MinimalJob;
}

describe('cappedBackoff', () => {
  it('doubles from the delay, then stays at the cap', () => {
    const got = [1, 2, 3, 4, 10, 11, 500].map((n) =>
      cappedBackoff(n, CAPPED_EXPONENTIAL, undefined, job(1000)),
    );
    assert.deepEqual(got, [1000, 2000, 4000, 8000, 512_000, CAPPED_BACKOFF_MAX_MS, CAPPED_BACKOFF_MAX_MS]);
  });
  it('refuses a type it does not know', () => {
    assert.throws(() => cappedBackoff(1, 'linear', undefined, job(10)), /unknown backoff strategy linear/);
  });
});
