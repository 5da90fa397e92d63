/**
 * Reads up to `limit` + 1 bytes of a stream to decide whether it fits inline, without losing or copying the rest:
 * the returned stream replays the head and then continues with the source.
 */

export interface Peeked {
  /** The bytes read (all of them when `ended`). */
  head: Buffer;
  /** True when the source ended within `limit` bytes. */
  ended: boolean;
  /** The whole stream again: head, then the rest of the source. */
  stream: AsyncIterable<Buffer>;
}

/** Peeks at most limit + 1 bytes. */
export async function peekStream(source: AsyncIterable<Buffer>, limit: number): Promise<Peeked> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let total = 0;
  let ended = false;
  while (total <= limit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    chunks.push(chunk);
    total += chunk.length;
  }
  const head = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    for (const c of chunks) yield c;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    }
  }
  return { head, ended, stream: replay() };
}
