/** object-conditions.ts: Range resolution and RFC 7232 conditional evaluation, as tables. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Conditions,
  etagListMatches,
  evaluateConditions,
  hasConditions,
  parseRange,
} from './object-conditions';

describe('parseRange', () => {
  const cases: [string | undefined, number, ReturnType<typeof parseRange>][] = [
    [undefined, 100, { kind: 'none' }],
    ['bytes=0-9', 100, { kind: 'range', range: { start: 0, end: 9 } }],
    ['bytes=10-10', 100, { kind: 'range', range: { start: 10, end: 10 } }],
    ['bytes=90-', 100, { kind: 'range', range: { start: 90, end: 99 } }],
    ['bytes=0-', 100, { kind: 'range', range: { start: 0, end: 99 } }],
    ['bytes=50-1000', 100, { kind: 'range', range: { start: 50, end: 99 } }],
    ['bytes=-10', 100, { kind: 'range', range: { start: 90, end: 99 } }],
    ['bytes=-1000', 100, { kind: 'range', range: { start: 0, end: 99 } }],
    ['Bytes = 1-2', 100, { kind: 'range', range: { start: 1, end: 2 } }],
    ['bytes=99-99', 100, { kind: 'range', range: { start: 99, end: 99 } }],
    // Unsatisfiable: 416.
    ['bytes=100-', 100, { kind: 'unsatisfiable' }],
    ['bytes=100-200', 100, { kind: 'unsatisfiable' }],
    ['bytes=-0', 100, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=-5', 0, { kind: 'unsatisfiable' }],
    // Malformed or multiple ranges: ignored, the whole object is served (as AWS does).
    ['bytes=0-1,3-4', 100, { kind: 'none' }],
    ['bytes=5-2', 100, { kind: 'none' }],
    ['bytes=a-b', 100, { kind: 'none' }],
    ['bytes=-', 100, { kind: 'none' }],
    ['bytes=1', 100, { kind: 'none' }],
    ['items=0-1', 100, { kind: 'none' }],
    ['bytes=-1-2', 100, { kind: 'none' }],
    ['bytes=0x1-2', 100, { kind: 'none' }],
  ];
  for (const [header, size, expected] of cases) {
    it(`${String(header)} of ${size} bytes -> ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseRange(header, size), expected);
    });
  }
});

describe('etagListMatches', () => {
  const cases: [string, boolean][] = [
    ['"abc"', true],
    ['abc', true],
    ['*', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x","y"', false],
    ['"abcd"', false],
    ['', false],
  ];
  for (const [list, expected] of cases) {
    it(`${JSON.stringify(list)} vs abc -> ${expected}`, () =>
      assert.equal(etagListMatches(list, 'abc'), expected));
  }
});

describe('evaluateConditions', () => {
  const etag = 'abc';
  const mod = new Date('2024-05-01T12:00:00.700Z');
  const before = 'Wed, 01 May 2024 11:00:00 GMT';
  const same = 'Wed, 01 May 2024 12:00:00 GMT'; // Last-Modified as sent: whole seconds
  const after = 'Wed, 01 May 2024 13:00:00 GMT';
  const cases: [string, Conditions, ReturnType<typeof evaluateConditions>][] = [
    ['none', {}, 'ok'],
    ['If-Match hit', { ifMatch: '"abc"' }, 'ok'],
    ['If-Match miss', { ifMatch: '"zzz"' }, 'precondition-failed'],
    ['If-Match *', { ifMatch: '*' }, 'ok'],
    ['If-None-Match hit', { ifNoneMatch: '"abc"' }, 'not-modified'],
    ['If-None-Match miss', { ifNoneMatch: '"zzz"' }, 'ok'],
    ['If-None-Match *', { ifNoneMatch: '*' }, 'not-modified'],
    ['If-Modified-Since before', { ifModifiedSince: before }, 'ok'],
    ['If-Modified-Since same second', { ifModifiedSince: same }, 'not-modified'],
    ['If-Modified-Since after', { ifModifiedSince: after }, 'not-modified'],
    ['If-Unmodified-Since before', { ifUnmodifiedSince: before }, 'precondition-failed'],
    ['If-Unmodified-Since same second', { ifUnmodifiedSince: same }, 'ok'],
    ['If-Unmodified-Since after', { ifUnmodifiedSince: after }, 'ok'],
    ['unparsable dates are ignored', { ifModifiedSince: 'yesterday', ifUnmodifiedSince: 'soon' }, 'ok'],
    // Precedence (RFC 7232 section 6, as S3 documents it).
    [
      'If-Match hit overrides failing If-Unmodified-Since',
      { ifMatch: '"abc"', ifUnmodifiedSince: before },
      'ok',
    ],
    [
      'If-None-Match miss overrides If-Modified-Since',
      { ifNoneMatch: '"zzz"', ifModifiedSince: after },
      'ok',
    ],
    [
      'If-None-Match hit with If-Modified-Since before',
      { ifNoneMatch: '"abc"', ifModifiedSince: before },
      'not-modified',
    ],
    ['412 wins over 304', { ifMatch: '"zzz"', ifNoneMatch: '"abc"' }, 'precondition-failed'],
    [
      'If-Unmodified-Since fail wins over 304',
      { ifUnmodifiedSince: before, ifNoneMatch: '"abc"' },
      'precondition-failed',
    ],
    ['If-Match hit and If-None-Match hit', { ifMatch: '"abc"', ifNoneMatch: '"abc"' }, 'not-modified'],
  ];
  for (const [name, c, expected] of cases) {
    it(`${name} -> ${expected}`, () => assert.equal(evaluateConditions(c, etag, mod), expected));
  }

  it('hasConditions sees each header', () => {
    assert.equal(hasConditions({}), false);
    for (const k of ['ifMatch', 'ifNoneMatch', 'ifModifiedSince', 'ifUnmodifiedSince'] as const) {
      assert.equal(hasConditions({ [k]: 'x' }), true, k);
    }
  });
});
