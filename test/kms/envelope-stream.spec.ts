/**
 * The envelope streams with bounded memory: 256 MiB go through the encryptor and the decryptor (with
 * backpressure from a sink that pauses every 16 MiB) while the live heap stays flat and buffer memory stays a
 * fraction of the data (it is not proportional: it swings up and down with V8's lazy release of dead buffers). Also prints
 * the throughput of each direction (a figure, not an assertion: the machines are noisy).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decryptRange } from '../../src/kms/envelope/decrypt-range';
import { encryptStream } from '../../src/kms/envelope/encrypt-stream';
import { rangePlan } from '../../src/kms/envelope/range-plan';

const MiB = 1024 * 1024;
const TOTAL = 256 * MiB;
const KEY = randomBytes(32);

// A full GC before each sample, so the samples show what the streams retain rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Live JS heap, and buffers: V8 releases a dead buffer's memory lazily, so the latter swings by tens of MiB. */
function liveBytes(): { heap: number; buffers: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

/** TOTAL bytes in 1 MiB chunks (as the erasure set yields blocks), each chunk a fresh buffer. */
function source(): Readable {
  let sent = 0;
  const block = randomBytes(MiB);
  return new Readable({
    read() {
      if (sent >= TOTAL) return void this.push(null);
      sent += MiB;
      this.push(Buffer.from(block));
    },
  });
}

/** Counts bytes and samples memory; yields to the event loop now and then so backpressure is exercised. */
function sink(samples: { heap: number; buffers: number }[]): Writable & { bytes: number } {
  let n = 0;
  const w = new Writable({
    highWaterMark: MiB,
    write(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      (w as Writable & { bytes: number }).bytes = n;
      if (n % (16 * MiB) < chunk.length) {
        samples.push(liveBytes());
        setImmediate(cb);
      } else cb();
    },
  });
  return Object.assign(w, { bytes: 0 });
}

describe('envelope streaming', () => {
  it('encrypts and decrypts 256 MiB in bounded memory', async (t) => {
    const baseline = liveBytes();
    const encSamples: { heap: number; buffers: number }[] = [];
    const fields = { keyId: 'k', sealedKey: Buffer.alloc(32, 1) };
    let t0 = performance.now();
    const encryptor = encryptStream(source(), KEY, fields);
    const encSink = sink(encSamples);
    await pipeline(encryptor, encSink);
    const encMs = performance.now() - t0;
    const header = encryptor.header;
    assert.equal(encryptor.plaintextBytes, TOTAL);

    // Decrypt a synthetic re-encryption on the fly: encrypt again and pipe straight into the decryptor.
    const decSamples: { heap: number; buffers: number }[] = [];
    const again = encryptStream(source(), KEY, fields);
    const body = Readable.from(
      (async function* () {
        let skip = again.header.bytes.length;
        for await (const c of again as AsyncIterable<Buffer>) {
          if (skip >= c.length) skip -= c.length;
          else {
            yield c.subarray(skip);
            skip = 0;
          }
        }
      })(),
    );
    t0 = performance.now();
    const decSink = sink(decSamples);
    await pipeline(
      decryptRange(body, KEY, again.header, rangePlan(TOTAL, again.header.bytes.length)),
      decSink,
    );
    const bothMs = performance.now() - t0;
    assert.equal(decSink.bytes, TOTAL);
    assert.equal(encSink.bytes, TOTAL + 4096 * 16 + header.bytes.length);

    const samples = [...encSamples, ...decSamples];
    const heap = Math.max(...samples.map((m) => m.heap)) - baseline.heap;
    const buffers = Math.max(...samples.map((m) => m.buffers)) - baseline.buffers;
    t.diagnostic(
      `encrypt ${((TOTAL / MiB / encMs) * 1000).toFixed(0)} MiB/s; encrypt+decrypt chained ` +
        `${((TOTAL / MiB / bothMs) * 1000).toFixed(0)} MiB/s; peak growth: heap ${(heap / MiB).toFixed(1)} MiB, buffers ${(buffers / MiB).toFixed(1)} MiB`,
    );
    assert.ok(heap < 8 * MiB, `the heap grew by ${(heap / MiB).toFixed(1)} MiB while streaming 256 MiB`);
    assert.ok(
      buffers < 64 * MiB,
      `buffers grew by ${(buffers / MiB).toFixed(1)} MiB while streaming 256 MiB`,
    );
  });
});
