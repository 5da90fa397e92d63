/**
 * MD5 (the S3 ETag) off the event loop. MD5 runs at ~0.7 GB/s here and was 40% of a PUT's main-thread time; hashed
 * on a worker thread it overlaps with copying, erasure coding and disk writes instead of serialising them.
 *
 * Blocks are not copied to the worker: the encoder's block buffers live on SharedArrayBuffers, and a block goes back
 * to the pool only after the worker has hashed it. Messages to one worker are handled in order, so each stream's
 * updates are applied in the order they were sent. Small bodies (inline objects) never come here.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (msg) => {
  if (msg.op === 'update') {
    let h = streams.get(msg.id);
    if (!h) { h = createHash('md5'); streams.set(msg.id, h); }
    h.update(new Uint8Array(msg.buffer, msg.offset, msg.length));
    parentPort.postMessage({ id: msg.id, seq: msg.seq });
  } else if (msg.op === 'digest') {
    const h = streams.get(msg.id) || createHash('md5');
    streams.delete(msg.id);
    parentPort.postMessage({ id: msg.id, seq: msg.seq, digest: h.digest('hex') });
  } else if (msg.op === 'drop') {
    streams.delete(msg.id);
  }
});
`;

interface Reply {
  id: number;
  seq: number;
  digest?: string;
}

/** One MD5 computation on the worker. */
export interface Md5Stream {
  /**
   * Queues `data` (which must live on a SharedArrayBuffer) for hashing, in call order; resolves once `data` may be
   * reused.
   */
  update(data: Buffer): Promise<void>;
  digest(): Promise<string>;
  /** Abandons the stream. */
  drop(): void;
}

/** A worker thread that hashes many MD5 streams. */
export class Md5Hasher {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<string, (r: Reply) => void>();
  private failed: Error | null = null;

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (r: Reply) => {
      const key = `${r.id}:${r.seq}`;
      const resolve = this.waiting.get(key);
      this.waiting.delete(key);
      // Referenced only while a reply is awaited: an idle hasher must not keep the process alive.
      if (this.waiting.size === 0) w.unref();
      resolve?.(r);
    });
    w.on('error', (err) => {
      this.failed = err;
      this.worker = null;
    });
    w.unref();
    this.worker = w;
    return w;
  }

  /** Starts a stream (hashed on this thread if the worker could not start). */
  open(): Md5Stream {
    if (this.failed) return localStream();
    const id = this.nextId++;
    let seq = 0;
    const send = (msg: Record<string, unknown>): Promise<Reply> => {
      const s = seq++;
      return new Promise((resolve) => {
        const w = this.ensureWorker();
        if (this.waiting.size === 0) w.ref();
        this.waiting.set(`${id}:${s}`, resolve);
        w.postMessage({ ...msg, id, seq: s });
      });
    };
    return {
      update: async (data) => {
        if (!(data.buffer instanceof SharedArrayBuffer))
          throw new TypeError('Md5Stream.update needs shared memory');
        await send({ op: 'update', buffer: data.buffer, offset: data.byteOffset, length: data.length });
      },
      digest: async () => (await send({ op: 'digest' })).digest!,
      drop: () => {
        this.worker?.postMessage({ op: 'drop', id });
      },
    };
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

function localStream(): Md5Stream {
  const h = createHash('md5');
  return {
    update: async (d) => void h.update(d),
    digest: async () => h.digest('hex'),
    drop: () => undefined,
  };
}
