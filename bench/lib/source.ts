/**
 * Deterministic benchmark data: a stream of `size` bytes cut from a few pre-made random 1 MiB buffers, so producing
 * it costs a memcpy per chunk and never limits what is measured, and any byte can be checked again later.
 *
 * Byte `o` of every stream is `pool[floor(o / 1 MiB) % pool.length][o % 1 MiB]`. Each chunk is a fresh Buffer (as a
 * socket read would be), never a view of the pool and never a buffer reused after it was pushed.
 */
import { randomFillSync } from 'node:crypto';
import { Readable } from 'node:stream';

const POOL_BLOCK = 1024 * 1024;

/** The random buffers every stream is cut from; made once per run. */
export class DataPool {
  readonly blocks: Buffer[];

  constructor(count = 4) {
    this.blocks = Array.from({ length: count }, () => randomFillSync(Buffer.allocUnsafe(POOL_BLOCK)));
  }

  /** Copies stream bytes [offset, offset + into.length) into `into`. */
  fill(into: Buffer, offset: number): void {
    let done = 0;
    while (done < into.length) {
      const o = offset + done;
      const src = this.blocks[Math.floor(o / POOL_BLOCK) % this.blocks.length];
      const at = o % POOL_BLOCK;
      done += src.copy(into, done, at, Math.min(POOL_BLOCK, at + into.length - done));
    }
  }

  /** True when `chunk` equals stream bytes [offset, offset + chunk.length) (memcmp speed, no allocation). */
  matches(chunk: Buffer, offset: number): boolean {
    let done = 0;
    while (done < chunk.length) {
      const o = offset + done;
      const src = this.blocks[Math.floor(o / POOL_BLOCK) % this.blocks.length];
      const at = o % POOL_BLOCK;
      const len = Math.min(POOL_BLOCK - at, chunk.length - done);
      if (src.compare(chunk, done, done + len, at, at + len) !== 0) return false;
      done += len;
    }
    return true;
  }

  /** A Readable of `size` bytes in `chunkSize` chunks, each a freshly allocated Buffer. */
  stream(size: number, chunkSize: number): Readable {
    let offset = 0;
    const readable: Readable = new Readable({
      read: () => {
        for (;;) {
          if (offset >= size) {
            readable.push(null);
            return;
          }
          const chunk = Buffer.allocUnsafe(Math.min(chunkSize, size - offset));
          this.fill(chunk, offset);
          offset += chunk.length;
          if (!readable.push(chunk)) return;
        }
      },
    });
    return readable;
  }
}
