import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandEllipses, localDriveDirs, MAX_DRIVES, parseDriveList, splitDrive } from './drive-list';

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
  ];
  for (const [value, error] of bad) {
    it(`rejects ${JSON.stringify(value)}`, () => assert.throws(() => parseDriveList(value, '/work'), error));
  }

  it('accepts sibling names that share a prefix', () => {
    assert.deepEqual(parseDriveList('/a,/a-b,/ab', '/'), ['/a', '/a-b', '/ab']);
  });
});

describe('parseDriveList with drive URLs (a cluster)', () => {
  const good: [string, string[]][] = [
    [
      'http://10.0.1.5:9100/mnt/d1,http://10.0.1.6:9100/mnt/d1',
      ['http://10.0.1.5:9100/mnt/d1', 'http://10.0.1.6:9100/mnt/d1'],
    ],
    // Normalised: the host lower-cased, a trailing slash dropped, the directory decoded.
    [
      'http://Node-1.Example:9100/mnt/d1/,http://node-1.example:9100/mnt/d2//',
      ['http://node-1.example:9100/mnt/d1', 'http://node-1.example:9100/mnt/d2'],
    ],
    [
      'http://h:9100/mnt/with%20space,http://h:9100/mnt/%C3%A9',
      ['http://h:9100/mnt/with space', 'http://h:9100/mnt/é'],
    ],
    ['http://[::1]:9100/d{1...2}', ['http://[::1]:9100/d1', 'http://[::1]:9100/d2']],
    // Ranges in the host, the port and the path, the leftmost slowest.
    [
      'http://10.0.1.{1...2}:91{00...01}/mnt/disk{1...2}',
      [
        'http://10.0.1.1:9100/mnt/disk1',
        'http://10.0.1.1:9100/mnt/disk2',
        'http://10.0.1.1:9101/mnt/disk1',
        'http://10.0.1.1:9101/mnt/disk2',
        'http://10.0.1.2:9100/mnt/disk1',
        'http://10.0.1.2:9100/mnt/disk2',
        'http://10.0.1.2:9101/mnt/disk1',
        'http://10.0.1.2:9101/mnt/disk2',
      ],
    ],
    ['http://node{1...2}:9100/data', ['http://node1:9100/data', 'http://node2:9100/data']],
    // One node's directory may lie inside a directory of another node: they are different disks.
    ['http://a:1/d,http://b:1/d/x', ['http://a:1/d', 'http://b:1/d/x']],
  ];
  for (const [value, expected] of good) {
    it(`parses ${JSON.stringify(value)}`, () => assert.deepEqual(parseDriveList(value, '/work'), expected));
  }

  const bad: [string, RegExp][] = [
    ['/a,http://h:1/b', /either local directories or, for a cluster, drive URLs, not both/],
    ['http://h:1/b,/a', /not both/],
    ['http://h:1/b,rel/a', /not both/],
    ['http://h/d{1...2}', /"http:\/\/h\/d1": give the node's storage port/],
    [
      'http://h:1/d1?x=1,http://h:1/d2',
      /"http:\/\/h:1\/d1\?x=1": a drive URL has no credentials, query or fragment/,
    ],
    ['http://h:1/d1#frag,http://h:1/d2', /no credentials, query or fragment/],
    ['http://user:pw@h:1/d1,http://h:1/d2', /no credentials, query or fragment/],
    ['http://h:1,http://h:1/d', /"http:\/\/h:1": the directory must be an absolute, normalised path/],
    ['http://h:1/,http://h:1/d', /absolute, normalised path/],
    ['http://h:1//d1,http://h:1/d2', /absolute, normalised path/],
    ['http://h:1/a%2F..%2Fb,http://h:1/d2', /absolute, normalised path/],
    // Decoded, these would name another directory when the normalised URL is read again.
    [
      'http://h:1/mnt/a%23b,http://h:1/d2',
      /"http:\/\/h:1\/mnt\/a%23b": a drive directory named in a URL may not hold %, # or \?/,
    ],
    ['http://h:1/mnt/a%3Fb,http://h:1/d2', /may not hold %, # or \?/],
    ['http://h:1/mnt/a%25b,http://h:1/d2', /may not hold %, # or \?/],
    ['https://h:1/d1,https://h:1/d2', /drive URLs are http:\/\/host:port\/directory/],
    ['ftp://h:1/d1,ftp://h:1/d2', /drive URLs are http:\/\/host:port\/directory/],
    ['http://[::1/d1,http://h:1/d2', /is not a URL/],
    ['http://h:1/d,http://H:1/d/', /drive http:\/\/h:1\/d is listed twice/],
    ['http://h:1/d,http://h:1/d/x', /drive http:\/\/h:1\/d\/x lies inside drive http:\/\/h:1\/d/],
    ['http://h:1/d', /only 1 drive given/],
  ];
  for (const [value, error] of bad) {
    it(`rejects ${JSON.stringify(value)}`, () => assert.throws(() => parseDriveList(value, '/work'), error));
  }
});

describe('splitDrive and localDriveDirs', () => {
  const cluster = parseDriveList('http://n{1...2}:9100/mnt/d{1...2}', '/');

  it("split a drive into its node's origin and its directory", () => {
    assert.deepEqual(splitDrive('http://n1:9100/mnt/with space'), {
      origin: 'http://n1:9100',
      dir: '/mnt/with space',
    });
    assert.deepEqual(splitDrive('/mnt/d1'), { origin: '', dir: '/mnt/d1' });
  });

  it("give this node's directories of a cluster, every directory without one", () => {
    assert.deepEqual(localDriveDirs(cluster, 'http://n2:9100'), ['/mnt/d1', '/mnt/d2']);
    assert.deepEqual(localDriveDirs(cluster, 'http://n3:9100'), []);
    assert.deepEqual(localDriveDirs(cluster, 'http://n1:9101'), [], 'another port is another node');
    assert.deepEqual(localDriveDirs(['/a', '/b'], undefined), ['/a', '/b']);
    assert.deepEqual(localDriveDirs(cluster, undefined), []);
  });
});
