/**
 * A FIFO of byte chunks that hands out exact-length slices without copying when it can: the encryptor and the
 * decryptor cut their input into packages with it. Holds at most what the caller leaves in it (one package plus one
 * input chunk in both uses), so memory stays bounded by the package size, not the object size.
 */

/** Queued bytes, taken from the front in exact lengths. */
export class PackageQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  /** Bytes queued. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (kept by reference: callers hand over buffers they no longer write). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** Removes the first `length` bytes (<= this.length) as the pieces they span. */
  takePieces(length: number): Buffer[] {
    const out: Buffer[] = [];
    let left = length;
    while (left > 0) {
      const head = this.#chunks[0];
      if (head.length <= left) {
        out.push(head);
        this.#chunks.shift();
        left -= head.length;
      } else {
        out.push(head.subarray(0, left));
        this.#chunks[0] = head.subarray(left);
        left = 0;
      }
    }
    this.#length -= length;
    return out;
  }

  /** Removes the first `length` bytes as one buffer (a copy only when they span chunks). */
  take(length: number): Buffer {
    const pieces = this.takePieces(length);
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, length);
  }

  /** Drops everything queued. */
  clear(): void {
    this.#chunks = [];
    this.#length = 0;
  }
}
