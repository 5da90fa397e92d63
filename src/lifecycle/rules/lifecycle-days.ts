/**
 * Lifecycle day arithmetic. AWS: "Amazon S3 calculates the time by adding the number of days specified in the
 * rule to the object creation time and rounding up the resulting time to the next day midnight UTC" (an object
 * created 2014-01-15 10:30 UTC under a 3-day rule is due 2014-01-19 00:00 UTC); the same holds from the moment a
 * version became noncurrent, and from a multipart upload's initiation.
 *
 * A lifecycle day lasts `daySeconds` (TIERGATE_LIFECYCLE_DAY_SECONDS; 86400 in production, 2 in tests), and its
 * "midnights" are the instants that are whole multiples of `daySeconds` since the Unix epoch. With 86400 those are
 * exactly the UTC midnights (Unix time has no leap seconds), so production matches AWS to the millisecond; with 2
 * they are the even seconds.
 *
 * The due time is the start of the day that begins `days + 1` boundaries after the start of the day the time falls
 * in: `(floor(t / D) + days + 1) * D`. So a version is always at least `days` full days old when due, and one
 * created exactly on a boundary still waits `days + 1` days (as MinIO's ExpectedExpiryTime computes it). Days 0
 * (allowed for transitions) means the next boundary.
 *
 * Date-based actions are calendar instants (midnight UTC of that date) and are not scaled by `daySeconds`.
 */

/** Latest instant a JavaScript Date can hold; due times beyond it (absurd Days values) are clamped to it. */
export const MAX_DUE_MS = 8.64e15;

/** The length of a lifecycle day in milliseconds; refuses a non-positive or fractional `daySeconds`. */
export function dayLengthMs(daySeconds: number): number {
  if (!Number.isInteger(daySeconds) || daySeconds < 1) {
    throw new RangeError(`daySeconds must be a positive integer, got ${daySeconds}`);
  }
  return daySeconds * 1000;
}

/** When an action `days` days after `fromMs` is due: the matching day boundary, as defined above. */
export function dueAfterDays(fromMs: number, days: number, daySeconds: number): number {
  const day = dayLengthMs(daySeconds);
  const due = (Math.floor(fromMs / day) + days + 1) * day;
  return Math.min(due, MAX_DUE_MS);
}
