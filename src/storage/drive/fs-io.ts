/**
 * File-system calls the drives make on hot paths, through the callback API (no FileHandle objects, no extra fstat),
 * with partial scatter/gather transfers completed.
 */
import * as fsCb from 'node:fs';
import * as fs from 'node:fs/promises';
import { fileNotFound, StorageError, storageError } from '../errors';

const FIRST_READ = 64 * 1024;

/**
 * Reads a whole (usually small) file: open, one read, close through the callback API. Metadata files are read on
 * every GET from every drive, and this costs about half of fs.promises.readFile (no FileHandle, no fstat, no
 * trailing zero-length read). Larger files continue with further reads.
 */
export function readSmallFile(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    fsCb.open(file, 'r', (err, fd) => {
      if (err) return reject(err);
      const chunks: Buffer[] = [];
      let total = 0;
      const finish = (e: Error | null): void =>
        fsCb.close(fd, (closeErr) => {
          const failure = e ?? closeErr;
          if (failure) reject(failure);
          else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total));
        });
      const next = (size: number): void => {
        const buf = Buffer.allocUnsafe(size);
        fsCb.read(fd, buf, 0, size, total, (readErr, n) => {
          if (readErr) return finish(readErr);
          chunks.push(buf.subarray(0, n));
          total += n;
          if (n < size) finish(null);
          else next(size * 4);
        });
      };
      next(FIRST_READ);
    });
  });
}

/** The buffers still to transfer after the first `n` bytes of `buffers` were (scatter/gather I/O is partial). */
export function skipBytes(buffers: Buffer[], n: number): Buffer[] {
  let left = n;
  const rest: Buffer[] = [];
  for (const b of buffers) {
    if (left >= b.length) left -= b.length;
    else {
      rest.push(left > 0 ? b.subarray(left) : b);
      left = 0;
    }
  }
  return rest;
}

/**
 * A file open for reading on a bare descriptor: the shard reads of every GET of a large object (and of every
 * transition's upload) go through here. Against a FileHandle this saves its object, its promise plumbing and its
 * close's extra round. What a FileHandle does besides, this does too: close waits for the reads in flight (the
 * descriptor is never closed under a read, whose number could meanwhile name another file), and closing twice is
 * a no-op. What it does not do is close itself on garbage collection: its users close it in a finally.
 */
export class FdReader {
  private fd: number;
  private closing: Promise<void> | null = null;
  private reads = 0;
  private idle: (() => void) | null = null;

  private constructor(fd: number) {
    this.fd = fd;
  }

  static async open(file: string): Promise<FdReader> {
    return new FdReader(await openFd(file, fsCb.constants.O_RDONLY));
  }

  /** Scatter-reads into `buffers` from `position` until they are full or the file ends; returns the bytes read. */
  async readv(buffers: Buffer[], position: number): Promise<number> {
    if (this.closing) throw new Error('FdReader: read after close');
    this.reads++;
    try {
      let total = 0;
      let pending = buffers;
      while (pending.length > 0) {
        const n = await cbCall<number>((cb) => fsCb.readv(this.fd, pending, position + total, cb));
        if (n === 0) break;
        total += n;
        pending = skipBytes(pending, n);
      }
      return total;
    } finally {
      if (--this.reads === 0) this.idle?.();
    }
  }

  /** Closes the descriptor once the reads in flight are done; later calls wait for the same close. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.reads > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await cbCall<void>((cb) => fsCb.close(this.fd, (err) => cb(err, undefined)));
    })();
    return this.closing;
  }
}

/**
 * A callback-API call as a promise. On hot paths this is cheaper than node:fs/promises: measured on the 2-vCPU test
 * VM, 43-85 against 73-101 µs of main thread per failing rmdir, most of either being the wake-up of a pool thread
 * (which is why directory removal now runs on a worker of its own: dir-remover.ts).
 */
function cbCall<T>(start: (cb: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value))));
}

export function openFd(file: string, flags: number): Promise<number> {
  return cbCall<number>((cb) => fsCb.open(file, flags, 0o644, cb));
}

export function closeFd(fd: number): void {
  fsCb.close(fd, () => undefined);
}

export function fdatasync(fd: number): Promise<void> {
  return cbCall<void>((cb) => fsCb.fdatasync(fd, (err) => cb(err, undefined)));
}

export async function writeAll(fd: number, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let pos = position;
  while (pending.length > 0) {
    const n = await cbCall<number>((cb) => fsCb.writev(fd, pending, pos, cb));
    pos += n;
    pending = skipBytes(pending, n);
  }
}

export async function truncateFd(fd: number, size: number, sync: boolean): Promise<void> {
  await cbCall<void>((cb) => fsCb.ftruncate(fd, size, (err) => cb(err, undefined)));
  if (sync) await fdatasync(fd);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, fsCb.constants.O_RDONLY | fsCb.constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Maps an errno to the StorageError the erasure layer counts with. */
export function mapError(err: unknown, what: string): Error {
  if (err instanceof StorageError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return fileNotFound(what);
    case 'ENOTEMPTY':
    case 'EEXIST':
      return storageError('BucketNotEmpty', `not empty: ${what}`);
    case 'ENOSPC':
    case 'EIO':
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return storageError('DriveFaulty', `${code} on ${what}`);
    default:
      return storageError('DriveFaulty', `${code ?? String(err)} on ${what}`);
  }
}
