/**
 * Storage benchmark (issue 2). One run prints, with labels and units:
 *   1. Reed-Solomon encode / reconstruct GB/s (4+2, 8+4, 12+4; 1 MiB blocks; one and four in flight);
 *   2. ObjectLayer PUT / GET MB/s of 64 MiB objects on 6 temp drives (4+2, fsync on) next to a plain-file baseline
 *      measured in the same run, with the ratios and their targets;
 *   3. PUT / GET ops/s of 4 KiB objects at concurrency 16 and 1;
 *   4. peak RSS while writing and reading one 1 GiB object.
 *
 * Run with `npm run bench:storage`; pass section numbers to run a subset (`node --expose-gc
 * dist/bench/storage.bench.js 2`), e.g. under `--cpu-prof`. Everything is written under one temp directory in
 * os.tmpdir(), removed at the end, on error and on Ctrl-C.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { xxh64 } from '@node-rs/xxhash';
import { bits, rsEncode, shardSize } from '../src/storage/erasure/codec';
import type { ObjectLayer } from '../src/storage/object-layer';
import { openObjectLayer } from '../src/storage/pool';
import {
  collect,
  environmentLines,
  fmt,
  median,
  MiB,
  mbps,
  percentile,
  RssSampler,
  runConcurrent,
  type RunSample,
  sampleRun,
  since,
} from './lib/measure';
import { DataPool } from './lib/source';

/** Source chunk size for every PUT and for the baseline write (what node:http hands a handler per socket read). */
const CHUNK = 64 * 1024;
const LARGE_SIZE = 64 * MiB;
const LARGE_REPS = 7;
const SMALL_SIZE = 4 * 1024;
const SMALL_COUNT = 2000;
const HUGE_SIZE = 1024 * MiB;
const PUT_TARGET = 0.8;
const GET_TARGET = 0.7;

const data = new DataPool();

function title(text: string): void {
  console.log(`\n== ${text}`);
}

// ----- 1. codec ------------------------------------------------------------------------------------------------

/** One RS operation on its own buffers; `reconstruct` rebuilds data shards 0..m-1 from the other k shards. */
function codecOp(k: number, m: number, kind: 'encode' | 'reconstruct'): () => Promise<void> {
  const shard = shardSize(MiB, k);
  const buf = Buffer.alloc(shard * k);
  data.fill(buf.subarray(0, MiB), 0);
  const parity = Buffer.alloc(shard * m);
  if (kind === 'encode') return () => rsEncode(k, m, bits(0, k), bits(k, k + m), buf, parity, shard);
  const encoded = rsEncode(k, m, bits(0, k), bits(k, k + m), buf, parity, shard);
  return async () => {
    await encoded;
    await rsEncode(k, m, bits(m, k + m), bits(0, m), buf, parity, shard);
  };
}

/** GB/s of data bytes (1 MiB per block) with `inFlight` operations outstanding: median of three 250 ms windows. */
async function codecRate(
  k: number,
  m: number,
  kind: 'encode' | 'reconstruct',
  inFlight: number,
): Promise<number> {
  const ops = Array.from({ length: inFlight }, () => codecOp(k, m, kind));
  const window = async (ms: number): Promise<number> => {
    let blocks = 0;
    const t0 = performance.now();
    await Promise.all(
      ops.map(async (op) => {
        while (since(t0) < ms) {
          await op();
          blocks++;
        }
      }),
    );
    return (blocks * MiB) / 1e9 / (since(t0) / 1000);
  };
  await window(50);
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) rates.push(await window(250));
  return median(rates);
}

/** Checks once per geometry that reconstruction gives back the bytes it replaced, so the rates are of real work. */
async function checkReconstruct(k: number, m: number): Promise<void> {
  const shard = shardSize(MiB, k);
  const buf = Buffer.alloc(shard * k);
  data.fill(buf.subarray(0, MiB), 0);
  const original = Buffer.from(buf);
  const parity = Buffer.alloc(shard * m);
  await rsEncode(k, m, bits(0, k), bits(k, k + m), buf, parity, shard);
  buf.fill(0, 0, shard * m);
  await rsEncode(k, m, bits(m, k + m), bits(0, m), buf, parity, shard);
  if (!buf.equals(original)) throw new Error(`${k}+${m}: reconstruction did not restore the data shards`);
}

async function codecSection(): Promise<void> {
  title('1. Reed-Solomon codec (@ronomon/reed-solomon via rsEncode), 1 MiB blocks, GB/s of data bytes');
  console.log(
    '   reconstruct = rebuild the first m data shards from the other k; median of 3 x 250 ms windows',
  );
  console.log('   geometry   encode x1   encode x4   reconstruct x1   reconstruct x4');
  for (const [k, m] of [
    [4, 2],
    [8, 4],
    [12, 4],
  ]) {
    await checkReconstruct(k, m);
    const r = [
      await codecRate(k, m, 'encode', 1),
      await codecRate(k, m, 'encode', 4),
      await codecRate(k, m, 'reconstruct', 1),
      await codecRate(k, m, 'reconstruct', 4),
    ];
    console.log(
      `   ${`${k}+${m}`.padEnd(8)} ${fmt(r[0], 2, 11)} ${fmt(r[1], 2, 11)} ${fmt(r[2], 2, 16)} ${fmt(r[3], 2, 16)}`,
    );
  }
}

// ----- 2. large objects ----------------------------------------------------------------------------------------

/** Writes the stream to one file through fs.createWriteStream with an in-stream MD5, fsynced before close. */
async function baselinePut(file: string, size: number): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(
    data.stream(size, CHUNK),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        md5.update(chunk);
        yield chunk;
      }
    },
    createWriteStream(file, { flush: true }),
  );
  return md5.digest('hex');
}

/** Reads a stream to its end without keeping it; returns the byte count (optionally checking every byte). */
async function drain(stream: AsyncIterable<Buffer>, verify = false): Promise<number> {
  let n = 0;
  for await (const chunk of stream) {
    if (verify && !data.matches(chunk, n)) throw new Error(`data mismatch at byte ${n}`);
    n += chunk.length;
  }
  return n;
}

async function largeSection(layer: ObjectLayer, root: string): Promise<void> {
  title(`2. ObjectLayer 64 MiB objects, 6 drives 4+2, fsync on, ${CHUNK / 1024} KiB source chunks (MB/s)`);
  await layer.makeBucket('large');
  const file = (r: number): string => path.join(root, `baseline-${r}.bin`);
  const expected = await baselinePut(file(-1), LARGE_SIZE);
  const names = ['base', 'put', 'read', 'read1m', 'get'] as const;
  const t: Record<(typeof names)[number], RunSample[]> = { base: [], put: [], read: [], read1m: [], get: [] };
  // Repetition -1 is an untimed warm-up that also checks the data end to end.
  for (let r = -1; r < LARGE_REPS; r++) {
    const runs: Record<keyof typeof t, () => Promise<unknown>> = {
      base: async () => r >= 0 && (await baselinePut(file(r), LARGE_SIZE)),
      put: async () => {
        const info = await layer.putObject('large', `obj-${r}`, data.stream(LARGE_SIZE, CHUNK), {
          size: LARGE_SIZE,
        });
        if (info.etag !== expected) throw new Error(`PUT ETag ${info.etag} != source MD5 ${expected}`);
      },
      read: async () => check(await drain(createReadStream(file(r)), r < 0)),
      read1m: async () => check(await drain(createReadStream(file(r), { highWaterMark: MiB }))),
      get: async () => check(await drain((await layer.getObject('large', `obj-${r}`)).stream, r < 0)),
    };
    // Alternate which side goes first so drift on a noisy machine does not favour one of them.
    const order = r % 2 === 0 ? names : (['put', 'base', 'get', 'read1m', 'read'] as const);
    for (const name of order) {
      collect();
      const sample = await sampleRun(runs[name]);
      if (r >= 0) t[name].push(sample);
    }
  }
  const rate = (xs: RunSample[]): number => mbps(LARGE_SIZE, median(xs.map((x) => x.ms)));
  const line = (label: string, xs: RunSample[]): void => {
    const ms = xs.map((x) => x.ms);
    const range = `${mbps(LARGE_SIZE, Math.max(...ms)).toFixed(0)}..${mbps(LARGE_SIZE, Math.min(...ms)).toFixed(0)}`;
    const loop = median(xs.map((x) => x.loop));
    const cores = median(xs.map((x) => x.cores));
    const cpuMs = median(xs.map((x) => x.cores * x.ms));
    console.log(
      `   ${label.padEnd(48)} ${fmt(rate(xs), 0, 6)} MB/s ${`(${range})`.padEnd(12)} ${fmt(loop, 2, 5)} ${fmt(cores, 2, 5)} ${fmt(cpuMs, 0, 6)}`,
    );
  };
  const verdict = (ratio: number, target: number): string =>
    `${ratio.toFixed(2)}x  (target >= ${target}x: ${ratio >= target ? 'MET' : 'MISSED'})`;
  console.log(`   median of ${LARGE_REPS} runs, min..max in brackets; data verified on a warm-up run`);
  console.log(
    `   ${''.padEnd(48)} ${'rate'.padStart(11)} ${'range'.padEnd(12)} ${'loop'.padStart(5)} ${'cores'.padStart(5)} ${'cpu ms'.padStart(6)}`,
  );
  line('baseline write: createWriteStream + MD5 + fsync', t.base);
  line('PUT  putObject (MD5, RS 4+2, xxh64, 6 files)', t.put);
  line('baseline read: createReadStream (64 KiB chunks)', t.read);
  line('(info) createReadStream with 1 MiB chunks', t.read1m);
  line('GET  getObject (4 data shards, xxh64 checked)', t.get);
  console.log(
    '   loop = main-thread event-loop utilisation; cores = process CPU time / wall time (all threads);\n' +
      '   cpu ms = process CPU time per object (what a loaded machine charges; kernel writeback threads excluded)',
  );
  // Paired: each repetition's two runs were back to back, so their ratio is less exposed to load that comes and goes.
  const paired = (a: RunSample[], b: RunSample[]): string =>
    `median of paired ratios ${median(a.map((x, i) => b[i].ms / x.ms)).toFixed(2)}x`;
  console.log("   ratios of the medians (verdict), and the median of each repetition's back-to-back ratio:");
  console.log(
    `   PUT / baseline write:           ${verdict(rate(t.put) / rate(t.base), PUT_TARGET)}; ${paired(t.put, t.base)}`,
  );
  console.log(
    `   GET / baseline read:            ${verdict(rate(t.get) / rate(t.read), GET_TARGET)}; ${paired(t.get, t.read)}`,
  );
  console.log(
    `   (info) GET / 1 MiB-chunk read:  ${(rate(t.get) / rate(t.read1m)).toFixed(2)}x; ${paired(t.get, t.read1m)}`,
  );
  await ingredients();
}

function check(n: number, size = LARGE_SIZE): void {
  if (n !== size) throw new Error(`read ${n} bytes, expected ${size}`);
}

/** Single-threaded rate of each CPU step of a PUT on its own, to set the MB/s figures against. */
async function ingredients(): Promise<void> {
  const blocks = LARGE_SIZE / MiB;
  const block = Buffer.allocUnsafe(MiB);
  data.fill(block, 0);
  const timed = async (fn: () => unknown): Promise<string> => {
    collect();
    const t0 = performance.now();
    await fn();
    return mbps(LARGE_SIZE, since(t0)).toFixed(0);
  };
  const source = await timed(() => drain(data.stream(LARGE_SIZE, CHUNK)));
  const md5 = await timed(() => {
    const h = createHash('md5');
    for (let i = 0; i < blocks; i++) h.update(block);
    h.digest();
  });
  const xxh = await timed(() => {
    for (let i = 0; i < blocks; i++) xxh64(block);
  });
  const encode = codecOp(4, 2, 'encode');
  const rs = await timed(async () => {
    for (let i = 0; i < blocks; i++) await encode();
  });
  console.log(
    `   each step alone, one thread, MB/s of object bytes: source ${source}, MD5 ${md5}, xxh64 ${xxh} ` +
      `(a PUT hashes 1.5x the bytes), RS 4+2 encode ${rs}`,
  );
}

// ----- 3. small objects ----------------------------------------------------------------------------------------

async function smallSection(layer: ObjectLayer): Promise<void> {
  title(
    `3. ObjectLayer ${SMALL_SIZE / 1024} KiB objects (inline in metadata), ${SMALL_COUNT} objects per run, fsync on`,
  );
  await layer.makeBucket('small');
  console.log('   op    concurrency     ops/s   p50 ms   p99 ms');
  for (const concurrency of [16, 1]) {
    const key = (i: number): string => `c${concurrency}/obj-${i}`;
    const report = (op: string, wallMs: number, lat: number[]): void =>
      console.log(
        `   ${op.padEnd(5)} ${String(concurrency).padStart(11)} ${fmt(SMALL_COUNT / (wallMs / 1000), 0, 9)}` +
          ` ${fmt(percentile(lat, 50), 2, 8)} ${fmt(percentile(lat, 99), 2, 8)}`,
      );
    collect();
    let t0 = performance.now();
    let lat = await runConcurrent(SMALL_COUNT, concurrency, async (i) => {
      await layer.putObject('small', key(i), data.stream(SMALL_SIZE, CHUNK), { size: SMALL_SIZE });
    });
    report('PUT', since(t0), lat);
    collect();
    t0 = performance.now();
    lat = await runConcurrent(SMALL_COUNT, concurrency, async (i) => {
      check(await drain((await layer.getObject('small', key(i))).stream), SMALL_SIZE);
    });
    report('GET', since(t0), lat);
  }
}

// ----- 4. memory -----------------------------------------------------------------------------------------------

const MEMORY_CHILD = '--memory-child';
let memoryChildProcess: ChildProcess | undefined;
const WARMUP_SIZE = 8 * MiB;

/**
 * Runs section 4 in a fresh child process: a process that has just streamed 1.5 GiB keeps heap and malloc state
 * that would hide this measurement's own memory, and it also made the next sections' figures drift when run here.
 */
async function memorySection(root: string): Promise<void> {
  memoryChildProcess = fork(__filename, [MEMORY_CHILD, root], {
    execArgv: process.execArgv,
    stdio: 'inherit',
  });
  const [code, signal] = (await once(memoryChildProcess, 'exit')) as [number | null, NodeJS.Signals | null];
  memoryChildProcess = undefined;
  if (code !== 0) throw new Error(`memory section failed (exit ${code ?? signal})`);
}

/** Section 4 proper, in the child: its own 6 drives under `root`, one warm-up object, then the 1 GiB object. */
async function memoryChild(root: string): Promise<void> {
  const drives = Array.from({ length: 6 }, (_, i) => path.join(root, 'memory', `drive-${i + 1}`));
  const layer = await openObjectLayer({ drives, fsync: true });
  try {
    title('4. Peak RSS streaming one 1 GiB object (sampled every 20 ms; target: peak - baseline < 200 MiB)');
    const fresh = process.memoryUsage.rss();
    await layer.makeBucket('huge');
    // One-off start-up (the MD5 worker thread, JIT) belongs in the baseline, not in the per-object figure.
    await layer.putObject('huge', 'warm-up', data.stream(WARMUP_SIZE, CHUNK), { size: WARMUP_SIZE });
    check(await drain((await layer.getObject('huge', 'warm-up')).stream), WARMUP_SIZE);
    console.log(
      `   fresh child process, ${fmt(fresh / MiB, 0, 1)} MiB before the store's first PUT; ` +
        `baselines below are after one ${WARMUP_SIZE / MiB} MiB warm-up PUT + GET`,
    );
    let etag = '';
    await measureRss('PUT', async () => {
      const info = await layer.putObject('huge', 'one-gib', data.stream(HUGE_SIZE, CHUNK), {
        size: HUGE_SIZE,
      });
      etag = info.etag;
    });
    let got = '';
    await measureRss('GET', async () => {
      const md5 = createHash('md5');
      let n = 0;
      for await (const chunk of (await layer.getObject('huge', 'one-gib')).stream) {
        md5.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      check(n, HUGE_SIZE);
      got = md5.digest('hex');
    });
    if (got !== etag) throw new Error(`GET MD5 ${got} != PUT ETag ${etag}`);
    console.log(`   GET stream MD5 equals the PUT ETag (${etag}); the GET figure includes that MD5`);
  } finally {
    await layer.shutdown();
  }
}

/** Prints peak RSS over `fn` against the RSS just before it (after a GC and a short settle). */
async function measureRss(label: string, fn: () => Promise<void>): Promise<void> {
  collect();
  await new Promise((r) => setTimeout(r, 100));
  const baseline = process.memoryUsage.rss();
  const sampler = new RssSampler(20);
  const t0 = performance.now();
  sampler.start();
  await fn();
  const peak = sampler.stop();
  const ms = since(t0);
  const delta = (peak - baseline) / MiB;
  console.log(
    `   ${label}  baseline ${fmt(baseline / MiB, 0, 4)} MiB  peak ${fmt(peak / MiB, 0, 4)} MiB  ` +
      `peak - baseline ${fmt(delta, 0, 4)} MiB ${delta < 200 ? 'MET' : 'MISSED'}  ` +
      `(info: ${mbps(HUGE_SIZE, ms).toFixed(0)} MB/s, ${sampler.samples} samples)`,
  );
}

// ----- main ----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2).map(Number));
  const run = (n: number): boolean => wanted.size === 0 || wanted.has(n);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'tiergate-bench-'));
  const onSignal = (): void => {
    const cleanUp = (): never => {
      rmSync(root, { recursive: true, force: true });
      process.exit(130);
    };
    // A running memory child would keep writing under root: stop it and clean up once it is gone.
    if (!memoryChildProcess) cleanUp();
    memoryChildProcess?.once('exit', cleanUp).kill('SIGKILL');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let layer: ObjectLayer | undefined;
  try {
    console.log('tiergate storage benchmark (MB = 1e6 B, GB = 1e9 B, MiB = 2^20 B)');
    for (const line of environmentLines(root)) console.log(`   ${line}`);
    if (run(1)) await codecSection();
    if (run(2) || run(3)) {
      const drives = Array.from({ length: 6 }, (_, i) => path.join(root, `drive-${i + 1}`));
      layer = await openObjectLayer({ drives, fsync: true });
      if (run(2)) await largeSection(layer, root);
      if (run(3)) await smallSection(layer);
      await layer.shutdown();
      layer = undefined;
    }
    if (run(4)) await memorySection(root);
    console.log(`\ndone in ${(since(started) / 1000).toFixed(1)} s`);
  } finally {
    await layer?.shutdown();
    await fsp.rm(root, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const entry = process.argv[2] === MEMORY_CHILD ? memoryChild(process.argv[3]) : main();
entry.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
