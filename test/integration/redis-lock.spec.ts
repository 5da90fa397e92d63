/**
 * RedisLocks on a real redis-server: holders of one name never overlap (two connections, as two gateways would
 * have), different names do not wait for each other, a busy lock times out with LockTimeoutError, a lock whose
 * holder stopped extending it (a crashed process) expires after its ttl, a long holder keeps its lock past the ttl
 * by extending it, and a release never frees a lock another holder took after ours expired.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { LockTimeoutError, RedisLocks } from '../../src/redis/redis-lock';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';

describe('RedisLocks on redis-server', () => {
  let a: Redis;
  let b: Redis;
  let prefix: string;

  before(async () => {
    const { port } = await sharedRedis();
    a = redisClient(port);
    b = redisClient(port);
    prefix = `${uniquePrefix('lock')}:`;
  });
  after(() => {
    a?.disconnect();
    b?.disconnect();
  });

  it('never lets two holders of one name overlap, across connections', async () => {
    const locks = [new RedisLocks(a, prefix), new RedisLocks(b, prefix)];
    let inside = 0;
    let most = 0;
    let runs = 0;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        locks[i % 2].withLock('obj', async () => {
          inside++;
          most = Math.max(most, inside);
          await delay(2);
          inside--;
          runs++;
        }),
      ),
    );
    assert.equal(runs, 40);
    assert.equal(most, 1, 'two holders were inside at once');
    assert.equal(await locks[0].isHeld('obj'), false, 'released after the last holder');
  });

  it('lets different names run at once', async () => {
    const locks = new RedisLocks(a, prefix);
    let inside = 0;
    let most = 0;
    await Promise.all(
      ['x', 'y', 'z'].map((name) =>
        locks.withLock(name, async () => {
          inside++;
          most = Math.max(most, inside);
          await delay(50);
          inside--;
        }),
      ),
    );
    assert.equal(most, 3);
  });

  it('gives up on a busy lock after waitMs with LockTimeoutError, and releases on a throwing holder', async () => {
    const locks = new RedisLocks(a, prefix);
    let release!: () => void;
    const held = locks.withLock('busy', () => new Promise<void>((r) => (release = r)));
    await delay(20);
    await assert.rejects(
      new RedisLocks(b, prefix).withLock('busy', async () => 'never', { waitMs: 200 }),
      LockTimeoutError,
    );
    release();
    await held;
    await assert.rejects(
      locks.withLock('busy', async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await locks.isHeld('busy'), false);
  });

  it('expires the lock of a holder that stopped (no extension), and keeps a live holder past its ttl', async () => {
    // A crashed holder: the key set as withLock sets it, never extended or released.
    await a.set(`${prefix}crashed`, 'dead-token', 'PX', 300, 'NX');
    const locks = new RedisLocks(b, prefix);
    const started = Date.now();
    await locks.withLock('crashed', async () => undefined, { waitMs: 5_000 });
    assert.ok(Date.now() - started >= 250, 'the lock was taken before the crashed holder expired');

    // A live holder runs for 3 ttls; the extension keeps others out the whole time.
    let done = false;
    const live = locks.withLock(
      'live',
      async () => {
        await delay(900);
        done = true;
      },
      { ttlMs: 300 },
    );
    await delay(50);
    await new RedisLocks(a, prefix).withLock('live', async () => assert.ok(done, 'entered while held'), {
      waitMs: 5_000,
    });
    await live;
  });

  it('never releases a lock another holder took after ours expired', async () => {
    const locks = new RedisLocks(a, prefix);
    // While our holder runs, its key vanishes as if it had expired; another holder then takes the name and
    // leaves its own token there. Our release at the end must not delete that token.
    let inOther = false;
    const ours = locks.withLock(
      'stolen',
      async () => {
        await a.del(`${prefix}stolen`); // as if it expired
        await new RedisLocks(b, prefix).withLock('stolen', async () => {
          inOther = true;
        });
        await b.set(`${prefix}stolen`, 'someone-else', 'PX', 5_000);
      },
      { ttlMs: 1_000 },
    );
    await ours;
    assert.ok(inOther);
    assert.equal(await a.get(`${prefix}stolen`), 'someone-else', "our release removed another holder's lock");
    await a.del(`${prefix}stolen`);
  });
});
