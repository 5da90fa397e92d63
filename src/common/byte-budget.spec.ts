import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from './byte-budget';

/** Settles every promise callback queued so far (the budget admits waiters synchronously on release). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Starts `acquire(bytes)` and records when it is granted. */
function request(budget: ByteBudget, bytes: number, granted: string[], name: string): Promise<() => void> {
  return budget.acquire(bytes).then((release) => {
    granted.push(name);
    return release;
  });
}

describe('ByteBudget', () => {
  it('grants at once while the bytes fit, and makes the next request wait for a release', async () => {
    const budget = new ByteBudget(100);
    const granted: string[] = [];
    const a = await request(budget, 60, granted, 'a');
    const b = await request(budget, 40, granted, 'b');
    assert.equal(budget.inUse, 100);
    const c = request(budget, 1, granted, 'c');
    await settle();
    assert.deepEqual(granted, ['a', 'b'], 'c waits: the budget is full');
    assert.equal(budget.waiting, 1);
    b();
    await c;
    assert.deepEqual(granted, ['a', 'b', 'c']);
    assert.equal(budget.inUse, 61);
    a();
    (await c)();
    assert.equal(budget.inUse, 0);
  });

  it('serves waiters in order: a small request does not overtake a large one that waits', async () => {
    const budget = new ByteBudget(100);
    const granted: string[] = [];
    const first = await request(budget, 50, granted, 'first');
    const large = request(budget, 80, granted, 'large');
    const small = request(budget, 10, granted, 'small'); // would fit now, but the large one came first
    await settle();
    assert.deepEqual(granted, ['first']);
    first();
    await Promise.all([large, small]);
    assert.deepEqual(granted, ['first', 'large', 'small'], 'both fit once the first is released: in order');
    assert.equal(budget.inUse, 90);
  });

  it('admits several waiters on one release when they all fit', async () => {
    const budget = new ByteBudget(30);
    const granted: string[] = [];
    const all = await request(budget, 30, granted, 'all');
    const waiters = [1, 2, 3].map((i) => request(budget, 10, granted, `w${i}`));
    await settle();
    assert.equal(budget.waiting, 3);
    all();
    await Promise.all(waiters);
    assert.deepEqual(granted, ['all', 'w1', 'w2', 'w3']);
    assert.equal(budget.waiting, 0);
  });

  it('never makes a request for 0 bytes wait, even behind waiters', async () => {
    const budget = new ByteBudget(10);
    const granted: string[] = [];
    const held = await request(budget, 10, granted, 'held');
    void request(budget, 5, granted, 'waiting');
    const zero = await request(budget, 0, granted, 'zero');
    assert.deepEqual(granted, ['held', 'zero']);
    zero();
    assert.equal(budget.inUse, 10, 'releasing a 0-byte grant gives nothing back');
    held();
    await settle();
    assert.deepEqual(granted, ['held', 'zero', 'waiting']);
  });

  it('runs a request larger than the whole budget alone, once nothing else is held', async () => {
    const budget = new ByteBudget(10);
    const granted: string[] = [];
    const small = await request(budget, 4, granted, 'small');
    const huge = request(budget, 1000, granted, 'huge');
    const after = request(budget, 1, granted, 'after');
    await settle();
    assert.deepEqual(granted, ['small']);
    small();
    const releaseHuge = await huge;
    assert.equal(budget.inUse, 10, 'holds the whole budget, not more');
    await settle();
    assert.deepEqual(granted, ['small', 'huge'], 'nothing runs beside it');
    releaseHuge();
    await after;
    assert.deepEqual(granted, ['small', 'huge', 'after']);
  });

  it('gives bytes back once however often a release is called', async () => {
    const budget = new ByteBudget(10);
    const release = await budget.acquire(6);
    const other = await budget.acquire(4);
    release();
    release();
    assert.equal(budget.inUse, 4);
    other();
    assert.equal(budget.inUse, 0);
  });

  it('refuses a budget that is not positive and a request that is negative or not a number', () => {
    assert.throws(() => new ByteBudget(0), RangeError);
    assert.throws(() => new ByteBudget(Number.NaN), RangeError);
    const budget = new ByteBudget(10);
    assert.throws(() => void budget.acquire(-1), RangeError);
    assert.throws(() => void budget.acquire(Number.NaN), RangeError);
  });
});
