/** ns-lock.ts: keyed reader/writer locks with writer preference. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { NsLock, type Release } from './ns-lock';

/** A lock request whose grant can be observed without awaiting it. */
interface Pending {
  granted: boolean;
  release: () => void;
}

function request(p: Promise<Release>): Pending {
  const pending: Pending = {
    granted: false,
    release: () => assert.fail('released before it was granted'),
  };
  void p.then((release) => {
    pending.granted = true;
    pending.release = release;
  });
  return pending;
}

/** Lets every grant that is due run (grants resolve promises, so they land after a turn of the loop). */
const settle = async (): Promise<void> => {
  await tick();
  await tick();
};

/** Map size of the lock table: the only way to see an entry leak, since an idle entry behaves like none. */
const entries = (lock: NsLock): number => (lock as unknown as { entries: Map<string, unknown> }).entries.size;

describe('NsLock', () => {
  it('lets readers share a key', async () => {
    const lock = new NsLock();
    const r1 = request(lock.read('k'));
    const r2 = request(lock.read('k'));
    await settle();
    assert.ok(r1.granted && r2.granted);
  });

  it('makes a writer exclusive against writers and readers', async () => {
    const lock = new NsLock();
    const w1 = request(lock.write('k'));
    await settle();
    assert.ok(w1.granted);
    const w2 = request(lock.write('k'));
    const r = request(lock.read('k'));
    await settle();
    assert.equal(w2.granted, false);
    assert.equal(r.granted, false);
    w1.release();
    await settle();
    assert.equal(w2.granted, true, 'the queued writer comes first');
    assert.equal(r.granted, false);
    w2.release();
    await settle();
    assert.equal(r.granted, true);
  });

  it('makes a writer wait for the readers that hold the key', async () => {
    const lock = new NsLock();
    const r1 = request(lock.read('k'));
    const r2 = request(lock.read('k'));
    const w = request(lock.write('k'));
    await settle();
    assert.equal(w.granted, false);
    r1.release();
    await settle();
    assert.equal(w.granted, false, 'one reader still holds it');
    r2.release();
    await settle();
    assert.equal(w.granted, true);
  });

  it('prefers writers: a waiting writer holds back new readers', async () => {
    const lock = new NsLock();
    const r1 = request(lock.read('k'));
    await settle();
    const w = request(lock.write('k'));
    const r2 = request(lock.read('k'));
    await settle();
    assert.ok(r1.granted);
    assert.equal(w.granted, false);
    assert.equal(r2.granted, false, 'a reader arriving after a waiting writer must wait');
    r1.release();
    await settle();
    assert.equal(w.granted, true);
    assert.equal(r2.granted, false);
    w.release();
    await settle();
    assert.equal(r2.granted, true);
  });

  it('grants queued readers together, up to the next queued writer', async () => {
    const lock = new NsLock();
    const w1 = request(lock.write('k'));
    await settle();
    const ra = request(lock.read('k'));
    const rb = request(lock.read('k'));
    const w2 = request(lock.write('k'));
    const rc = request(lock.read('k'));
    w1.release();
    await settle();
    assert.deepEqual([ra.granted, rb.granted, w2.granted, rc.granted], [true, true, false, false]);
    ra.release();
    rb.release();
    await settle();
    assert.deepEqual([w2.granted, rc.granted], [true, false]);
    w2.release();
    await settle();
    assert.equal(rc.granted, true);
  });

  it('keeps keys independent', async () => {
    const lock = new NsLock();
    const a = request(lock.write('a'));
    const b = request(lock.write('b'));
    const ar = request(lock.read('a'));
    await settle();
    assert.deepEqual([a.granted, b.granted, ar.granted], [true, true, false]);
  });

  it('makes a reader release idempotent', async () => {
    const lock = new NsLock();
    const r1 = request(lock.read('k'));
    const r2 = request(lock.read('k'));
    await settle();
    const w = request(lock.write('k'));
    const release1 = r1.release;
    release1();
    release1();
    release1();
    await settle();
    assert.equal(w.granted, false, 'a repeated release must not count as the other reader leaving');
    r2.release();
    await settle();
    assert.equal(w.granted, true);
  });

  it('makes a writer release idempotent', async () => {
    const lock = new NsLock();
    const w1 = request(lock.write('k'));
    await settle();
    const w2 = request(lock.write('k'));
    const w3 = request(lock.write('k'));
    const release1 = w1.release;
    release1();
    await settle();
    assert.ok(w2.granted);
    release1();
    await settle();
    assert.equal(w3.granted, false, 'a stale release must not free the lock the next writer holds');
    w2.release();
    await settle();
    assert.equal(w3.granted, true);
  });

  it('releases under withRead / withWrite, also when the function throws', async () => {
    const lock = new NsLock();
    await assert.rejects(
      lock.withWrite('k', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    await assert.rejects(
      lock.withRead('k', async () => {
        throw new Error('bang');
      }),
      /bang/,
    );
    assert.equal(await lock.withWrite('k', async () => 42), 42);
    const w = request(lock.write('k'));
    await settle();
    assert.ok(w.granted);
  });

  it('leaves no entry behind once every holder and waiter is gone', async () => {
    const lock = new NsLock();
    const held: Pending[] = [];
    for (let i = 0; i < 50; i++) {
      const key = `key-${i % 7}`;
      held.push(request(i % 3 === 0 ? lock.write(key) : lock.read(key)));
    }
    await settle();
    assert.ok(entries(lock) > 0);
    // Release in rounds whatever is granted, until every request was granted and released.
    const released = new Set<Pending>();
    for (let round = 0; round < 60 && released.size < held.length; round++) {
      for (const p of held) {
        if (p.granted && !released.has(p)) {
          p.release();
          released.add(p);
        }
      }
      await settle();
    }
    assert.equal(released.size, held.length, 'every request was eventually granted');
    assert.equal(entries(lock), 0);
    await lock.withRead('x', async () => undefined);
    await lock.withWrite('y', async () => undefined);
    assert.equal(entries(lock), 0);
  });
});
