/** lifecycle-days.ts: AWS's "rounded up to the next midnight UTC", and the same with a shortened day. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dayLengthMs, dueAfterDays, MAX_DUE_MS } from './lifecycle-days';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number): string => new Date(ms).toISOString();

describe('dueAfterDays with 86400-second days', () => {
  const table: [string, number, string][] = [
    // AWS's own example: created 2014-01-15 10:30 UTC, 3 days -> 2014-01-19 00:00 UTC.
    ['2014-01-15T10:30:00.000Z', 3, '2014-01-19T00:00:00.000Z'],
    ['2014-01-15T23:59:59.999Z', 3, '2014-01-19T00:00:00.000Z'],
    // Exactly at midnight: still a full `days` later plus the rest of that day (MinIO's ExpectedExpiryTime).
    ['2014-01-15T00:00:00.000Z', 3, '2014-01-19T00:00:00.000Z'],
    ['2014-01-15T00:00:00.001Z', 1, '2014-01-17T00:00:00.000Z'],
    // Days 0 (transitions): the next midnight.
    ['2014-01-15T10:30:00.000Z', 0, '2014-01-16T00:00:00.000Z'],
    // Across a month and a leap day.
    ['2024-02-28T12:00:00.000Z', 1, '2024-03-01T00:00:00.000Z'],
  ];
  for (const [from, days, due] of table) {
    it(`${from} + ${days} -> ${due}`, () => assert.equal(iso(dueAfterDays(at(from), days, 86_400)), due));
  }

  it('is never less than `days` full days after the start', () => {
    for (const t of [0, 1, 86_399_999, 86_400_000, 123_456_789_012]) {
      for (const days of [0, 1, 7]) {
        const due = dueAfterDays(t, days, 86_400);
        assert.ok(due > t + days * 86_400_000 - 1 && due <= t + (days + 1) * 86_400_000, `${t} ${days}`);
        assert.equal(due % 86_400_000, 0);
      }
    }
  });
});

describe('dueAfterDays with a 2-second day', () => {
  const table: [number, number, number][] = [
    [1_001, 1, 4_000], // day [0, 2000) -> boundary 2000 is +0, 4000 is +1
    [1_999, 1, 4_000],
    [2_000, 1, 6_000],
    [2_000, 0, 4_000],
    [1_700_000_001_500, 3, 1_700_000_008_000],
  ];
  for (const [from, days, due] of table) {
    it(`${from} ms + ${days} -> ${due} ms`, () => assert.equal(dueAfterDays(from, days, 2), due));
  }
});

describe('day length', () => {
  it('refuses a non-positive or fractional daySeconds', () => {
    for (const bad of [0, -1, 1.5, NaN]) assert.throws(() => dayLengthMs(bad), RangeError);
    assert.equal(dayLengthMs(2), 2000);
  });

  it('clamps absurd Days to the last instant a Date can hold', () => {
    assert.equal(dueAfterDays(0, 2_147_483_647, 86_400), MAX_DUE_MS);
  });
});
