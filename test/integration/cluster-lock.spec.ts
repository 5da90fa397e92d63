/**
 * The storage engine's cluster-wide lock on a real redis-server (src/redis/cluster-lock.ts): holders never overlap
 * across connections; what the locked function throws passes through as it is; a lock busy for the whole wait, and
 * a lock asked for while Redis is down, fail as StorageError LockTimeout (S3 SlowDown) within the wait, and the
 * function never runs, not even when the request queued during the outage reaches Redis after it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { clusterLock } from '../../src/redis/cluster-lock';
import { RedisLocks } from '../../src/redis/redis-lock';
import { isStorageError } from '../../src/storage/errors';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

describe('cluster lock of the storage engine, on redis-server', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  const clients: Redis[] = [];
  const prefix = `${uniquePrefix('slock')}:`;
  /** A client as the gateway has it: commands wait through outages (maxRetriesPerRequest null). */
  const client = () => {
    const c = new Redis({
      host: '127.0.0.1',
      port: redis!.redis.port,
      maxRetriesPerRequest: null,
      retryStrategy: () => 100,
    });
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startRedis({ appendOnly: false });
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.remove();
  });

  it("never lets holders on two connections overlap; the function's own error passes through", async () => {
    const locks = [
      clusterLock(new RedisLocks(client(), prefix), 10_000),
      clusterLock(new RedisLocks(client(), prefix), 10_000),
    ];
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        locks[i % 2]('object:b/k', async () => {
          inside++;
          most = Math.max(most, inside);
          await delay(2);
          inside--;
        }),
      ),
    );
    assert.equal(most, 1, 'two holders were inside at once');
    const own = new Error('the commit failed');
    await assert.rejects(
      locks[0]('object:b/k', () => Promise.reject(own)),
      (err) => err === own,
    );
  });

  it('fails a lock busy for the whole wait with LockTimeout, without running the function', async () => {
    const holder = new RedisLocks(client(), prefix);
    const waiter = clusterLock(new RedisLocks(client(), prefix), 300);
    let ran = false;
    let release!: () => void;
    const held = holder.withLock('object:b/busy', () => new Promise<void>((resolve) => (release = resolve)));
    await delay(50);
    await assert.rejects(
      waiter('object:b/busy', async () => {
        ran = true;
      }),
      (err) => isStorageError(err, 'LockTimeout'),
    );
    release();
    await held;
    assert.equal(ran, false);
  });

  it('fails within the wait while Redis is down, and the queued request never runs the function later', async () => {
    const c = client();
    const locks = new RedisLocks(c, prefix, 1_000);
    const lock = clusterLock(locks, 500);
    await c.ping();
    const port = redis!.redis.port;
    const dir = redis!.dir;
    await redis!.redis.stop();
    let ran = false;
    const started = Date.now();
    await assert.rejects(
      lock('object:b/outage', async () => {
        ran = true;
      }),
      (err) => isStorageError(err, 'LockTimeout'),
    );
    const waited = Date.now() - started;
    assert.ok(waited < 5_000, `gave up after ${waited} ms, not within the wait`);
    // Redis back on the same port and data: the queued SET NX goes through now, and must not run the function.
    redis = await startRedis({ appendOnly: false, dir, port });
    await c.ping();
    await delay(200);
    assert.equal(ran, false, 'the function ran after its caller had been told the lock failed');
    assert.equal(await locks.isHeld('object:b/outage'), false, 'the lock taken late was not released');
  });
});
