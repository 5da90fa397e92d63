/**
 * Measuring and printing helpers shared by the benchmarks: timers, medians, a bounded-concurrency runner, an RSS
 * sampler, and the environment header. Units are fixed: MB = 1e6 B, GB = 1e9 B, MiB = 2^20 B.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * Writes the page cache's dirty data back (sync(1)), in a child, without blocking this process: run untimed before
 * a timed run, so that a run whose server fsyncs does not pay for the writes an earlier run (or a server that does
 * not fsync) left in the cache. A blocked process would also miss its peers closing idle keep-alive sockets.
 */
export async function flushPageCache(): Promise<void> {
  await execFileAsync('sync');
}

/** 2^20, the unit object and block sizes are given in. */
export const MiB = 1024 * 1024;

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}

/** Median of a non-empty list (mean of the middle two for even lengths). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0..100, nearest rank) of a non-empty list. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Decimal megabytes per second for `bytes` moved in `ms`. */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** Wall time of one run with how busy it kept the event loop and how many cores the whole process used. */
export interface RunSample {
  ms: number;
  /** Event-loop utilisation of the main thread, 0..1 (1 = the JS thread never waited). */
  loop: number;
  /** Process CPU time (all threads: JS, libuv pool, workers, GC) divided by wall time. */
  cores: number;
}

/** Runs `fn` once and samples its wall time, event-loop utilisation and process CPU. */
export async function sampleRun(fn: () => Promise<unknown>): Promise<RunSample> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = since(t0);
  const used = process.cpuUsage(cpu);
  return {
    ms,
    loop: performance.eventLoopUtilization(elu).utilization,
    cores: (used.user + used.system) / 1000 / ms,
  };
}

/** Runs a full GC when node was started with --expose-gc, so one measurement's garbage is not billed to the next. */
export function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Calls `task(i)` for i in [0, count) with at most `concurrency` in flight; returns each call's latency in ms. */
export async function runConcurrent(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<number[]> {
  const latencies = new Array<number>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t0 = performance.now();
      await task(i);
      latencies[i] = since(t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return latencies;
}

/** Samples process RSS on a timer and keeps the peak (the timer runs on the event loop, so it sees any stall). */
export class RssSampler {
  peak = 0;
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly everyMs = 20) {}

  /** Starts sampling (and takes one sample at once). */
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
  }

  /** Stops sampling after one last sample; returns the peak RSS in bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
    this.samples++;
  }
}

/** A value right-aligned to `width` with `digits` decimals, for tables that line up. */
export function fmt(x: number, digits = 2, width = 8): string {
  return x.toFixed(digits).padStart(width);
}

/** One header line per fact a reader needs to compare runs across machines. */
export function environmentLines(dataDir: string): string[] {
  const cpus = os.cpus();
  let fsType = 'unknown';
  try {
    fsType =
      execFileSync('df', ['--output=fstype', dataDir], { encoding: 'utf8' }).trim().split('\n').pop() ??
      fsType;
  } catch {
    // df missing or without --output: the type is informative only
  }
  return [
    `node ${process.version} (${process.platform}/${process.arch}), V8 ${process.versions.v8}`,
    `cpu: ${cpus[0]?.model ?? 'unknown'} x ${cpus.length} (available parallelism ${os.availableParallelism()})`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total, kernel ${os.release()}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    `libuv pool: ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'} threads; GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? '(unset)'}`,
    `code: ${revision()}`,
    `data dir: ${dataDir} (${fsType}); gc exposed: ${typeof (globalThis as { gc?: unknown }).gc === 'function'}`,
  ];
}

/** The checked-out commit, flagged when src/ has uncommitted changes (the figures then describe a work in progress). */
function revision(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { encoding: 'utf8', stdio: 'pipe' }).trim();
    const subject = git('log', '-1', '--format=%s');
    const head = `${git('rev-parse', '--short', 'HEAD')} "${subject.length > 50 ? `${subject.slice(0, 50)}...` : subject}"`;
    return git('status', '--porcelain', '--', 'src').length > 0
      ? `${head} (+ uncommitted changes in src/)`
      : head;
  } catch {
    return 'unknown (not run from a git checkout)';
  }
}
