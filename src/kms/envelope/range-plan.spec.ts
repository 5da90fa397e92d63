/** rangePlan as a table: which packages and which ciphertext bytes a plaintext range needs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ciphertextLength, EnvelopeError, PACKAGE_SIZE as P, TAG_LENGTH } from './envelope-format';
import { fetchLength, rangePlan } from './range-plan';

const S = P + TAG_LENGTH;
const H = 100;
const MiB = 1024 * 1024;

describe('rangePlan', () => {
  const cases: [
    string,
    number,
    { start: number; end: number } | undefined,
    Partial<ReturnType<typeof rangePlan>>,
  ][] = [
    [
      'the empty object',
      0,
      undefined,
      { firstPackage: 0, lastPackage: 0, length: 0, cipherStart: H, cipherEnd: H + 15 },
    ],
    ['a whole 1-byte object', 1, undefined, { lastPackage: 0, length: 1, cipherEnd: H + 16 }],
    [
      'the first byte',
      3 * P,
      { start: 0, end: 0 },
      { firstPackage: 0, lastPackage: 0, cipherEnd: H + S - 1 },
    ],
    ['the last byte of a package', 3 * P, { start: P - 1, end: P - 1 }, { firstPackage: 0, lastPackage: 0 }],
    ['the first byte of a package', 3 * P, { start: P, end: P }, { firstPackage: 1, cipherStart: H + S }],
    ['two bytes across a boundary', 3 * P, { start: P - 1, end: P }, { firstPackage: 0, lastPackage: 1 }],
    [
      'the short last package',
      2 * P + 10,
      { start: 2 * P + 9, end: 2 * P + 9 },
      { firstPackage: 2, lastPackage: 2, packageCount: 3, cipherStart: H + 2 * S, cipherEnd: H + 2 * S + 25 },
    ],
    ['a whole object', 2 * P + 10, undefined, { packageCount: 3, cipherStart: H, cipherEnd: H + 2 * S + 25 }],
  ];
  for (const [what, size, range, expected] of cases) {
    it(`plans ${what}`, () => {
      const plan = rangePlan(size, H, range);
      for (const [field, value] of Object.entries(expected)) {
        assert.equal(plan[field as keyof typeof plan], value, field);
      }
    });
  }

  it('plans a whole object as exactly the envelope after its header', () => {
    for (const size of [0, 1, P - 1, P, P + 1, 10 * P, 10 * P + 7]) {
      const plan = rangePlan(size, H);
      assert.equal(plan.cipherEnd + 1, ciphertextLength(size, H), `size ${size}`);
      assert.equal(plan.length, size);
    }
  });

  it('fetches at most a 1 MiB range plus two packages of a 200 MiB object', () => {
    const size = 200 * MiB;
    for (const start of [0, 1, P - 1, 77 * MiB + 12_345, size - MiB]) {
      const plan = rangePlan(size, H, { start, end: start + MiB - 1 });
      assert.ok(fetchLength(plan) <= MiB + 2 * S, `start ${start}: ${fetchLength(plan)}`);
      assert.equal((plan.cipherStart - H) % S, 0, 'starts on a package');
    }
  });

  it('refuses ranges outside the object and impossible sizes', () => {
    const bad: [number, { start: number; end: number } | undefined][] = [
      [10, { start: 5, end: 10 }],
      [10, { start: 6, end: 5 }],
      [10, { start: -1, end: 5 }],
      [0, { start: 0, end: 0 }],
      [10, { start: 0.5, end: 5 }],
      [-1, undefined],
      [2 ** 53, undefined],
    ];
    for (const [size, range] of bad) {
      assert.throws(
        () => rangePlan(size, H, range),
        (e) => e instanceof EnvelopeError && e.code === 'BadRange',
      );
    }
  });
});
