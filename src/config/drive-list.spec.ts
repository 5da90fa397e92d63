import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandEllipses, MAX_DRIVES, parseDriveList } from './drive-list';

describe('expandEllipses', () => {
  const good: [string, string[]][] = [
    ['/mnt/disk1', ['/mnt/disk1']],
    ['/mnt/disk{1...4}', ['/mnt/disk1', '/mnt/disk2', '/mnt/disk3', '/mnt/disk4']],
    ['./data/d{1...4}', ['./data/d1', './data/d2', './data/d3', './data/d4']],
    ['/d{3...3}', ['/d3']],
    ['/d{8...11}/x', ['/d8/x', '/d9/x', '/d10/x', '/d11/x']],
    ['/d{01...03}', ['/d01', '/d02', '/d03']],
    ['/d{009...011}', ['/d009', '/d010', '/d011']],
    ['/d{0...2}', ['/d0', '/d1', '/d2']],
    ['/h{1...2}/d{1...2}', ['/h1/d1', '/h1/d2', '/h2/d1', '/h2/d2']],
  ];
  for (const [pattern, expected] of good) {
    it(`expands ${pattern}`, () => assert.deepEqual(expandEllipses(pattern), expected));
  }

  const bad: [string, RegExp][] = [
    ['/d{4...1}', /runs backwards/],
    ['/d{1..4}', /not a range/],
    ['/d{a...c}', /not a range/],
    ['/d{1...}', /not a range/],
    ['/d{}', /not a range/],
    ['/d{1...4', /unbalanced brace/],
    ['/d1...4}', /unbalanced brace/],
    ['/d{{1...4}}', /unbalanced brace/],
    [`/d{1...${MAX_DRIVES + 1}}`, /more than 1024/],
    ['/a{1...64}/b{1...64}', /expands to 4096 drives/],
  ];
  for (const [pattern, error] of bad) {
    it(`rejects ${pattern}`, () => assert.throws(() => expandEllipses(pattern), error));
  }
});

describe('parseDriveList', () => {
  const good: [string, string[]][] = [
    ['/a,/b', ['/a', '/b']],
    [' /a , /b ', ['/a', '/b']],
    ['rel/a,/abs/b', ['/work/rel/a', '/abs/b']],
    ['./data/d{1...2},/x/y{1...2}', ['/work/data/d1', '/work/data/d2', '/x/y1', '/x/y2']],
    ['/mnt/disk{1...8}', [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `/mnt/disk${i}`)],
    ['/a/,/b//', ['/a', '/b']],
  ];
  for (const [value, expected] of good) {
    it(`parses ${JSON.stringify(value)}`, () => assert.deepEqual(parseDriveList(value, '/work'), expected));
  }

  const bad: [string, RegExp][] = [
    ['/a', /only 1 drive given/],
    ['/a,,/b', /entry 2 is empty/],
    ['/a,/b,', /entry 3 is empty/],
    ['/a,/a', /\/a is listed twice/],
    ['/a,/b,/a/', /\/a is listed twice/],
    ['/d{1...2},/d2', /\/d2 is listed twice/],
    ['/a,/a/b', /\/a\/b lies inside drive \/a/],
    ['/a/b/c,/a', /\/a\/b\/c lies inside drive \/a/],
    ['http://node{1...4}/mnt/disk{1...4}', /remote drives \(URLs\) are not supported/],
  ];
  for (const [value, error] of bad) {
    it(`rejects ${JSON.stringify(value)}`, () => assert.throws(() => parseDriveList(value, '/work'), error));
  }

  it('accepts sibling names that share a prefix', () => {
    assert.deepEqual(parseDriveList('/a,/a-b,/ab', '/'), ['/a', '/a-b', '/ab']);
  });
});
