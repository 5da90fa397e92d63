/**
 * RedisLocks on a real redis-server: one holder at a time, and a lock whose acquiring SET ran on the server but
 * whose reply was lost (the connection dropped, as when redis-server stops or restarts) is still its taker's.
 *
 * The lost reply is produced by a TCP relay between the client and redis-server that forwards the lock's
 * `SET ... NX` and then drops the connection instead of relaying the answer; ioredis reconnects and sends the
 * unanswered SET again (its default `autoResendUnfulfilledCommands`), which finds the key already set, to the
 * taker's own token. That is what a redis-server stopped with SIGTERM does to a SET it ran in its last event-loop
 * turn: the AOF keeps the key, the reply is never written.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { LockTimeoutError, RedisLocks } from '../../src/redis/redis-lock';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';

/** The RESP form of a SET ... NX as ioredis writes it: the command name and the NX flag as bulk strings. */
function isSetNx(chunk: Buffer): boolean {
  const text = chunk.toString('latin1');
  return /\r\nset\r\n/i.test(text) && /\r\nNX\r\n/i.test(text);
}

/** A relay to redis-server; armed, it passes the next SET ... NX on and drops the connection before its reply. */
class LosingRelay {
  armed = false;
  /** SETs whose reply was dropped. */
  dropped = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  constructor(private readonly redisPort: number) {
    this.server = createServer((client) => this.relay(client));
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private relay(client: Socket): void {
    const upstream = connect(this.redisPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    let losing = false;
    client.on('data', (chunk: Buffer) => {
      if (this.armed && isSetNx(chunk)) {
        this.armed = false;
        losing = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (losing) {
        // The server ran the SET and answered: the answer never arrives.
        this.dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

describe('RedisLocks on redis-server', () => {
  let redisPort: number;
  let direct: Redis;
  const prefix = `${uniquePrefix('locks')}:lock:`;

  before(async () => {
    redisPort = (await sharedRedis()).port;
    direct = redisClient(redisPort);
  });
  after(async () => {
    await direct.quit();
  });

  it('keeps a second taker out until the holder releases', async () => {
    const a = new RedisLocks(direct, prefix);
    const b = new RedisLocks(direct, prefix);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const holding = a.withLock('k1', async () => {
      entered();
      await held;
    });
    await inside;
    await assert.rejects(
      b.withLock('k1', async () => undefined, { waitMs: 300 }),
      (err) => err instanceof LockTimeoutError,
    );
    release();
    await holding;
    assert.equal(await b.withLock('k1', async () => 'second'), 'second');
    assert.equal(await a.isHeld('k1'), false);
  });

  it('takes its lock when the SET ran but its reply was lost and ioredis resent it', async () => {
    const relay = new LosingRelay(redisPort);
    const client = redisClient(await relay.listen());
    try {
      await client.ping();
      const locks = new RedisLocks(client, prefix);
      relay.armed = true;
      const started = Date.now();
      const result = await locks.withLock('k2', async () => 'ran', { waitMs: 2_000 });
      assert.equal(relay.dropped, 1, 'the relay dropped the reply to the lock SET');
      assert.equal(result, 'ran');
      assert.ok(Date.now() - started < 2_000, 'waited for its own lock');
      assert.equal(await new RedisLocks(direct, prefix).isHeld('k2'), false, 'released');
    } finally {
      client.disconnect();
      await relay.close();
    }
  });
});
