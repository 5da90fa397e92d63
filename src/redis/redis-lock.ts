/**
 * Named mutual exclusion across gateway processes sharing one Redis (DESIGN.md section 2, "Locks"): the single-
 * instance lock Redis documents for SET (`SET name token NX PX ttl`, released and extended by Lua scripts that act
 * only while the key still holds the caller's token). Not Redlock over several masters: the gateway has one Redis.
 *
 * Invariants:
 * - A lock is held by one token at a time; release and extension never touch a lock another holder took after
 *   this one's expired. Taking it is idempotent: a SET resent after a lost reply finds the caller's own token.
 * - While `fn` runs the lock is extended every ttl/3, so it only expires when its holder stopped (crashed, or lost
 *   Redis for longer than the ttl); then another process may take it. Callers therefore keep a second, local
 *   check under the storage layer's own lock (the lifecycle engine's delete guards), and treat this lock as what
 *   keeps two processes from racing, not as the only fence.
 * - Waiting for a busy lock polls with jittered backoff up to `waitMs`, then fails with LockTimeoutError.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Deletes the key only while it holds our token. */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** Extends the key's expiry only while it holds our token. */
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/** How a lock is taken. */
export interface LockOptions {
  /** Expiry of the lock if its holder stops extending it, ms (default 30 s). */
  ttlMs?: number;
  /** How long to wait for a busy lock before giving up, ms (default 10 s). */
  waitMs?: number;
}

/** The lock stayed busy for the whole wait. */
export class LockTimeoutError extends Error {
  constructor(name: string, waitedMs: number) {
    super(`lock ${name} still held by another process after ${waitedMs} ms`);
    this.name = 'LockTimeoutError';
  }
}

/** Locks under one key prefix on one Redis connection. */
export class RedisLocks {
  constructor(
    private readonly client: Redis,
    /** Key prefix, e.g. `tiergate:lock:`. */
    private readonly prefix: string,
    /** Expiry of a lock whose holder stopped, ms, unless a call gives its own (default 30 s). */
    private readonly defaultTtlMs = 30_000,
  ) {}

  /** Runs `fn` holding the lock `name`; the lock is released when `fn` settles. */
  async withLock<T>(name: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
    const ttlMs = opts.ttlMs ?? this.defaultTtlMs;
    const waitMs = opts.waitMs ?? 10_000;
    const key = this.prefix + name;
    const token = randomBytes(16).toString('base64url');
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      if ((await this.client.set(key, token, 'PX', ttlMs, 'NX')) === 'OK') break;
      // Our own token: an earlier SET of this call ran but its reply was lost with the connection, and ioredis sent
      // it again on reconnecting (a redis-server stopping drops the replies of its last commands, not their effect).
      if ((await this.client.get(key)) === token) break;
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new LockTimeoutError(name, waited);
      const pause = Math.min(10 * 2 ** Math.min(attempt, 4), 200) * (0.5 + Math.random());
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    const extender = setInterval(
      () => void this.client.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => undefined),
      Math.max(10, Math.floor(ttlMs / 3)),
    );
    extender.unref();
    try {
      return await fn();
    } finally {
      clearInterval(extender);
      await this.client.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }

  /** True when some process holds `name` now (for tests and diagnostics). */
  async isHeld(name: string): Promise<boolean> {
    return (await this.client.exists(this.prefix + name)) === 1;
  }
}
