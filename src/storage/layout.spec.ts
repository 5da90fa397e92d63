/**
 * layout.ts: key segments become safe file names and back, keys and bucket names are validated as S3 does, and
 * keys compare in UTF-8 byte order.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { randomInt, seededRandom } from '../../test/fixtures/prng';
import {
  checkBucketName,
  checkObjectKey,
  compareKeys,
  escapeSegment,
  HASHED_PREFIX,
  isReservedName,
  MAX_SEGMENT,
  objectDir,
  objectPathComponents,
  unescapeSegment,
} from './layout';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const bytes = (s: string): number => Buffer.byteLength(s);

describe('escapeSegment / unescapeSegment', () => {
  const table: [name: string, segment: string, escaped: string][] = [
    ['empty', '', '%'],
    ['dot', '.', '%2E'],
    ['dot dot', '..', '%2E%2E'],
    ['three dots (a plain name)', '...', '...'],
    ['percent', '%', '%25'],
    ['percent-hex look-alike', '%41', '%2541'],
    ['two percents', '%%', '%25%25'],
    ['escaped dot look-alike', '%2E', '%252E'],
    ['NUL', '\0', '%00'],
    ['NUL inside', 'a\0b', 'a%00b'],
    ['our metadata file name', '%meta', '%25meta'],
    ['our data dir prefix', '%d.x', '%25d.x'],
    ['our hashed dir prefix', '%h.x', '%25h.x'],
    ['plain', 'hello world', 'hello world'],
    ['unicode', 'é日本\u{1F600}', 'é日本\u{1F600}'],
    ['unicode with percent', '\u{1F600}%\u{1F600}', '\u{1F600}%25\u{1F600}'],
    ['long', 'x'.repeat(300), 'x'.repeat(300)],
    ['long with escapes', '%\0'.repeat(150), '%25%00'.repeat(150)],
  ];

  for (const [name, segment, escaped] of table) {
    it(`${name}: escapes to ${JSON.stringify(escaped.slice(0, 24))} and back`, () => {
      assert.equal(escapeSegment(segment), escaped);
      assert.equal(unescapeSegment(escaped), segment);
      assert.equal(isReservedName(escaped), false, 'an escaped segment never looks like one of our names');
      assert.ok(!escaped.includes('\0') && !escaped.includes('/'));
      assert.ok(!['', '.', '..'].includes(escaped));
    });
  }

  const reserved = ['%meta', '%name', '%d.0b7e', '%h.abcdef', '%4', '%4g', '%zz', '%2e', 'a%', 'a%2'];
  for (const name of reserved) {
    it(`refuses ${JSON.stringify(name)}, a name escapeSegment never produces`, () => {
      assert.equal(unescapeSegment(name), null);
    });
  }

  // The doc promises null "for names we never produce"; a foreign directory such as `%2F` must not decode to a
  // segment holding `/` (or alias another key's directory, as `%41` would alias `A`).
  const foreign = ['%41', '%2F', 'a%2Fb', '%2E%2E%2E', 'a%2E'];
  for (const name of foreign) {
    it(`treats ${JSON.stringify(name)} as foreign: null, or a segment that escapes back to the same name`, () => {
      const segment = unescapeSegment(name);
      if (segment !== null) assert.equal(escapeSegment(segment), name);
    });
  }
});

describe('objectPathComponents', () => {
  const assertSafe = (key: string): void => {
    const components = objectPathComponents(key);
    const segments = key.split('/');
    assert.equal(components.length, segments.length, key);
    components.forEach((c, i) => {
      assert.ok(!['', '.', '..'].includes(c.name), `component ${JSON.stringify(c.name)} of ${key}`);
      assert.ok(!c.name.includes('/') && !c.name.includes('\0'), `component ${JSON.stringify(c.name)}`);
      assert.ok(bytes(c.name) <= 255, `component of ${bytes(c.name)} bytes`);
      const escaped = escapeSegment(segments[i]);
      if (bytes(escaped) > MAX_SEGMENT) {
        assert.equal(c.name, HASHED_PREFIX + sha256(segments[i]));
        assert.equal(c.hashedSegment, segments[i]);
      } else {
        assert.equal(c.name, escaped);
        assert.equal(c.hashedSegment, undefined);
        assert.equal(unescapeSegment(c.name), segments[i]);
      }
    });
  };

  const keys = [
    'a',
    'a/b/c',
    '.',
    '..',
    '../../x',
    './a/./b',
    'a//b',
    '/x',
    'x/',
    '/',
    '//',
    'a\0b',
    '%',
    '%2E%2E/%2F',
    '%meta/%d.1/%h.2',
    'é/日本/\u{1F600}',
    'x'.repeat(200),
    'x'.repeat(201),
    'x'.repeat(255),
    'x'.repeat(300),
    'é'.repeat(100),
    'é'.repeat(101),
    '%'.repeat(67),
    '%'.repeat(66) + 'ab',
    '\0'.repeat(67),
    `a/${'y'.repeat(300)}/b`,
    '../'.repeat(341) + 'x',
  ];
  for (const key of keys) {
    it(`yields only safe components for ${JSON.stringify(key.slice(0, 40))}${key.length > 40 ? '…' : ''}`, () => {
      assertSafe(key);
    });
  }

  it('yields only safe components for random keys', () => {
    const rand = seededRandom(0x1a7e);
    const alphabet = ['a', 'Z', '/', '/', '.', '..', '%', '%2', '\0', 'é', '\u{1F600}', '\uE000', '-'];
    for (let i = 0; i < 2000; i++) {
      let key = '';
      const len = randomInt(rand, 1, 40);
      for (let j = 0; j < len; j++) key += alphabet[randomInt(rand, 0, alphabet.length - 1)];
      if (rand() < 0.1) key += 'L'.repeat(randomInt(rand, 150, 260));
      if (bytes(key) > 1024) continue;
      assertSafe(key);
    }
  });

  it('hashes exactly the segments whose escaped form exceeds 200 bytes', () => {
    const at = objectPathComponents(
      `${'x'.repeat(200)}/${'y'.repeat(201)}/${'%'.repeat(67)}/${'%'.repeat(66)}`,
    );
    assert.deepEqual(
      at.map((c) => c.hashedSegment !== undefined),
      [false, true, true, false],
    );
    assert.equal(at[1].name, `%h.${sha256('y'.repeat(201))}`);
    assert.equal(at[2].name, `%h.${sha256('%'.repeat(67))}`);
    assert.equal(at[3].name, '%25'.repeat(66));
  });

  it('joins the components into the object directory', () => {
    assert.equal(objectDir('../a//b/'), '%2E%2E/a/%/b/%');
  });

  it('validates the key first', () => {
    assert.throws(() => objectPathComponents(''), { code: 'InvalidObjectName' });
    assert.throws(() => objectPathComponents('k'.repeat(1025)), { code: 'ObjectNameTooLong' });
  });
});

describe('checkObjectKey', () => {
  const accepted: [string, string][] = [
    ['one byte', 'a'],
    ['exactly 1024 ASCII bytes', 'k'.repeat(1024)],
    ['exactly 1024 bytes of 2-byte chars', 'é'.repeat(512)],
    ['exactly 1024 bytes of 4-byte chars', '\u{1F600}'.repeat(256)],
    ['a valid surrogate pair', 'a\uD83D\uDE00b'],
    ['NUL', 'a\0b'],
    ['only slashes', '///'],
  ];
  for (const [name, key] of accepted) {
    it(`accepts ${name}`, () => {
      assert.doesNotThrow(() => checkObjectKey(key));
    });
  }

  const rejected: [string, string, string][] = [
    ['the empty key', '', 'InvalidObjectName'],
    ['1025 ASCII bytes', 'k'.repeat(1025), 'ObjectNameTooLong'],
    ['1025 bytes of mixed width', 'é'.repeat(512) + 'a', 'ObjectNameTooLong'],
    ['1028 bytes of 4-byte chars', '\u{1F600}'.repeat(257), 'ObjectNameTooLong'],
    ['a lone high surrogate', 'a\uD800', 'InvalidObjectName'],
    ['a lone low surrogate', '\uDC00b', 'InvalidObjectName'],
    ['a reversed pair', '\uDE00\uD83D', 'InvalidObjectName'],
    ['a high surrogate before a normal char', '\uD83Dx', 'InvalidObjectName'],
  ];
  for (const [name, key, code] of rejected) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(() => checkObjectKey(key), { code });
    });
  }
});

describe('checkBucketName (AWS general purpose bucket rules)', () => {
  const valid = [
    'abc',
    'a'.repeat(63),
    'my-bucket',
    'my.bucket',
    'my--bucket',
    '1bucket',
    'bucket1',
    '123',
    '192.168.5',
    'a-b.c-d',
    'xn-abc',
    'sthree',
    'amzn-s3-demo',
    'abc-s3alias-x',
    'abc.mrap.x',
  ];
  for (const name of valid) {
    it(`accepts ${name.length > 20 ? `${name.length} chars` : name}`, () => {
      assert.doesNotThrow(() => checkBucketName(name));
    });
  }

  const invalid: [why: string, name: string][] = [
    ['too short', 'ab'],
    ['empty', ''],
    ['too long', 'a'.repeat(64)],
    ['upper case', 'Abc'],
    ['underscore', 'my_bucket'],
    ['space', 'my bucket'],
    ['slash', 'abc/def'],
    ['non-ASCII', 'abcé'],
    ['starts with a hyphen', '-abc'],
    ['ends with a hyphen', 'abc-'],
    ['starts with a dot', '.abc'],
    ['ends with a dot', 'abc.'],
    ['two adjacent periods', 'a..b'],
    ['IP address', '192.168.5.4'],
    ['prefix xn--', 'xn--abc'],
    ['prefix sthree-', 'sthree-abc'],
    ['prefix sthree-configurator', 'sthree-configurator'],
    ['prefix amzn-s3-demo-', 'amzn-s3-demo-bucket'],
    ['suffix -s3alias', 'abc-s3alias'],
    ['suffix --ol-s3', 'abc--ol-s3'],
    ['suffix .mrap', 'abc.mrap'],
    ['suffix --x-s3 (directory buckets)', 'abc--usw2-az1--x-s3'],
    ['suffix --table-s3', 'abc--table-s3'],
  ];
  for (const [why, name] of invalid) {
    it(`rejects ${JSON.stringify(name.slice(0, 24))} (${why}) with InvalidBucketName`, () => {
      assert.throws(() => checkBucketName(name), { code: 'InvalidBucketName' });
    });
  }
});

describe('compareKeys', () => {
  const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

  const table: [string, string][] = [
    ['a', 'b'],
    ['a', 'a'],
    ['a', 'ab'],
    ['', 'a'],
    ['a/', 'a-'],
    ['a/', 'a.'],
    ['a/b', 'a0'],
    ['Z', 'a'],
    ['~', '\u007f'],
    ['\u007f', '\u0080'],
    ['é', 'z'],
    ['\u07ff', '\u0800'],
    ['\uD7FF', '\uE000'],
    ['\uE000', '\u{10000}'],
    ['\uFFFF', '\u{10000}'],
    ['\uFFFD', '\u{1F600}'],
    ['\uE000x', '\u{1F600}'],
    ['\u{1F600}', '\u{1F601}'],
    ['\u{1F600}', '\u{10FFFF}'],
    ['\u{10000}', '\uFFFF\uFFFF'],
    ['a\u{1F600}', 'a\uFFFF'],
    ['a\u{1F600}b', 'a\u{1F600}a'],
  ];
  for (const [a, b] of table) {
    it(`orders ${JSON.stringify(a)} and ${JSON.stringify(b)} as their UTF-8 bytes`, () => {
      assert.equal(Math.sign(compareKeys(a, b)), Math.sign(byBytes(a, b)));
      assert.equal(Math.sign(compareKeys(b, a)), Math.sign(byBytes(b, a)));
    });
  }

  it('agrees with Buffer.compare on random strings', () => {
    const rand = seededRandom(20240611);
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0x2d, 0x2f],
      [0x80, 0x7ff],
      [0x800, 0xd7ff],
      [0xe000, 0xffff],
      [0xfff0, 0xffff],
      [0x10000, 0x10ffff],
      [0x1f600, 0x1f60f],
    ];
    const randomString = (): string => {
      let s = '';
      const len = randomInt(rand, 0, 8);
      for (let i = 0; i < len; i++) {
        const [lo, hi] = ranges[randomInt(rand, 0, ranges.length - 1)];
        s += String.fromCodePoint(randomInt(rand, lo, hi));
      }
      return s;
    };
    const strings: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const a = randomString();
      // Half the pairs share a prefix, so differences show up at every position.
      const points = [...a];
      const b =
        rand() < 0.5
          ? points.slice(0, randomInt(rand, 0, points.length)).join('') + randomString()
          : randomString();
      assert.equal(
        Math.sign(compareKeys(a, b)),
        Math.sign(byBytes(a, b)),
        `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
      );
      strings.push(a, b);
    }
    const sorted = [...strings].sort(compareKeys);
    const expected = [...strings].sort(byBytes);
    assert.deepEqual(sorted, expected);
  });
});
