/**
 * Crash safety of a PUT (DESIGN.md §2: "a crashed write leaves no visible object; leftovers are cleaned at boot").
 *
 * A child process (test/fixtures/crash-writer.ts) PUTs one object on six real drive directories (4+2, fsync on)
 * and is SIGKILLed at a random moment of a chosen phase of the commit protocol (staging, place, metadata commit,
 * cleanup), or after it acknowledged. The drives are then reopened in-process, which runs boot recovery, and must
 * serve the old object (or none, for a new key) or the complete new one, never a partial or undecidable one; and
 * hold no temp staging, no data dir their metadata does not reference, and the same metadata on every drive.
 *
 * Kill moments come from a seeded PRNG; the seed is printed, and CRASH_SEED=<seed> replays a run.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Drive } from '../../src/storage/drive/drive';
import { LocalDrive } from '../../src/storage/drive/local-drive';
import { isStorageError } from '../../src/storage/errors';
import { checkShardHash, Geometry, HASH_SIZE } from '../../src/storage/erasure/codec';
import {
  DATA_DIR_PREFIX,
  dataDirName,
  objectDir,
  partFileName,
  STAGE_MARKS,
  SYS_VOLUME,
  TMP_DIR,
} from '../../src/storage/layout';
import { decodeMeta, type MetaFile } from '../../src/storage/meta/meta-file';
import { versionSignature } from '../../src/storage/meta/version';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import type { CrashJob, Phase } from '../fixtures/crash-writer';
import { randomInt, seededRandom } from '../fixtures/prng';
import { seededBytes } from '../fixtures/seeded';
import { readAll, tempDrives } from '../fixtures/temp-drives';

const WRITER = join(__dirname, '..', 'fixtures', 'crash-writer.js');
const BUCKET = 'crash';
const LARGE_SIZE = 24 * 1024 * 1024;
const INLINE_MAX = 120 * 1024;
const TRIALS = 20;
const WRITER_DEADLINE_MS = 30_000;

/** (a) a new key, (b) an overwrite of a large object, (c) an overwrite of an inline object. */
type Mode = 'fresh' | 'overwrite' | 'inline';
const MODES: Mode[] = ['fresh', 'overwrite', 'inline'];
/** Phases a kill is aimed at, per mode (inline writes have no staging dir to place). */
const PHASES: Record<Mode, Phase[]> = {
  fresh: ['staging', 'place', 'commit', 'cleanup'],
  overwrite: ['staging', 'place', 'commit', 'cleanup'],
  inline: ['staging', 'commit', 'cleanup'],
};
type Marker = Phase | 'acknowledged';
const MARKERS: Marker[] = ['staging', 'place', 'commit', 'cleanup', 'acknowledged'];

/** When to kill: `delayMs` after the child reports `after`. */
interface KillPlan {
  after: Marker;
  delayMs: number;
}

interface WriterRun {
  /** Markers the child printed before it died, with the parent's receive time (ms). */
  markers: { name: Marker; at: number }[];
  /** The last marker before the kill: the phase the kill landed in. */
  landed: Marker | 'startup';
}

/** Measured duration (ms) of each phase of one mode, from an uninterrupted write. */
type Timings = Partial<Record<Phase, number>>;

type Outcome = 'absent' | 'old' | 'new';

describe('crash safety of PUT under SIGKILL', { timeout: 110_000 }, () => {
  const envSeed = Number(process.env.CRASH_SEED);
  const seed = Number.isInteger(envSeed) && envSeed > 0 ? envSeed : Math.floor(Math.random() * 2 ** 31) + 1;
  const rand = seededRandom(seed);
  const children = new Set<ChildProcess>();
  let drives: ReturnType<typeof tempDrives> | undefined;
  let paths: string[] = [];
  /** What each overwritten key holds now. */
  const current = new Map<string, Buffer>();
  let calibration: Promise<Record<Mode, Timings>> | undefined;

  before(async () => {
    drives = tempDrives(6, 'crash');
    paths = drives.paths;
    const pool = await openObjectLayer({ drives: paths, setDriveCount: 6, parity: 2, fsync: false });
    try {
      await pool.makeBucket(BUCKET);
    } finally {
      await pool.shutdown();
    }
  });

  after(async () => {
    await Promise.all(
      [...children].map(async (c) => {
        if (c.exitCode === null && c.signalCode === null) {
          const closed = once(c, 'close');
          c.kill('SIGKILL');
          await closed;
        }
      }),
    );
    drives?.cleanup();
  });

  /** Spawns the writer and kills it as planned; resolves when it is gone. */
  async function runWriter(job: CrashJob, plan: KillPlan): Promise<WriterRun> {
    const child = spawn(process.execPath, [WRITER, JSON.stringify(job)], {
      env: process.env, // NODE_PATH among it: the compiled tree may live outside the repository
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    const markers: WriterRun['markers'] = [];
    let stderr = '';
    let pending = '';
    let scheduled = false;
    const killAt = (deadline: number): void => {
      const fire = (): void => {
        if (performance.now() < deadline) setImmediate(fire);
        else child.kill('SIGKILL');
      };
      const wait = deadline - performance.now() - 2;
      if (wait > 0) setTimeout(fire, wait);
      else fire();
    };
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      const now = performance.now();
      pending += s;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const [word, arg] = pending.slice(0, nl).split(' ');
        pending = pending.slice(nl + 1);
        const name = (word === 'phase' ? arg : word) as Marker;
        markers.push({ name, at: now });
        if (!scheduled && MARKERS.indexOf(name) >= MARKERS.indexOf(plan.after)) {
          scheduled = true;
          killAt(now + plan.delayMs);
        }
      }
    });
    const watchdog = setTimeout(() => child.kill('SIGKILL'), WRITER_DEADLINE_MS);
    try {
      const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
      assert.ok(
        scheduled,
        `the writer exited (code ${code}, ${signal}) before reaching ${plan.after}:\n${stderr}`,
      );
      assert.equal(signal, 'SIGKILL', `the writer exited on its own (code ${code}):\n${stderr}`);
    } finally {
      clearTimeout(watchdog);
      children.delete(child);
    }
    return { markers, landed: markers.length > 0 ? markers[markers.length - 1].name : 'startup' };
  }

  /**
   * Everything on disk that contradicts a clean, consistent object (an empty list when all is well). Metadata is
   * read through the open pool's drives when given (a second reader must not replay a log someone appends to),
   * else through fresh LocalDrives, which replay each drive's metadata log as a restart would.
   */
  async function diskProblems(key: string, open?: ErasurePool): Promise<string[]> {
    const drives: Drive[] = open
      ? open.sets[0].drives.map((d, p) => {
          assert.ok(d, `drive ${p} online`);
          return d;
        })
      : paths.map((root) => new LocalDrive(root, false));
    try {
      return await problemsOn(key, drives);
    } finally {
      if (!open) await Promise.all(drives.map((d) => d.close()));
    }
  }

  async function problemsOn(key: string, drives: Drive[]): Promise<string[]> {
    const problems: string[] = [];
    const dir = objectDir(key);
    const signatures: string[][] = [];
    for (const [p, root] of paths.entries()) {
      const tmp = await readdir(join(root, SYS_VOLUME, TMP_DIR)).catch(() => []);
      if (tmp.length > 0)
        problems.push(`d${p}: ${tmp.length} entries left in tmp (${tmp.slice(0, 3).join(', ')})`);
      const marks: string[] = [];
      for await (const e of drives[p].walk(SYS_VOLUME, { prefix: `${STAGE_MARKS}/`, recursive: true }))
        marks.push(e.key);
      if (marks.length > 0) problems.push(`d${p}: ${marks.length} stage marks left in the log (${marks[0]})`);
      let meta: MetaFile | null = null;
      try {
        const raw = await drives[p].readMeta(BUCKET, dir);
        meta = raw && decodeMeta(raw);
      } catch (err) {
        problems.push(`d${p}: metadata unreadable: ${String(err)}`);
      }
      signatures.push(meta ? meta.versions.map(versionSignature) : []);
      const referenced = new Set(meta?.versions.filter((v) => !v.inline).map((v) => v.dataDir) ?? []);
      const entries = await readdir(join(root, BUCKET, dir)).catch(() => []);
      for (const name of entries.filter((e) => e.startsWith(DATA_DIR_PREFIX))) {
        if (!referenced.has(name.slice(DATA_DIR_PREFIX.length)))
          problems.push(`d${p}: unreferenced data dir ${name}`);
      }
      for (const v of meta?.versions ?? []) {
        const sig = versionSignature(v);
        if (v.state !== 'live') problems.push(`d${p}: version ${sig} left ${v.state}`);
        if (v.type !== 'object' || v.size === 0) continue;
        const { k, m, blockSize } = v.erasure;
        if (v.inline) {
          const frame = meta!.inline.get(v.dataDir);
          const want = new Geometry(k, m, blockSize, v.size).shardFileSize();
          if (!frame || frame.length !== want || !checkShardHash(frame.subarray(HASH_SIZE), 0, frame)) {
            problems.push(
              `d${p}: inline frame of ${sig} is ${frame ? `bad (${frame.length} bytes)` : 'missing'}`,
            );
          }
          continue;
        }
        for (const part of v.parts) {
          const file = join(root, BUCKET, dir, dataDirName(v.dataDir), partFileName(part.number));
          const size = await stat(file).then(
            (s) => s.size,
            () => -1,
          );
          const want = new Geometry(k, m, blockSize, part.size).shardFileSize();
          if (size !== want)
            problems.push(`d${p}: ${file} is ${size < 0 ? 'missing' : `${size} bytes`}, want ${want}`);
        }
      }
    }
    signatures.forEach((s, p) => {
      if (JSON.stringify(s) !== JSON.stringify(signatures[0])) {
        problems.push(`d${p} holds versions [${s.join(', ')}], d0 holds [${signatures[0].join(', ')}]`);
      }
    });
    return problems;
  }

  /** Reads the object and says which content it is; fails on anything but old, new, or absent where allowed. */
  async function readOutcome(
    pool: ErasurePool,
    key: string,
    old: Buffer | undefined,
    neu: Buffer,
    ctx: string,
  ): Promise<Outcome> {
    let got: Buffer;
    try {
      got = await readAll((await pool.getObject(BUCKET, key)).stream);
    } catch (err) {
      if (old === undefined && isStorageError(err, 'ObjectNotFound')) return 'absent';
      assert.fail(`${ctx}: reading the object failed: ${String(err)}`);
    }
    if (got.equals(neu)) return 'new';
    if (old?.equals(got)) return 'old';
    return assert.fail(
      `${ctx}: read ${got.length} bytes that are neither the old (${old?.length}) nor the new (${neu.length}) object`,
    );
  }

  /**
   * Reopens the drives (boot recovery) and checks the key. Writes that staged data must be clean after recovery
   * alone; an inline write stages nothing recovery could find, so it is healed first (after the read).
   */
  async function inspect(
    mode: Mode,
    key: string,
    old: Buffer | undefined,
    neu: Buffer,
    ctx: string,
  ): Promise<Outcome> {
    const pool = await openObjectLayer({ drives: paths, setDriveCount: 6, parity: 2, fsync: false });
    let afterRecovery: string[];
    let outcome: Outcome;
    try {
      afterRecovery = await diskProblems(key, pool);
      outcome = await readOutcome(pool, key, old, neu, ctx);
      await pool.drainHealQueue();
      if (mode === 'inline') assert.ok((await pool.healObject(BUCKET, key)).ok, `${ctx}: heal failed`);
      assert.equal(
        await readOutcome(pool, key, old, neu, `${ctx} (after heal)`),
        outcome,
        `${ctx}: heal changed the object`,
      );
    } finally {
      await pool.shutdown();
    }
    const leftInTmp = afterRecovery.filter((p) => p.includes(' in tmp ') || p.includes(' stage marks left '));
    assert.deepEqual(leftInTmp, [], `${ctx}: recovery left temp staging: ${leftInTmp.join('; ')}`);
    if (mode !== 'inline')
      assert.deepEqual(afterRecovery, [], `${ctx}: after recovery: ${afterRecovery.join('; ')}`);
    const problems = await diskProblems(key);
    assert.deepEqual(problems, [], `${ctx}: ${problems.join('; ')}`);
    return outcome;
  }

  /** Durations of the phases a run went through, from its markers. */
  function timingsOf(run: WriterRun): Timings {
    const t: Timings = {};
    run.markers.forEach((mk, i) => {
      if (mk.name !== 'acknowledged' && i + 1 < run.markers.length)
        t[mk.name] = run.markers[i + 1].at - mk.at;
    });
    return t;
  }

  /** One acknowledged write, killed a few ms after it acknowledged; the new content must be there, complete. */
  async function ackedWrite(mode: Mode, key: string, size: number, t: TestContext): Promise<WriterRun> {
    const contentSeed = randomInt(rand, 1, 2 ** 31);
    const plan: KillPlan = { after: 'acknowledged', delayMs: rand() * 5 };
    const run = await runWriter({ drives: paths, bucket: BUCKET, key, size, seed: contentSeed }, plan);
    const neu = seededBytes(contentSeed, size);
    const ctx = `seed ${seed}, ${mode} ${key} killed ${plan.delayMs.toFixed(2)}ms after acknowledging`;
    assert.equal(
      await inspect(mode, key, current.get(key), neu, ctx),
      'new',
      `${ctx}: acknowledged write lost`,
    );
    current.set(key, neu);
    t.diagnostic(`${ctx}: new object intact (${run.markers.map((mk) => mk.name).join(' > ')})`);
    return run;
  }

  /** Acknowledged writes of each kind, which also measure how long each phase takes. */
  function calibrate(t: TestContext): Promise<Record<Mode, Timings>> {
    calibration ??= (async () => {
      t.diagnostic(`seed ${seed} (replay with CRASH_SEED=${seed})`);
      const fresh = await ackedWrite('fresh', 'large/object', LARGE_SIZE, t);
      const overwrite = await ackedWrite('overwrite', 'large/object', LARGE_SIZE, t);
      await ackedWrite('fresh', 'small/object', randomInt(rand, 1024, INLINE_MAX), t);
      const inline = await ackedWrite('inline', 'small/object', randomInt(rand, 1024, INLINE_MAX), t);
      const expected = (mode: Mode): Marker[] => [...PHASES[mode], 'acknowledged'];
      const names = (run: WriterRun): Marker[] => run.markers.map((mk) => mk.name);
      assert.deepEqual(names(fresh), expected('fresh'), 'phases of a PUT of a new key');
      assert.deepEqual(names(overwrite), expected('overwrite'), 'phases of an overwrite');
      assert.deepEqual(names(inline), expected('inline'), 'phases of an inline overwrite');
      return { fresh: timingsOf(fresh), overwrite: timingsOf(overwrite), inline: timingsOf(inline) };
    })();
    return calibration;
  }

  it('never loses an object whose PUT was acknowledged', async (t) => {
    await calibrate(t);
  });

  it('leaves the old or the complete new object, and no leftovers, wherever a kill lands', async (t) => {
    const timings = await calibrate(t);
    const landed = new Map<string, number>();
    const aimed = { fresh: 0, overwrite: 0, inline: 0 };
    for (let trial = 0; trial < TRIALS; trial++) {
      const mode = MODES[trial % MODES.length];
      const phases = PHASES[mode];
      const phase = phases[aimed[mode]++ % phases.length];
      const plan: KillPlan = { after: phase, delayMs: rand() * (timings[mode][phase] ?? 0) };
      const key =
        mode === 'fresh' ? `fresh/${trial}` : mode === 'overwrite' ? 'large/object' : 'small/object';
      const size = mode === 'inline' ? randomInt(rand, 1024, INLINE_MAX) : LARGE_SIZE;
      const contentSeed = randomInt(rand, 1, 2 ** 31);
      const run = await runWriter({ drives: paths, bucket: BUCKET, key, size, seed: contentSeed }, plan);
      const neu = seededBytes(contentSeed, size);
      const old = current.get(key);
      const ctx =
        `seed ${seed}, trial ${trial} (${mode} ${key}, kill ${plan.delayMs.toFixed(2)}ms into ${phase}, ` +
        `landed in ${run.landed})`;
      const outcome = await inspect(mode, key, old, neu, ctx);
      if (run.landed === 'acknowledged') assert.equal(outcome, 'new', `${ctx}: acknowledged write lost`);
      if (outcome === 'new') current.set(key, neu);
      t.diagnostic(`${ctx}: ${outcome}`);
      landed.set(`${run.landed}->${outcome}`, (landed.get(`${run.landed}->${outcome}`) ?? 0) + 1);
    }
    t.diagnostic(`landed->outcome: ${[...landed].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  });
});
