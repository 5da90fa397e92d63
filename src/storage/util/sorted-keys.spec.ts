/**
 * sorted-keys.ts against a model (one flat array kept sorted with compareKeys): thousands of seeded random adds and
 * deletes over keys with multi-byte UTF-8, astral characters, shared prefixes and '/', checking size, iteration
 * order, next() and ceil() for present and absent probes. The set grows to several thousand keys so chunks of 512
 * split, and shrinks back to nothing so emptied chunks are dropped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomInt, seededRandom } from '../../../test/fixtures/prng';
import { compareKeys } from '../layout';
import { SortedKeys } from './sorted-keys';

// One to three UTF-8 bytes, the last BMP characters (which must sort before astral ones although their UTF-16 code
// units are larger than a surrogate's), astral characters (four bytes, surrogate pairs in JS), NUL and '/'.
const PIECES = [
  'a',
  'b',
  'z',
  '0',
  '/',
  '\0',
  '\u007f',
  '\u0080',
  'é',
  '中',
  '\ud7ff',
  '\ue000',
  '\ufffd',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
];
const PREFIXES = ['', 'photos/', 'photos/2024/', 'photo', 'a/b/', '中文/', '\u{1f600}/', '\ue000'];
/** Above every key the generator can make (at most four pieces after a prefix that is not astral-led). */
const TOP = '\u{10ffff}'.repeat(6);

function randomKey(rand: () => number): string {
  let key = PREFIXES[randomInt(rand, 0, PREFIXES.length - 1)];
  const n = randomInt(rand, 1, 4);
  for (let i = 0; i < n; i++) key += PIECES[randomInt(rand, 0, PIECES.length - 1)];
  return key;
}

/** First index of `model` whose key is >= key (strict: > key). */
function bound(model: string[], key: string, strict: boolean): number {
  let lo = 0;
  let hi = model.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(model[mid], key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The model: a plain sorted array, changed by splicing. */
class Model {
  readonly keys: string[] = [];
  has(key: string): boolean {
    const i = bound(this.keys, key, false);
    return i < this.keys.length && this.keys[i] === key;
  }
  add(key: string): boolean {
    const i = bound(this.keys, key, false);
    if (i < this.keys.length && this.keys[i] === key) return false;
    this.keys.splice(i, 0, key);
    return true;
  }
  delete(key: string): boolean {
    const i = bound(this.keys, key, false);
    if (i === this.keys.length || this.keys[i] !== key) return false;
    this.keys.splice(i, 1);
    return true;
  }
  ceil(key: string): string | undefined {
    return this.keys[bound(this.keys, key, false)];
  }
  next(after: string | undefined): string | undefined {
    return after === undefined ? this.keys[0] : this.keys[bound(this.keys, after, true)];
  }
}

/** The smallest key above `key` (nothing sorts between them). */
const justAbove = (key: string): string => `${key}\0`;
/** `key` without its last code point (never splits a surrogate pair). */
const shorter = (key: string): string => [...key].slice(0, -1).join('');

function verify(set: SortedKeys, model: Model, rand: () => number, label: string): void {
  const keys = model.keys;
  assert.equal(set.size, keys.length, `${label}: size`);
  assert.deepEqual([...set], keys, `${label}: iteration order`);
  assert.equal(set.next(undefined), keys[0], `${label}: next(undefined)`);
  for (let i = 0; i < keys.length; i++) {
    // Each present key, including the last key of every chunk, finds itself and its successor.
    assert.equal(set.ceil(keys[i]), keys[i], `${label}: ceil of present ${JSON.stringify(keys[i])}`);
    assert.equal(set.next(keys[i]), keys[i + 1], `${label}: next after present ${JSON.stringify(keys[i])}`);
  }
  const probes = ['', '/', TOP];
  for (let i = 0; i < 300; i++) probes.push(randomKey(rand));
  for (let i = 0; i < 100 && keys.length > 0; i++) {
    const k = keys[randomInt(rand, 0, keys.length - 1)];
    // Between a key and its successor, and just below a key (often in the previous chunk).
    probes.push(justAbove(k), shorter(k), `${shorter(k)}\uffff`);
  }
  for (const p of probes) {
    assert.equal(set.ceil(p), model.ceil(p), `${label}: ceil(${JSON.stringify(p)})`);
    assert.equal(set.next(p), model.next(p), `${label}: next(${JSON.stringify(p)})`);
  }
}

describe('SortedKeys', () => {
  it('the model sorts in UTF-8 byte order (so the checks below are against S3 order, not against compareKeys)', () => {
    const rand = seededRandom(7);
    const model = new Model();
    for (let i = 0; i < 3000; i++) model.add(randomKey(rand));
    const byBytes = [...model.keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    assert.deepEqual(model.keys, byBytes);
    // The case compareKeys exists for: astral characters (UTF-16 0xD800.. code units) after U+E000..U+FFFF.
    const tail = new Model();
    for (const k of ['\u{1f600}', '\uffff', '\u{10000}', '\ue000', '\ud7ff']) tail.add(k);
    assert.deepEqual(tail.keys, ['\ud7ff', '\ue000', '\uffff', '\u{10000}', '\u{1f600}']);
  });

  it('is empty when new and after every key was deleted', () => {
    const set = new SortedKeys();
    assert.equal(set.size, 0);
    assert.deepEqual([...set], []);
    assert.equal(set.next(undefined), undefined);
    assert.equal(set.next(''), undefined);
    assert.equal(set.ceil(''), undefined);
    assert.equal(set.delete('a'), false);
    assert.equal(set.add('a'), true);
    assert.equal(set.add('a'), false, 'a second add of the same key');
    assert.equal(set.size, 1);
    assert.equal(set.delete('a'), true);
    assert.equal(set.delete('a'), false);
    assert.equal(set.size, 0);
    assert.equal(set.next(undefined), undefined);
    assert.equal(set.ceil(''), undefined);
    assert.equal(set.add('b'), true, 'usable again once emptied');
    assert.deepEqual([...set], ['b']);
  });

  for (const seed of [1, 2, 3]) {
    it(`matches the model through random growth and shrinkage (seed ${seed})`, () => {
      const rand = seededRandom(seed);
      const set = new SortedKeys();
      const model = new Model();
      let peak = 0;
      let emptied = false;
      // Grow (mostly adds), shrink (mostly deletes) to empty, grow again: splits, then chunks emptied and dropped.
      const phases: [ops: number, addChance: number][] = [
        [7000, 0.8],
        [9000, 0.2],
        [3000, 0.75],
      ];
      let step = 0;
      for (const [ops, addChance] of phases) {
        for (let i = 0; i < ops; i++, step++) {
          if (rand() < addChance) {
            const key = randomKey(rand);
            assert.equal(set.add(key), model.add(key), `step ${step}: add ${JSON.stringify(key)}`);
          } else {
            // Mostly present keys (a real delete), sometimes a key that is absent.
            const present = model.keys.length > 0 && rand() < 0.8;
            const key = present ? model.keys[randomInt(rand, 0, model.keys.length - 1)] : randomKey(rand);
            assert.equal(set.delete(key), model.delete(key), `step ${step}: delete ${JSON.stringify(key)}`);
          }
          peak = Math.max(peak, model.keys.length);
          if (peak > 0 && model.keys.length === 0) emptied = true;
          if (step % 1000 === 999) verify(set, model, rand, `seed ${seed} step ${step}`);
        }
        verify(set, model, rand, `seed ${seed} end of phase`);
      }
      assert.ok(peak > 2000, `the set reached ${peak} keys: several chunks`);
      assert.ok(emptied, 'and shrank back to empty');
    });
  }

  // Without surrogates in play the set compares with JavaScript's own order, which puts U+10000 and above before
  // U+E000..U+FFFF: every switch between the two orders must keep S3 order.
  it('keeps byte order as keys with surrogates come and go, and for probes with surrogates', () => {
    const rand = seededRandom(11);
    const set = new SortedKeys();
    const model = new Model();
    const add = (k: string): void => assert.equal(set.add(k), model.add(k), `add ${JSON.stringify(k)}`);
    const del = (k: string): void =>
      assert.equal(set.delete(k), model.delete(k), `delete ${JSON.stringify(k)}`);
    const bmp = ['a', 'b/\ue000', 'b/\uffff', 'b/\ud7ff', '\ue000', '\uffff', 'z'];
    for (let i = 0; i < 2000; i++) add(`k${i}/${bmp[i % bmp.length]}`);
    for (const k of bmp) add(k);
    // No surrogate in the set; the probes with one must still find their place by bytes.
    assert.equal(set.ceil('\u{10000}'), model.ceil('\u{10000}'));
    assert.equal(set.next('b/\u{1f600}'), model.next('b/\u{1f600}'));
    assert.equal(set.next('b/\u{1f600}'), 'k0/a');
    verify(set, model, rand, 'BMP keys only');
    // One astral key: it sorts after every U+E000..U+FFFF key with the same prefix.
    add('b/\u{10000}');
    add('\u{1f600}');
    assert.equal(set.next('b/\uffff'), 'b/\u{10000}');
    assert.equal(set.next('\uffff'), '\u{1f600}');
    verify(set, model, rand, 'with astral keys');
    del('b/\u{10000}');
    verify(set, model, rand, 'one astral key left');
    del('\u{1f600}');
    add('b/\ue001');
    assert.equal(set.next('b/\ue000'), 'b/\ue001');
    verify(set, model, rand, 'astral keys gone again');
  });

  it('splits and drops chunks under sorted and reverse-sorted inserts and deletes', () => {
    const rand = seededRandom(11);
    const keys = new Model();
    while (keys.keys.length < 4000) keys.add(randomKey(rand));
    const sorted = [...keys.keys];
    for (const order of [sorted, [...sorted].reverse()]) {
      const set = new SortedKeys();
      const model = new Model();
      // Always appending at one end is the case where a single chunk keeps filling.
      for (const k of order) assert.equal(set.add(k), model.add(k));
      verify(set, model, rand, 'all inserted');
      // Every other key, then the rest: chunks shrink, then empty out one by one from one end.
      for (let i = 0; i < order.length; i += 2) assert.equal(set.delete(order[i]), model.delete(order[i]));
      verify(set, model, rand, 'half deleted');
      for (let i = 1; i < order.length; i += 2) {
        assert.equal(set.delete(order[i]), model.delete(order[i]));
        if (i % 701 === 0) verify(set, model, rand, `deleting, at ${i}`);
      }
      verify(set, model, rand, 'all deleted');
    }
  });

  it('next() stays right for a cursor while the set changes under it', () => {
    const rand = seededRandom(5);
    const set = new SortedKeys();
    const model = new Model();
    while (model.keys.length < 3000) {
      const k = randomKey(rand);
      set.add(k);
      model.add(k);
    }
    // A listing cursor: each step may delete the key it stands on (as a remove of the listed object would) and
    // add or delete keys elsewhere, before and after the cursor.
    let cursor: string | undefined;
    let steps = 0;
    for (let k = set.next(undefined); k !== undefined; k = set.next(cursor)) {
      assert.equal(k, model.next(cursor), `step ${steps}: next(${JSON.stringify(cursor)})`);
      if (cursor !== undefined) assert.ok(compareKeys(k, cursor) > 0, 'the cursor only moves forward');
      cursor = k;
      if (rand() < 0.5) assert.equal(set.delete(k), model.delete(k));
      for (let j = randomInt(rand, 0, 3); j > 0; j--) {
        const other = randomKey(rand);
        if (rand() < 0.5) assert.equal(set.add(other), model.add(other));
        else assert.equal(set.delete(other), model.delete(other));
      }
      steps++;
    }
    assert.equal(model.next(cursor), undefined, 'the cursor ran to the end of the model too');
    assert.ok(steps > 2000, `walked ${steps} keys`);
    verify(set, model, rand, 'after the walk');
  });
});
