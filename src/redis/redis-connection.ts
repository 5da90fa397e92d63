/**
 * The gateway's connection to Redis: TIERGATE_REDIS_URL, or the embedded redis-server started for it. Plain
 * TypeScript (the Nest module wraps it), so integration tests open it on a test redis-server directly.
 *
 * Invariants:
 * - Reconnects forever when Redis goes away (retryStrategy capped at RECONNECT_MAX_MS), and commands wait for the
 *   reconnection instead of failing (`maxRetriesPerRequest: null`, which BullMQ workers require).
 * - The URL may hold a password: it is never logged; logs name the host only.
 * - `close()` quits the connection first, then stops the embedded server (which flushes its AOF on SIGTERM).
 */
import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../config/tiergate-config';
import { withTimeout } from '../common/with-timeout';
import { EmbeddedRedis } from './embedded-redis';

/** Longest pause between two reconnection attempts. */
export const RECONNECT_MAX_MS = 2_000;

/** How long boot waits for a Redis given by URL to answer before failing. */
export const CONNECT_TIMEOUT_MS = 30_000;

const logger = new Logger('Redis');

/** An open connection to the gateway's Redis, and the embedded server behind it when there is one. */
export class RedisConnection {
  private constructor(
    /** The shared client; BullMQ queues use it as is and workers duplicate it for their blocking reads. */
    readonly client: Redis,
    /** Where it points, without credentials (for logs and errors). */
    readonly where: string,
    /** The embedded server, when the gateway runs its own. */
    readonly embedded: EmbeddedRedis | undefined,
  ) {}

  /** Connects to `config.url`, or starts the embedded server first; resolves once Redis answers. */
  static async open(config: RedisConfig): Promise<RedisConnection> {
    const embedded = config.url ? undefined : await EmbeddedRedis.start({ dir: config.embeddedDir });
    const url = config.url?.reveal() ?? embedded!.url;
    const where = describe(url);
    if (embedded)
      logger.log(`started redis-server (pid ${embedded.pid}) on ${where}, data in ${embedded.dir}`);
    const client = new Redis(url, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(times * 100, RECONNECT_MAX_MS),
      connectionName: 'tiergate',
    });
    const connection = new RedisConnection(client, where, embedded);
    connection.logStateChanges();
    try {
      await withTimeout(
        client.ping(),
        CONNECT_TIMEOUT_MS,
        () => new Error(`Redis at ${where} did not answer within ${CONNECT_TIMEOUT_MS / 1000}s`),
      );
    } catch (err) {
      await connection.close();
      throw err;
    }
    return connection;
  }

  /** Quits the client (disconnects at once if Redis is unreachable) and stops the embedded server. */
  async close(): Promise<void> {
    if (this.client.status === 'ready') await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
    if (this.embedded) {
      await this.embedded.stop();
      logger.log('stopped redis-server');
    }
  }

  /** One line per change (lost, back), not one per failed attempt: a Redis restart must not flood the log. */
  private logStateChanges(): void {
    let lost = false;
    this.client.on('error', (err: Error) => {
      if (!lost) logger.warn(`connection to Redis at ${this.where} failed: ${err.message}; reconnecting`);
      lost = true;
    });
    this.client.on('ready', () => {
      if (lost) logger.log(`reconnected to Redis at ${this.where}`);
      lost = false;
    });
  }
}

/** host:port of a Redis URL, without user, password or database. */
function describe(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}
