/**
 * S3 benchmark (issue 3). One run drives three servers with the same raw SigV4 client (bench/lib/s3-client.ts,
 * keep-alive, UNSIGNED-PAYLOAD) at concurrency 16, each server in its own child process so it has a core-sized
 * event loop of its own and its RSS is measured alone:
 *   - tiergate: `bootstrap()` from src/main.ts on 6 temp drives as one 4+2 erasure set (fsync on, the default);
 *   - trivial: a node:http server that streams each PUT through an in-stream MD5 into one file (fsynced before it
 *     answers) and serves GETs with fs.createReadStream;
 *   - s3rver (npm): a file-backed S3 emulator (no signature checks, no fsync).
 * and prints:
 *   1. PUT / GET MB/s of 64 MiB objects, and tiergate's ratio to the trivial server with the targets;
 *   2. PUT / GET ops/s of 4 KiB objects, and tiergate's ratio to s3rver with the targets;
 *   3. tiergate's peak RSS (fresh child) while one 1 GiB object goes up and comes back.
 *
 * Run with `npm run bench:s3`; pass section names to run a subset (`node --expose-gc dist/bench/s3.bench.js small`).
 * Loopback only. Every child is stopped and the temp directory removed at the end, on error and on Ctrl-C.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, readFileSync, rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BenchS3Client } from './lib/s3-client';
import {
  collect,
  environmentLines,
  flushPageCache,
  fmt,
  MiB,
  mbps,
  percentile,
  runConcurrent,
  since,
} from './lib/measure';
import { DataPool } from './lib/source';

const CONCURRENCY = 16;
/** Source chunk size of streamed PUT bodies (what a socket read hands a server). */
const CHUNK = 64 * 1024;
const LARGE_SIZE = 64 * MiB;
const LARGE_COUNT = 32;
const SMALL_SIZE = 4 * 1024;
const SMALL_COUNT = 4000;
const SMALL_ROUNDS = 3;
const HUGE_SIZE = 1024 * MiB;
const WARMUP_SIZE = 8 * MiB;
/** Small objects each server PUTs and GETs before any timing: their code path is not the large one's. */
const WARMUP_SMALL_COUNT = 500;
const TARGETS = { largePut: 0.8, largeGet: 0.5, smallPut: 1.5, smallGet: 2, rssMiB: 256 };

const BUCKET = 'bench';
const CREDENTIALS = { accessKey: 'benchrootuser', secretKey: 'bench-root-secret-key' };
/** s3rver knows only its built-in key pair (it checks the key id, not SigV4 signatures). */
const S3RVER_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };
const REGION = 'us-east-1';
const SERVE = '--serve';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

type ServerKind = 'tiergate' | 'trivial' | 's3rver';
const KINDS: readonly ServerKind[] = ['tiergate', 'trivial', 's3rver'];

const data = new DataPool();

function title(text: string): void {
  console.log(`\n== ${text}`);
}

// ----- server children -----------------------------------------------------------------------------------------

/** The trivial baseline: PUT streams into one file per key through an MD5; GET streams the file back. */
function trivialServer(dir: string): ReturnType<typeof createServer> {
  const fileOf = (url: string): string | undefined => {
    const p = decodeURIComponent(url.split('?')[0]).slice(1);
    const slash = p.indexOf('/');
    return slash < 0 || slash === p.length - 1 ? undefined : path.join(dir, encodeURIComponent(p));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const file = fileOf(req.url ?? '/');
    if (file === undefined) {
      // Bucket-level requests (CreateBucket) just succeed.
      req.resume();
      res.writeHead(200, { 'Content-Length': 0 }).end();
    } else if (req.method === 'PUT') {
      const md5 = createHash('md5');
      await pipeline(
        req,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            md5.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(file, { flush: true }),
      );
      res.writeHead(200, { ETag: `"${md5.digest('hex')}"`, 'Content-Length': 0 }).end();
    } else if (req.method === 'GET') {
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st) {
        res.writeHead(404, { 'Content-Length': 0 }).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': st.size });
      await pipeline(createReadStream(file), res);
    } else {
      res.writeHead(405, { 'Content-Length': 0 }).end();
    }
  };
  return createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
}

/** Child side: starts one server on 127.0.0.1:0 under `dir`, reports its port, stops on 'stop' or parent loss. */
async function serve(kind: ServerKind, dir: string): Promise<void> {
  let close: () => Promise<unknown>;
  let port: number;
  if (kind === 'tiergate') {
    // Loaded here only: the parent process never imports the gateway, so none of its modules sit in the client.
    const { Logger } = await import('@nestjs/common');
    const { loadConfig } = await import('../src/config/load-config');
    const { bootstrap } = await import('../src/main');
    Logger.overrideLogger(['error', 'warn']);
    const drives = Array.from({ length: 6 }, (_, i) => path.join(dir, `drive-${i + 1}`));
    await Promise.all(drives.map((d) => fsp.mkdir(d, { recursive: true })));
    const config = loadConfig(
      {
        TIERGATE_DRIVES: drives.join(','),
        TIERGATE_SET_DRIVE_COUNT: '6',
        TIERGATE_PARITY: '2',
        TIERGATE_ADDRESS: '127.0.0.1:0',
        TIERGATE_REGION: REGION,
        TIERGATE_ROOT_USER: CREDENTIALS.accessKey,
        TIERGATE_ROOT_PASSWORD: CREDENTIALS.secretKey,
      },
      dir,
    );
    const app = await bootstrap(config);
    port = (app.getHttpServer().address() as AddressInfo).port;
    close = () => app.close();
  } else if (kind === 'trivial') {
    await fsp.mkdir(dir, { recursive: true });
    const server = trivialServer(dir).listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
    close = async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    };
  } else {
    await fsp.mkdir(dir, { recursive: true });
    const { default: S3rver } = await import('s3rver');
    const s3rver = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true });
    port = (await s3rver.run()).port;
    close = () => s3rver.close();
  }
  process.on('message', (m) => {
    if (m === 'stop') void close().finally(() => process.exit(0));
  });
  // The parent died without stopping us: do not linger.
  process.on('disconnect', () => process.exit(1));
  process.send?.({ port });
}

/** Parent side of one server child. */
class ServerChild {
  private constructor(
    readonly kind: ServerKind,
    readonly proc: ChildProcess,
    readonly port: number,
  ) {}

  /** Forks the child and waits until it listens. */
  static async start(kind: ServerKind, dir: string): Promise<ServerChild> {
    // BENCH_CPU_PROF=<dir> profiles the tiergate child (one .cpuprofile per run, for Chrome DevTools).
    const prof = process.env.BENCH_CPU_PROF;
    const execArgv =
      prof && kind === 'tiergate' ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${prof}`] : undefined;
    const proc = fork(__filename, [SERVE, kind, dir], { stdio: 'inherit', execArgv });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${kind} did not start in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      proc.once('message', (m: { port: number }) => {
        clearTimeout(timer);
        resolve(m.port);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${kind} exited during start-up (${code ?? signal})`));
      });
    });
    return new ServerChild(kind, proc, port);
  }

  /** A client for this server. */
  client(): BenchS3Client {
    return new BenchS3Client({
      host: '127.0.0.1',
      port: this.port,
      region: REGION,
      maxSockets: CONCURRENCY,
      ...(this.kind === 's3rver' ? S3RVER_CREDENTIALS : CREDENTIALS),
    });
  }

  /** Asks the child to close and waits for its exit; kills it when it takes too long. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const gone = once(this.proc, 'exit');
    this.proc.send('stop');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  }
}

/** Every child still running, so an error or Ctrl-C can stop them all. */
const running = new Set<ChildProcess>();

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now; VmHWM: the resident peak of the process's life). */
function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * CPU time a child has used so far, in microseconds: its main thread's (/proc/<pid>/schedstat, nanoseconds on CPU:
 * the event loop, which is what caps a Node server's request rate) and the whole process's (utime + stime of every
 * thread, /proc/<pid>/stat, in USER_HZ = 100 ticks per second).
 */
function procCpu(pid: number): { mainUs: number; allUs: number } {
  const mainNs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { mainUs: mainNs / 1000, allUs: ticks * 10_000 };
}

/** Samples a child's VmRSS from /proc every `everyMs` (independent of the child's own event loop). */
class ChildRssSampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 20,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, procStatus(this.pid, 'VmRSS'));
      this.samples++;
    } catch {
      // The child is gone (the run is failing): its error is reported where the run awaits it.
    }
  }
}

// ----- workloads -----------------------------------------------------------------------------------------------

/** One timed workload: wall time, per-request latencies, and tiergate's peak RSS during it (when tiergate ran). */
interface Timed {
  ms: number;
  latencies: number[];
  peakRss?: number;
  /** The server's CPU time during the run, in microseconds (see procCpu). */
  cpu: { mainUs: number; allUs: number };
}

/**
 * One timed run. It starts with the page cache flushed (sync(1), untimed): s3rver does not fsync, and ext4 writes
 * the dirty data of a past run back later, on its own and in whatever fsync forces a journal commit next (data=
 * ordered), so without this the server timed after s3rver paid for s3rver's writes. The flush runs in a child
 * without blocking this process: a blocked client would miss the servers closing its idle keep-alive sockets and
 * send its next request into a closed one.
 */
async function timed(server: ServerChild, work: () => Promise<number[]>): Promise<Timed> {
  await flushPageCache();
  collect();
  const pid = server.proc.pid!;
  const sampler = server.kind === 'tiergate' ? new ChildRssSampler(pid).start() : undefined;
  const cpu0 = procCpu(pid);
  const t0 = performance.now();
  try {
    const latencies = await work();
    const ms = since(t0);
    const cpu1 = procCpu(pid);
    const cpu = { mainUs: cpu1.mainUs - cpu0.mainUs, allUs: cpu1.allUs - cpu0.allUs };
    return { ms, latencies, peakRss: sampler?.stop(), cpu };
  } finally {
    sampler?.stop();
  }
}

function md5Hex(stream: AsyncIterable<Buffer>): Promise<string> {
  return (async () => {
    const h = createHash('md5');
    for await (const chunk of stream) h.update(chunk);
    return h.digest('hex');
  })();
}

/** GETs `key` and checks every byte against the data pool; throws on a short or wrong body. */
async function getChecked(client: BenchS3Client, key: string, size: number): Promise<void> {
  const n = await client.getObject(BUCKET, key, (chunk, offset) => {
    if (!data.matches(chunk, offset)) throw new Error(`GET ${key}: wrong bytes at ${offset}`);
  });
  if (n !== size) throw new Error(`GET ${key}: ${n} bytes, expected ${size}`);
}

type Phase = 'put' | 'get';
type Results = Record<ServerKind, Partial<Record<Phase, Timed>>>;

/** Runs PUT then GET of `count` objects of `size` on every server, rotating which server goes first. */
async function runObjects(
  servers: ServerChild[],
  clients: Map<ServerKind, BenchS3Client>,
  prefix: string,
  size: number,
  count: number,
  rotate = 0,
): Promise<Results> {
  const expected = await md5Hex(data.stream(size, CHUNK));
  const small = size <= CHUNK ? Buffer.allocUnsafe(size) : undefined;
  if (small) data.fill(small, 0);
  const results: Results = { tiergate: {}, trivial: {}, s3rver: {} };
  const phases: Phase[] = ['put', 'get'];
  for (const [p, phase] of phases.entries()) {
    for (let s = 0; s < servers.length; s++) {
      const server = servers[(s + p + rotate) % servers.length];
      const client = clients.get(server.kind)!;
      const key = (i: number): string => `${prefix}-${i}`;
      results[server.kind][phase] = await timed(server, () =>
        runConcurrent(count, CONCURRENCY, async (i) => {
          if (phase === 'get') return getChecked(client, key(i), size);
          const etag = await client.putObject(BUCKET, key(i), small ?? data.stream(size, CHUNK), size);
          if (etag !== expected)
            throw new Error(`${server.kind} PUT ${key(i)}: ETag ${etag} != MD5 ${expected}`);
        }),
      );
    }
  }
  return results;
}

const verdict = (ratio: number, target: number): string =>
  `${ratio.toFixed(2)}x  (target >= ${target}x: ${ratio >= target ? 'MET' : 'MISSED'})`;

async function largeSection(servers: ServerChild[], clients: Map<ServerKind, BenchS3Client>): Promise<void> {
  title(`1. ${LARGE_SIZE / MiB} MiB objects: ${LARGE_COUNT} per run, concurrency ${CONCURRENCY} (MB/s)`);
  const r = await runObjects(servers, clients, 'large', LARGE_SIZE, LARGE_COUNT);
  const rate = (t: Timed | undefined): number => mbps(LARGE_SIZE * LARGE_COUNT, t!.ms);
  console.log('   server      PUT MB/s   GET MB/s   p50 PUT s   p50 GET s   peak RSS PUT / GET');
  for (const kind of KINDS) {
    const { put, get } = r[kind];
    const rss =
      kind === 'tiergate' ? `${fmt(put!.peakRss! / MiB, 0, 5)} / ${fmt(get!.peakRss! / MiB, 0, 0)} MiB` : '';
    console.log(
      `   ${kind.padEnd(10)} ${fmt(rate(put), 0, 9)} ${fmt(rate(get), 0, 10)} ${fmt(percentile(put!.latencies, 50) / 1000, 2, 11)}` +
        ` ${fmt(percentile(get!.latencies, 50) / 1000, 2, 11)}   ${rss}`.trimEnd(),
    );
  }
  console.log(`   every PUT's ETag equals the source MD5; every GET byte checked`);
  console.log(
    `   tiergate / trivial PUT: ${verdict(rate(r.tiergate.put) / rate(r.trivial.put), TARGETS.largePut)}`,
  );
  console.log(
    `   tiergate / trivial GET: ${verdict(rate(r.tiergate.get) / rate(r.trivial.get), TARGETS.largeGet)}`,
  );
}

/**
 * Small objects are a test of per-request overhead, where a shared 2-core machine is noisiest: three rounds of
 * fresh keys, each starting with a different server, and the verdict on the median of the three rounds' ratios.
 */
async function smallSection(servers: ServerChild[], clients: Map<ServerKind, BenchS3Client>): Promise<void> {
  title(
    `2. ${SMALL_SIZE / 1024} KiB objects: ${SMALL_ROUNDS} rounds of ${SMALL_COUNT} per server, concurrency ` +
      `${CONCURRENCY} (ops/s)`,
  );
  const ops = (t: Timed | undefined): number => SMALL_COUNT / (t!.ms / 1000);
  const rounds: Results[] = [];
  for (let round = 0; round < SMALL_ROUNDS; round++) {
    rounds.push(await runObjects(servers, clients, `small-r${round}`, SMALL_SIZE, SMALL_COUNT, round));
  }
  console.log(
    '   server     round   PUT ops/s  p50 ms  p99 ms  CPU us/op   GET ops/s  p50 ms  p99 ms  CPU us/op',
  );
  for (const kind of KINDS) {
    rounds.forEach((r, round) => {
      const { put, get } = r[kind];
      const lat = (t: Timed | undefined): string =>
        `${fmt(percentile(t!.latencies, 50), 2, 7)} ${fmt(percentile(t!.latencies, 99), 2, 7)}`;
      const cpu = (t: Timed | undefined): string =>
        `${fmt(t!.cpu.mainUs / SMALL_COUNT, 0, 5)}/${fmt(t!.cpu.allUs / SMALL_COUNT, 0, 0).padEnd(4)}`;
      console.log(
        `   ${(round === 0 ? kind : '').padEnd(10)} ${fmt(round + 1, 0, 5)} ${fmt(ops(put), 0, 11)} ${lat(put)} ` +
          `${cpu(put)} ${fmt(ops(get), 0, 11)} ${lat(get)} ${cpu(get)}`,
      );
    });
  }
  console.log(
    "   CPU us/op: the server's main thread / all its threads (from /proc; a Node server tops out where its " +
      'main thread is busy all the time)',
  );
  const ratios = (phase: Phase, vs: ServerKind): number[] =>
    rounds.map((r) => ops(r.tiergate[phase]) / ops(r[vs][phase]));
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const list = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(', ');
  const put = ratios('put', 's3rver');
  const get = ratios('get', 's3rver');
  console.log(
    `   tiergate / s3rver PUT per round: ${list(put)}; median ${verdict(median(put), TARGETS.smallPut)}`,
  );
  console.log(
    `   tiergate / s3rver GET per round: ${list(get)}; median ${verdict(median(get), TARGETS.smallGet)}`,
  );
  console.log(
    `   (info) tiergate / trivial, median: PUT ${median(ratios('put', 'trivial')).toFixed(2)}x, ` +
      `GET ${median(ratios('get', 'trivial')).toFixed(2)}x`,
  );
}

/** A fresh tiergate child: one warm-up object, then one 1 GiB PUT and GET with its VmRSS sampled from /proc. */
async function memorySection(root: string): Promise<void> {
  title(
    `3. tiergate peak RSS while one 1 GiB object goes up and comes back (fresh child, VmRSS every 20 ms; ` +
      `target < ${TARGETS.rssMiB} MiB)`,
  );
  const server = await ServerChild.start('tiergate', path.join(root, 'memory'));
  const client = server.client();
  try {
    await client.createBucket(BUCKET);
    const pid = server.proc.pid!;
    const booted = procStatus(pid, 'VmRSS');
    await client.putObject(BUCKET, 'warm-up', data.stream(WARMUP_SIZE, CHUNK), WARMUP_SIZE);
    await getChecked(client, 'warm-up', WARMUP_SIZE);
    collect();
    const before = procStatus(pid, 'VmRSS');
    const sampler = new ChildRssSampler(pid).start();
    let t0 = performance.now();
    const etag = await client.putObject(BUCKET, 'one-gib', data.stream(HUGE_SIZE, CHUNK), HUGE_SIZE);
    const putMs = since(t0);
    const putPeak = sampler.peak;
    t0 = performance.now();
    const md5 = createHash('md5');
    let n = 0;
    await client.getObject(BUCKET, 'one-gib', (chunk) => {
      md5.update(chunk);
      n += chunk.length;
    });
    const getMs = since(t0);
    const peak = sampler.stop();
    const hwm = procStatus(pid, 'VmHWM');
    if (n !== HUGE_SIZE) throw new Error(`GET one-gib: ${n} bytes`);
    if (md5.digest('hex') !== etag) throw new Error('GET one-gib: MD5 differs from the PUT ETag');
    const mib = (b: number): string => `${fmt(b / MiB, 0, 0)} MiB`;
    console.log(
      `   RSS after boot ${mib(booted)}, after an ${WARMUP_SIZE / MiB} MiB warm-up PUT + GET ${mib(before)}`,
    );
    console.log(
      `   sampled peak: PUT ${mib(putPeak)}, PUT + GET ${mib(peak)} (${sampler.samples} samples); ` +
        `(info: PUT ${mbps(HUGE_SIZE, putMs).toFixed(0)} MB/s, GET ${mbps(HUGE_SIZE, getMs).toFixed(0)} MB/s)`,
    );
    console.log(
      `   VmHWM (exact peak over the child's whole life, boot included): ${mib(hwm)}  ` +
        `${hwm < TARGETS.rssMiB * MiB ? 'MET' : 'MISSED'}`,
    );
    console.log('   GET body MD5 equals the PUT ETag');
  } finally {
    client.close();
    await server.stop();
  }
}

// ----- main ----------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const run = (name: string): boolean => wanted.size === 0 || wanted.has(name);
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'tiergate-s3-bench-'));
  const onSignal = (): void => {
    for (const child of running) child.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  const servers: ServerChild[] = [];
  const clients = new Map<ServerKind, BenchS3Client>();
  try {
    console.log(
      'tiergate S3 benchmark (MB = 1e6 B, MiB = 2^20 B); client: raw SigV4 on node:http, keep-alive',
    );
    for (const line of environmentLines(root)) console.log(`   ${line}`);
    if (run('large') || run('small')) {
      servers.push(...(await Promise.all(KINDS.map((k) => ServerChild.start(k, path.join(root, k))))));
      for (const server of servers) {
        const client = server.client();
        clients.set(server.kind, client);
        await client.createBucket(BUCKET);
        // Warm-up: connections, JIT, and one-off start-up (tiergate's MD5 worker) stay out of the timings; small
        // objects take other code paths than large ones (tiergate keeps them inline in their metadata), so both.
        await client.putObject(BUCKET, 'warm-up', data.stream(WARMUP_SIZE, CHUNK), WARMUP_SIZE);
        await getChecked(client, 'warm-up', WARMUP_SIZE);
        const small = Buffer.allocUnsafe(SMALL_SIZE);
        data.fill(small, 0);
        const warmKey = (i: number): string => `warm-up-small-${i}`;
        await runConcurrent(WARMUP_SMALL_COUNT, CONCURRENCY, async (i) => {
          await client.putObject(BUCKET, warmKey(i), small, SMALL_SIZE);
        });
        await runConcurrent(WARMUP_SMALL_COUNT, CONCURRENCY, (i) =>
          getChecked(client, warmKey(i), SMALL_SIZE),
        );
      }
      console.log(
        `   servers: tiergate (6 drives, one 4+2 set, fsync on), trivial (file per object, MD5, fsync), ` +
          `s3rver (no fsync); each in its own process`,
      );
      if (run('large')) await largeSection(servers, clients);
      if (run('small')) await smallSection(servers, clients);
    }
    for (const client of clients.values()) client.close();
    clients.clear();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
    if (run('memory')) await memorySection(root);
    console.log(`\ndone in ${(since(started) / 1000).toFixed(1)} s`);
  } finally {
    for (const client of clients.values()) client.close();
    await Promise.all(servers.map((s) => s.stop().catch(() => s.proc.kill('SIGKILL'))));
    await Promise.all(
      [...running].map((child) => {
        const gone = once(child, 'exit');
        child.kill('SIGKILL');
        return gone;
      }),
    );
    await fsp.rm(root, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

const entry = process.argv[2] === SERVE ? serve(process.argv[3] as ServerKind, process.argv[4]) : main();
entry.catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
  if (process.argv[2] === SERVE) process.exit(1);
});
