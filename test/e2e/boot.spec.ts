/**
 * End to end: the built gateway (`node dist/src/main.js`) boots on four temporary drives, formats each of them,
 * starts its own redis-server under the data root (no TIERGATE_REDIS_URL), answers liveness, and exits 0 on
 * SIGTERM after stopping that redis-server.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { freeLoopbackPort as freePort } from '../../src/redis/embedded-redis';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

const MAIN = resolve(__dirname, '../../src/main.js');
const BOOT_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 8_000;

/** The environment minus any TIERGATE_* of the developer's shell, plus `vars`. */
function cleanEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TIERGATE_')));
  return { ...env, ...vars };
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new AbortController();
  try {
    return await Promise.race([
      promise,
      delay(ms, undefined, { signal: timeout.signal }).then(() =>
        Promise.reject(new Error(`${what} took over ${ms}ms`)),
      ),
    ]);
  } finally {
    timeout.abort();
  }
}

describe('gateway boot', { timeout: 90_000 }, () => {
  let base: string;
  let drives: string[];
  let url: string;
  let child: ChildProcess | undefined;
  let output = '';

  const exited = () => child?.exitCode !== null || child?.signalCode !== null;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-e2e-'));
    drives = [1, 2, 3, 4].map((i) => join(base, `drive${i}`));
    await Promise.all(drives.map((d) => mkdir(d)));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [MAIN], {
      cwd: base,
      env: cleanEnv({ TIERGATE_DRIVES: join(base, 'drive{1...4}'), TIERGATE_ADDRESS: `127.0.0.1:${port}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));

    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    for (;;) {
      assert.ok(!exited(), `the gateway exited before it was live:\n${output}`);
      assert.ok(Date.now() < deadline, `not live within ${BOOT_TIMEOUT_MS}ms:\n${output}`);
      const res = await fetch(`${url}/tiergate/health/live`).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.status === 200) break;
      await delay(100);
    }
  });

  const redisPidfile = () => join(base, 'redis', 'redis-server.pid');

  after(async () => {
    if (child && !exited()) {
      const gone = once(child, 'exit');
      child.kill('SIGKILL');
      await gone;
    }
    // A failed test may leave the gateway's redis-server behind: end it too.
    const pid = existsSync(redisPidfile()) ? Number(readFileSync(redisPidfile(), 'utf8')) : 0;
    if (pid > 1) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('answers GET /tiergate/health/live with 200 {status: ok}', async () => {
    const res = await fetch(`${url}/tiergate/health/live`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
  });

  it('logs where it listens and its drives', () => {
    assert.ok(output.includes(`listening on ${url}`), output);
    for (const drive of drives) assert.ok(output.includes(drive), `${drive} not logged:\n${output}`);
  });

  it('starts its own redis-server with AOF under the data root', () => {
    assert.match(output, /started redis-server \(pid \d+\) on redis:\/\/127\.0\.0\.1:\d+/, output);
    assert.ok(existsSync(redisPidfile()), 'no redis-server pidfile');
    assert.ok(existsSync(join(base, 'redis', 'appendonlydir')), 'no AOF directory');
  });

  it('creates the local KMS master key file, private, under the data root', () => {
    const file = join(base, 'kms', 'master.key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(output, /created the local KMS master key file/, output);
  });

  it('formats every drive at first boot', async () => {
    for (const drive of drives) {
      const text = await readFile(join(drive, '.tiergate.sys', 'format.json'), 'utf8');
      const format: unknown = JSON.parse(text);
      assert.equal(typeof format, 'object', `${drive}: ${text}`);
    }
  });

  it('exits 0 on SIGTERM within a few seconds', async () => {
    assert.ok(child && !exited(), 'the gateway is not running');
    const gone = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    child.kill('SIGTERM');
    const [code, signal] = await within(gone, STOP_TIMEOUT_MS, 'shutdown');
    assert.deepEqual({ code, signal }, { code: 0, signal: null }, output);
    // redis-server removes its pidfile when it shuts down cleanly.
    assert.ok(output.includes('stopped redis-server'), output);
    assert.equal(existsSync(redisPidfile()), false, 'redis-server still running');
  });
});

describe('gateway boot without redis-server', { timeout: 60_000 }, () => {
  let base: string;
  after(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('exits 1 saying how to install redis-server or set TIERGATE_REDIS_URL', async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-e2e-'));
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      cwd: base,
      // Node is started by absolute path; PATH holds no redis-server.
      env: {
        ...cleanEnv({ TIERGATE_DRIVES: join(base, 'drive{1...4}'), TIERGATE_ADDRESS: `127.0.0.1:${port}` }),
        PATH: join(base, 'no-bin'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (output += s));
    const gone = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const [code] = await within(gone, BOOT_TIMEOUT_MS, 'the failed boot');
      assert.equal(code, 1, output);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    assert.match(output, /redis-server was not found on PATH/, output);
    assert.match(output, /apt-get install redis-server/, output);
    assert.match(output, /TIERGATE_REDIS_URL/, output);
  });
});
