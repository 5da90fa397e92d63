/**
 * Directory removal off the event loop. Deleting an object's data directory and pruning its emptied parents took six
 * file system calls per drive (lstat, readdir, unlink, rmdir, and the prune's rmdirs up the tree), 36 on a 4+2 set,
 * each one a libuv pool submission that wakes a pool thread; on a 2-core host the woken thread often takes the core
 * from the event loop. Measured in bench:tiering, a transition of a 200 KiB object made 74 such submissions, 36 of
 * them here, at 30 us of event-loop time each on average (half under 5 us, a tail of preemptions above 200 us). A
 * worker thread runs each drive's whole job with synchronous calls (dir-removal.ts) and answers with one message.
 *
 * One worker serves every drive of the process, jobs in order. A job never waits on fsync, only on metadata
 * operations of one directory. A drive that hangs in the kernel would hold the worker, as it would hold the libuv
 * pool's four threads. If the worker cannot start or dies, pending jobs fail (the caller's delete reports a drive
 * error, as a failed unlink would) and the next job starts a new worker.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RemoveReply, RemoveRequest } from './dir-remover-worker';
import type { RemoveJob } from './dir-removal';

/** Runs removal jobs on a worker thread, started on first use and unreferenced while idle. */
export class DirRemover {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  /** Runs `job`; rejects with an Error carrying the errno `code` when the removal failed (absent is not failed). */
  run(job: RemoveJob): Promise<void> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      let w: Worker;
      try {
        w = this.ensureWorker();
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (this.waiting.size === 0) w.ref();
      this.waiting.set(id, { resolve, reject });
      const req: RemoveRequest = { ...job, id };
      w.postMessage(req);
    });
  }

  /** Stops the worker; jobs still pending fail. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
    this.failAll(new Error('the directory remover was closed'));
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(path.join(__dirname, 'dir-remover-worker.js'));
    w.on('message', (reply: RemoveReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      // Referenced only while a reply is awaited: an idle remover must not keep the process alive.
      if (this.waiting.size === 0) w.unref();
      if (!waiter) return;
      if (!reply.error) waiter.resolve();
      else waiter.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    });
    const lost = (err: Error): void => {
      if (this.worker !== w) return;
      this.worker = null;
      this.failAll(err);
    };
    w.on('error', lost);
    w.on('exit', (code) => lost(new Error(`the directory remover's worker exited (${code})`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private failAll(err: Error): void {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiters) w.reject(err);
  }
}

/** The process's remover, shared by every local drive. */
export const dirRemover = new DirRemover();
