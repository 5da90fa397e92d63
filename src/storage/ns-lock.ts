/**
 * Per-object read/write locks within this process. Writers are exclusive and preferred (a waiting writer holds back
 * new readers, so a stream of GETs cannot starve a PUT's commit). Locks are only held around metadata reads and
 * commits, never while a body streams, so they are short. In a cluster, object-locks.ts takes the exclusive side cluster-wide first.
 */

/** Releases a held lock; safe to call twice. */
export type Release = () => void;

interface Entry {
  readers: number;
  writer: boolean;
  queue: { write: boolean; grant: () => void }[];
}

/** Keyed reader/writer lock. */
export class NsLock {
  private readonly entries = new Map<string, Entry>();

  /** Shared lock on `key`. */
  read(key: string): Promise<Release> {
    return this.acquire(key, false);
  }

  /** Exclusive lock on `key`. */
  write(key: string): Promise<Release> {
    return this.acquire(key, true);
  }

  /** Runs `fn` under the exclusive lock. */
  async withWrite<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.write(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Runs `fn` under a shared lock. */
  async withRead<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.read(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private acquire(key: string, write: boolean): Promise<Release> {
    let e = this.entries.get(key);
    if (!e) {
      e = { readers: 0, writer: false, queue: [] };
      this.entries.set(key, e);
    }
    const entry = e;
    const free = write ? !entry.writer && entry.readers === 0 : !entry.writer && entry.queue.length === 0;
    const release = this.releaser(key, entry, write);
    if (free) {
      if (write) entry.writer = true;
      else entry.readers++;
      return Promise.resolve(release);
    }
    return new Promise((resolve) => entry.queue.push({ write, grant: () => resolve(release) }));
  }

  private releaser(key: string, entry: Entry, write: boolean): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (write) entry.writer = false;
      else entry.readers--;
      this.dispatch(key, entry);
    };
  }

  private dispatch(key: string, entry: Entry): void {
    while (entry.queue.length > 0 && !entry.writer) {
      const head = entry.queue[0];
      if (head.write) {
        if (entry.readers > 0) return;
        entry.queue.shift();
        entry.writer = true;
        head.grant();
        return;
      }
      entry.queue.shift();
      entry.readers++;
      head.grant();
    }
    if (!entry.writer && entry.readers === 0 && entry.queue.length === 0) this.entries.delete(key);
  }
}
