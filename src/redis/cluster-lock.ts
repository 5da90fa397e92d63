/**
 * The storage engine's cluster-wide exclusive lock (storage/object-locks.ts) on the gateway's Redis: RedisLocks
 * with a bound on the whole wait. Redis commands queue while Redis is unreachable (the connection retries forever),
 * so without the bound a write would hang for as long as Redis is down; with it, a lock not had within `waitMs`
 * (busy, or Redis unreachable) fails as StorageError LockTimeout (S3 SlowDown, 503: retry) and `fn` never runs,
 * even if the queued request takes the lock later (it is then released at once). What `fn` throws passes through.
 */
import { storageError } from '../storage/errors';
import type { ClusterLock } from '../storage/object-locks';
import type { RedisLocks } from './redis-lock';

export function clusterLock(locks: RedisLocks, waitMs: number): ClusterLock {
  return <T>(name: string, fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let state: 'waiting' | 'entered' | 'abandoned' = 'waiting';
      const giveUp = (why: string) => {
        state = 'abandoned';
        reject(storageError('LockTimeout', `cluster lock ${name}: ${why}`));
      };
      const timer = setTimeout(() => {
        if (state === 'waiting') giveUp(`not had within ${waitMs} ms (busy, or Redis unreachable)`);
      }, waitMs);
      locks
        .withLock(
          name,
          async () => {
            if (state === 'abandoned') return undefined;
            state = 'entered';
            clearTimeout(timer);
            return { value: await fn() };
          },
          { waitMs },
        )
        .then(
          (result) => {
            if (result) resolve(result.value);
          },
          (err: Error) => {
            clearTimeout(timer);
            if (state === 'entered') reject(err);
            else if (state === 'waiting') giveUp(err.message);
          },
        );
    });
}
