/**
 * The built gateway (`node dist/src/main.js`) as a child process on temp drives, for the end-to-end suites that
 * drive it from outside (real S3 clients, SIGKILL mid-upload). Started with known root credentials on a free port;
 * live once GET /tiergate/health/live answers 200. Its stdout and stderr are kept for assertion messages.
 *
 * Redis: by default the child runs as `npm start` does, with no TIERGATE_REDIS_URL, so it starts its own
 * redis-server under the data root (suites that own a redis-server pass its URL in `env` instead). `kill()` is a
 * crash: only the gateway gets SIGKILL and its redis-server lives on, as it would in production, until the next
 * gateway on the same data stops it (embedded-redis.ts, pidfile). So that nothing outlives the suite, each child is
 * the leader of its own process group: `stop()` ends the group once the gateway has exited, and the test process
 * kills every group still alive when it exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { freeLoopbackPort as freePort } from '../../src/redis/embedded-redis';

/** A port free on 127.0.0.1 at the time of the call. */
export { freePort };

const MAIN = resolve(__dirname, '../../src/main.js');
const BOOT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Process groups of the children started by this test process (gateway and its redis-server). */
const groups = new Set<number>();
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid);
});

/** SIGKILL to every process of group `pgid`; a group already gone is fine. */
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group
  }
}

/** Root credentials every suite starts the gateway with (not the dev default, so a default is not relied on). */
export const ROOT_USER = 'e2erootuser';
/** Secret of ROOT_USER. */
export const ROOT_PASSWORD = 'e2e-root-secret-key';
/** The region the gateway signs for (its default). */
export const REGION = 'us-east-1';

/**
 * An S3 client for a gateway child that a test will SIGKILL: no checksums beyond what S3 requires, and no retries,
 * since a retry could land on the restarted gateway and blur what was acknowledged before the kill.
 */
export function crashClient(url: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
}

/** The environment minus the developer's TIERGATE_* and the given prefixes (AWS_, RCLONE_...), plus `vars`. */
export function cleanEnv(
  vars: Record<string, string>,
  dropPrefixes: readonly string[] = ['TIERGATE_'],
): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([k]) => !dropPrefixes.some((p) => k.startsWith(p)));
  return { ...Object.fromEntries(kept), ...vars };
}

/** A running gateway child. */
export interface GatewayProcess {
  readonly url: string;
  readonly port: number;
  /** Everything the child printed so far. */
  output(): string;
  /** True once the child has exited. */
  exited(): boolean;
  /** SIGKILL and wait for the exit (no-op when already gone). */
  kill(): Promise<void>;
  /**
   * SIGTERM (the gateway stops its redis-server), then SIGKILL after STOP_TIMEOUT_MS; then ends whatever is left
   * in its process group (a redis-server of an earlier crash). Resolves when the child is gone. Never throws.
   */
  stop(): Promise<void>;
}

/** Options of startGateway. */
export interface GatewayOptions {
  /** Working directory of the child. */
  cwd: string;
  /** TIERGATE_DRIVES, e.g. `<base>/drive{1...4}`. */
  drives: string;
  /** Port to listen on; a free one when omitted. */
  port?: number;
  /**
   * Extra variables for the child (e.g. TIERGATE_REDIS_URL, TIERGATE_LIFECYCLE_DAY_SECONDS), merged over the ones
   * above.
   */
  env?: Record<string, string>;
}

/** Spawns the gateway and waits until it is live; throws (after killing it) with its output if it is not. */
export async function startGateway(options: GatewayOptions): Promise<GatewayProcess> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    cwd: options.cwd,
    env: cleanEnv({
      TIERGATE_DRIVES: options.drives,
      TIERGATE_ADDRESS: `127.0.0.1:${port}`,
      TIERGATE_ROOT_USER: ROOT_USER,
      TIERGATE_ROOT_PASSWORD: ROOT_PASSWORD,
      TIERGATE_REGION: REGION,
      ...options.env,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid;
  if (pgid !== undefined) groups.add(pgid);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exit = once(child, 'exit').catch(() => undefined);
  const exited = () => child.exitCode !== null || child.signalCode !== null;

  const kill = async () => {
    if (exited()) return;
    child.kill('SIGKILL');
    await exit;
  };
  const stop = async () => {
    if (!exited()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    if (pgid !== undefined) {
      killGroup(pgid);
      groups.delete(pgid);
    }
  };
  const gateway: GatewayProcess = { url, port, output: () => output, exited, kill, stop };

  const deadline = Date.now() + BOOT_TIMEOUT_MS;
  for (;;) {
    if (exited()) throw new Error(`the gateway exited before it was live:\n${output}`);
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`the gateway was not live within ${BOOT_TIMEOUT_MS}ms:\n${output}`);
    }
    const res = await fetch(`${url}/tiergate/health/live`).catch(() => undefined);
    await res?.arrayBuffer();
    if (res?.status === 200) return gateway;
    await delay(100);
  }
}
