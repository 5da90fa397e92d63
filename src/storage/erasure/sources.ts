/**
 * Shard sources for the decoder: frames held in memory (inline objects, which live inside the metadata file) and
 * shard files opened lazily (so a healthy read never opens the parity files it does not need).
 */
import type { Drive, FileReader } from '../drive/drive';
import type { ShardSource } from './decoder';

/** A shard source over an in-memory frame stream (inline data). */
export class BufferSource implements ShardSource {
  constructor(private readonly buf: Buffer) {}

  async readv(buffers: Buffer[], position: number): Promise<number> {
    let pos = position;
    let total = 0;
    for (const b of buffers) {
      const n = Math.max(0, Math.min(b.length, this.buf.length - pos));
      this.buf.copy(b, 0, pos, pos + n);
      total += n;
      pos += n;
      if (n < b.length) break;
    }
    return total;
  }
}

/** Opens its file on first read, so unneeded parity shards are never opened. */
export class LazyFileSource implements ShardSource {
  private reader?: Promise<FileReader>;
  private closed = false;

  constructor(
    private readonly drive: Drive,
    private readonly volume: string,
    private readonly path: string,
  ) {}

  async readv(buffers: Buffer[], position: number): Promise<number> {
    // A late read (a read-ahead falling back to parity after the reader gave up) must not open a file nobody closes.
    if (this.closed) throw new Error(`shard source ${this.volume}/${this.path} is closed`);
    this.reader ??= this.drive.openFile(this.volume, this.path);
    return (await this.reader).readv(buffers, position);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (!this.reader) return;
    try {
      await (await this.reader).close();
    } catch {
      // open failed earlier: nothing to close
    }
  }
}
