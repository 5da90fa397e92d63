/**
 * The locks the erasure layer takes around metadata reads and commits. In one process they are NsLock's (ns-lock.ts).
 * In a cluster, where other nodes commit to the same drives through the storage API, exclusive locks are also taken
 * cluster-wide (DESIGN.md section 2, "Locks"): the caller supplies the distributed lock (Redis, in the gateway), so
 * the storage engine itself knows nothing of Redis. Shared locks stay local: a read is a quorum read that a commit
 * elsewhere cannot tear (each drive's metadata is replaced atomically, and what a read finds below quorum it only
 * queues for healing, which takes the exclusive lock).
 */
import { NsLock, type Release } from './ns-lock';

/** What the erasure layer needs of its locks (NsLock is one). */
export interface ObjectLocks {
  read(key: string): Promise<Release>;
  withRead<T>(key: string, fn: () => Promise<T>): Promise<T>;
  withWrite<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

/** Runs `fn` holding the cluster-wide lock `name`; throws a StorageError when the lock cannot be had. */
export type ClusterLock = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

/** Local locks whose exclusive side is also taken cluster-wide (the cluster lock first, then the local one). */
export class ClusterLocks implements ObjectLocks {
  private readonly local = new NsLock();

  constructor(
    private readonly cluster: ClusterLock,
    /** Namespace of this lock family in the cluster lock (objects and buckets must not share names). */
    private readonly scope: string,
  ) {}

  read(key: string): Promise<Release> {
    return this.local.read(key);
  }

  withRead<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.local.withRead(key, fn);
  }

  withWrite<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.cluster(`${this.scope}:${key}`, () => this.local.withWrite(key, fn));
  }
}

/** The locks of one lock family: cluster-wide when a cluster lock is given, else this process's own. */
export function objectLocks(cluster: ClusterLock | undefined, scope: string): ObjectLocks {
  return cluster ? new ClusterLocks(cluster, scope) : new NsLock();
}
