/**
 * The embedded redis-server manager on the real binary: start (PING answers, AOF and pidfile in the data dir),
 * stop (the port stops answering), a stale server left on the same dir by a killed gateway is stopped first, a
 * PATH without redis-server fails with instructions, and RedisConnection opens and closes the embedded server.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EmbeddedRedis, RedisNotInstalledError, pingOnce } from '../../src/redis/embedded-redis';
import { RedisConnection } from '../../src/redis/redis-connection';

describe('embedded redis-server', () => {
  const root = mkdtempSync(join(tmpdir(), 'tiergate-embedded-'));
  const started: EmbeddedRedis[] = [];
  after(async () => {
    for (const redis of started) await redis.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('starts on a loopback port with AOF in its data dir, and stops', async () => {
    const dir = join(root, 'a', 'redis');
    const redis = await EmbeddedRedis.start({ dir });
    started.push(redis);
    assert.ok(redis.running);
    assert.equal(await pingOnce(redis.port), true);
    assert.ok(existsSync(join(dir, 'redis-server.pid')));
    assert.ok(existsSync(join(dir, 'appendonlydir')), 'no AOF directory');
    await redis.stop();
    assert.equal(redis.running, false);
    assert.equal(await pingOnce(redis.port), false);
  });

  it('stops a redis-server left running on the same dir before starting its own', async () => {
    const dir = join(root, 'b');
    const stale = await EmbeddedRedis.start({ dir });
    started.push(stale);
    // As after a SIGKILLed gateway: the old server still runs when the next gateway starts on the same data.
    const fresh = await EmbeddedRedis.start({ dir });
    started.push(fresh);
    assert.equal(stale.running, false, 'the stale server still runs');
    assert.equal(await pingOnce(fresh.port), true);
  });

  it('fails with how to install redis-server when PATH has none', async () => {
    const dir = join(root, 'c');
    await assert.rejects(
      EmbeddedRedis.start({ dir, path: [join(root, 'empty-bin'), '/nonexistent'].join(':') }),
      (err) =>
        err instanceof RedisNotInstalledError &&
        /apt-get install redis-server/.test(err.message) &&
        /TIERGATE_REDIS_URL/.test(err.message),
    );
  });

  it('is started and stopped by RedisConnection when no URL is configured', async () => {
    const dir = join(root, 'd', 'redis');
    const connection = await RedisConnection.open({ embeddedDir: dir, queuePrefix: 'x' });
    try {
      assert.ok(connection.embedded?.running);
      assert.equal(await connection.client.ping(), 'PONG');
    } finally {
      await connection.close();
    }
    assert.equal(connection.embedded?.running, false);
  });
});
