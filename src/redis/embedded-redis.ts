/**
 * The gateway's own redis-server, started as a child when TIERGATE_REDIS_URL is unset (DESIGN.md section 1).
 *
 * Invariants:
 * - Loopback only: bound to 127.0.0.1 on a port free at start, protected mode on, no password (nothing else on the
 *   machine is trusted less than the gateway's own user, who could read the data directory anyway).
 * - Queued work survives a restart: AOF on with `appendfsync everysec` (at most a second of writes lost on a power
 *   cut, none on a crash of either process); RDB snapshots off (AOF is the record).
 * - One redis-server per data directory. Its pid is kept in `<dir>/redis-server.pid`; a gateway killed with SIGKILL
 *   cannot stop its child, so the next start finds that pid, checks it is still a redis-server, and stops it
 *   (SIGTERM, so it flushes its AOF, then SIGKILL) before starting a new one on the same files. Any normal exit of
 *   the gateway process (including process.exit) sends the child SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** How the embedded redis-server is started. */
export interface EmbeddedRedisOptions {
  /** Data directory (created 0700): AOF files, pidfile. */
  readonly dir: string;
  /** Port on 127.0.0.1; a free one when omitted. */
  readonly port?: number;
  /** AOF persistence (default true; throwaway test servers turn it off). */
  readonly appendOnly?: boolean;
  /** The PATH searched for redis-server (default process.env.PATH). */
  readonly path?: string;
  /** How long to wait for PONG (default 20 s). */
  readonly startTimeoutMs?: number;
  /** How long SIGTERM may take before SIGKILL (default 10 s). */
  readonly stopTimeoutMs?: number;
}

/** redis-server is not on PATH: the message says how to install it or point the gateway at a Redis. */
export class RedisNotInstalledError extends Error {
  constructor(path: string) {
    super(
      `redis-server was not found on PATH (${path || 'empty'}). The gateway needs Redis for its job queues: ` +
        `install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set ` +
        `TIERGATE_REDIS_URL=redis://host:port to use a running one.`,
    );
    this.name = 'RedisNotInstalledError';
  }
}

const PIDFILE = 'redis-server.pid';
const OUTPUT_KEPT = 4_000;

/** A running redis-server child; `stop()` ends it. */
export class EmbeddedRedis {
  private readonly exited: Promise<unknown>;
  private readonly onProcessExit = () => this.child.kill('SIGTERM');

  private constructor(
    private readonly child: ChildProcess,
    /** The port it listens on, on 127.0.0.1. */
    readonly port: number,
    /** Its data directory. */
    readonly dir: string,
    private readonly stopTimeoutMs: number,
    private readonly output: () => string,
  ) {
    this.exited = once(child, 'exit').catch(() => undefined);
    process.on('exit', this.onProcessExit);
  }

  /** Starts redis-server on `opts.dir` and resolves once it answers PING; stops a stale one left there first. */
  static async start(opts: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
    const binary = await findOnPath('redis-server', opts.path ?? process.env.PATH ?? '');
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
    await stopStale(opts.dir, stopTimeoutMs);
    // A free port can be taken between the probe and redis binding it; try a few before giving up.
    for (let attempt = 1; ; attempt++) {
      const port = opts.port ?? (await freeLoopbackPort());
      try {
        return await EmbeddedRedis.spawnOnce(binary, port, opts, stopTimeoutMs);
      } catch (err) {
        const portTaken = err instanceof Error && /Address already in use/i.test(err.message);
        if (!portTaken || opts.port !== undefined || attempt >= 3) throw err;
      }
    }
  }

  private static async spawnOnce(
    binary: string,
    port: number,
    opts: EmbeddedRedisOptions,
    stopTimeoutMs: number,
  ): Promise<EmbeddedRedis> {
    const appendOnly = opts.appendOnly ?? true;
    // One option and its value per line.
    // prettier-ignore
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--protected-mode', 'yes',
      '--dir', opts.dir,
      '--pidfile', join(opts.dir, PIDFILE),
      '--daemonize', 'no',
      '--save', '',
      '--appendonly', appendOnly ? 'yes' : 'no',
      '--appendfsync', 'everysec',
      '--logfile', '',
    ];
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (s: string) => (output = (output + s).slice(-OUTPUT_KEPT));
    child.stdout?.setEncoding('utf8').on('data', keep);
    child.stderr?.setEncoding('utf8').on('data', keep);
    const redis = new EmbeddedRedis(child, port, opts.dir, stopTimeoutMs, () => output);
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await redis.stop();
        throw new Error(`redis-server exited before it answered PING:\n${output}`);
      }
      if (await pingOnce(port)) return redis;
      if (Date.now() > deadline) {
        await redis.stop();
        throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} in time:\n${output}`);
      }
      await delay(25);
    }
  }

  /** redis://127.0.0.1:<port> */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The child's pid (undefined once it is gone). */
  get pid(): number | undefined {
    return this.running ? this.child.pid : undefined;
  }

  /** True until the child has exited. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines redis-server printed (for error messages). */
  get log(): string {
    return this.output();
  }

  /** Lets the process exit while the server runs (test fixtures); the exit hook still sends it SIGTERM. */
  unref(): this {
    this.child.unref();
    for (const stream of [this.child.stdout, this.child.stderr]) {
      (stream as { unref?: () => void } | null)?.unref?.();
    }
    return this;
  }

  /** SIGTERM (redis flushes its AOF and exits), then SIGKILL after the timeout; resolves when it is gone. */
  async stop(): Promise<void> {
    process.off('exit', this.onProcessExit);
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), this.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The absolute path of an executable `name` on `path`; throws RedisNotInstalledError when there is none. */
async function findOnPath(name: string, path: string): Promise<string> {
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new RedisNotInstalledError(path);
}

/** Stops the redis-server a SIGKILLed gateway left running on `dir`, if its pidfile names a live redis-server. */
async function stopStale(dir: string, timeoutMs: number): Promise<void> {
  const pid = Number((await readFile(join(dir, PIDFILE), 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 1) return;
  // The pid may have been reused by an unrelated process since: only a redis-server is stopped.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('redis-server')) return;
  // Gone, or a zombie: an orphan whose new parent does not reap it (no init in a container) holds no files.
  const alive = async () => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    return !(await isZombie(pid));
  };
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while ((await alive()) && Date.now() < deadline) await delay(25);
  if (!(await alive())) return;
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + timeoutMs;
  while ((await alive()) && Date.now() < killDeadline) await delay(25);
}

/** True for a zombie, and for a process that vanished meanwhile (its stat is gone): neither holds files. */
async function isZombie(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat === undefined || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

/** Sends `sig` to `pid`; a process that has exited meanwhile (ESRCH) is what was wanted. */
function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** A port free on 127.0.0.1 at the time of the call. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** True when 127.0.0.1:`port` answers PING with PONG (a loading Redis answers -LOADING, which is not ready). */
export function pingOnce(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}
