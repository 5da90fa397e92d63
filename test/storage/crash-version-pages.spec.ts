/**
 * Crash safety of version pages (storage/meta/pages.ts): a child process (test/fixtures/version-writer.ts) keeps
 * adding versions to one key on six real drive directories (4+2, fsync on) and is SIGKILLed just after it starts
 * writing a version page, that is while pages are written, while heads listing them are written, or while the
 * pages they replace are deleted. Half the trials kill at a timed delay after a page write starts; the other half
 * have the child freeze just before or just after a chosen page write, so a kill inside a spilling write happens
 * on every run however loaded the machine is (a timed kill on a busy CI machine can land after the write). After
 * every kill the drives are reopened in-process and must show:
 *
 * - every head lists only page files that exist and decode (a page is durable before any head lists it, and is
 *   deleted only after no head does);
 * - every acknowledged version, listed once, newest first, reading back its own bytes (and so does any version
 *   the kill left committed but unacknowledged);
 * - after a heal, no page file that no head lists.
 *
 * Kill points come from a seeded PRNG; the seed is printed, and CRASH_SEED=<seed> replays a run.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalDrive } from '../../src/storage/drive/local-drive';
import { decodeMeta } from '../../src/storage/meta/meta-file';
import { HEAD_MAX, PAGE_FILE_PREFIX, pageFileName } from '../../src/storage/meta/pages';
import type { ObjectInfo } from '../../src/storage/object-layer';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { randomInt, seededRandom } from '../fixtures/prng';
import { seededBytes } from '../fixtures/seeded';
import { readAll, tempDrives } from '../fixtures/temp-drives';
import { sizeOf, type VersionJob } from '../fixtures/version-writer';

const WRITER = join(__dirname, '..', 'fixtures', 'version-writer.js');
const BUCKET = 'pages-crash';
const KEY = 'hot/key';
const TRIALS = 8;
const WRITER_DEADLINE_MS = 60_000;

describe('crash safety of version pages under SIGKILL', { timeout: 300_000 }, () => {
  const envSeed = Number(process.env.CRASH_SEED);
  const seed = Number.isInteger(envSeed) && envSeed > 0 ? envSeed : Math.floor(Math.random() * 2 ** 31) + 1;
  const rand = seededRandom(seed);
  const children = new Set<ChildProcess>();
  const tmp = tempDrives(6, 'pages-crash');

  before(async () => {
    const pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 6, parity: 2, fsync: false });
    try {
      await pool.makeBucket(BUCKET);
      await pool.putBucketVersioning(BUCKET, 'Enabled');
    } finally {
      await pool.shutdown();
    }
  });
  after(async () => {
    for (const c of children) {
      if (c.exitCode === null && c.signalCode === null) {
        const closed = once(c, 'close');
        c.kill('SIGKILL');
        await closed;
      }
    }
    tmp.cleanup();
  });

  /**
   * Runs the writer and kills it: when it says `frozen` if the job has `freezeAt`, else `delayMs` after it has
   * started `pageWrites` page writes.
   */
  async function runWriter(
    job: VersionJob,
    pageWrites: number,
    delayMs: number,
  ): Promise<{
    acked: Map<string, number>;
    lastSeed: number;
    /** No write was acknowledged after the last page write started: the kill hit the write that spilled. */
    inSpill: boolean;
    frozen: boolean;
  }> {
    const child = spawn(process.execPath, [WRITER, JSON.stringify(job)], {
      env: process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    const acked = new Map<string, number>();
    let lastSeed = job.firstSeed;
    let pages = 0;
    let ackedSincePage = false;
    let killed = false;
    let frozen = false;
    let stderr = '';
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      pending += s;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const [word, id, seedText] = pending.slice(0, nl).split(' ');
        pending = pending.slice(nl + 1);
        if (word === 'acked') {
          acked.set(id, Number(seedText));
          lastSeed = Math.max(lastSeed, Number(seedText));
          ackedSincePage = true;
        } else if (word === 'page') {
          ackedSincePage = false;
          if (++pages === pageWrites && !killed && !job.freezeAt) {
            killed = true;
            setTimeout(() => child.kill('SIGKILL'), delayMs);
          }
        } else if (word === 'frozen' && !killed) {
          killed = frozen = true;
          child.kill('SIGKILL');
        }
      }
    });
    const watchdog = setTimeout(() => child.kill('SIGKILL'), WRITER_DEADLINE_MS);
    const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
    clearTimeout(watchdog);
    children.delete(child);
    assert.ok(
      killed && signal === 'SIGKILL',
      `writer ended (code ${code}, ${signal}) before its kill:\n${stderr}`,
    );
    return { acked, lastSeed, inSpill: !ackedSincePage, frozen };
  }

  /** Every head on every drive lists only page files that exist and decode; returns the page files nobody lists. */
  async function checkHeads(): Promise<string[]> {
    const stray: string[] = [];
    for (const root of tmp.paths) {
      const drive = new LocalDrive(root, false);
      try {
        const raw = await drive.readMeta(BUCKET, KEY);
        const head = raw && decodeMeta(raw);
        const listed = new Set((head?.pages ?? []).map((r) => pageFileName(r.id)));
        for (const name of listed) {
          const page = decodeMeta(await drive.readFile(BUCKET, `${KEY}/${name}`));
          assert.equal(page.pages, undefined, `${root}: page ${name} is a page`);
        }
        const dir = join(root, BUCKET, KEY);
        const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(PAGE_FILE_PREFIX)) : [];
        stray.push(...files.filter((f) => !listed.has(f)).map((f) => join(dir, f)));
        assert.ok(!head || head.versions.length <= HEAD_MAX + 1, `${root}: head of ${head?.versions.length}`);
      } finally {
        await drive.close();
      }
    }
    return stray;
  }

  /** Checks the key's versions: every acknowledged one listed once, newest first, each holding its own bytes. */
  async function checkVersions(
    pool: ErasurePool,
    acked: ReadonlyMap<string, number>,
    fresh: Set<string>,
  ): Promise<void> {
    const listed: ObjectInfo[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await pool.listObjectVersions(BUCKET, { maxKeys: 100, keyMarker, versionIdMarker });
      listed.push(...page.versions);
      if (!page.isTruncated) break;
      ({ nextKeyMarker: keyMarker, nextVersionIdMarker: versionIdMarker } = page);
    }
    const ids = listed.map((v) => v.versionId);
    assert.equal(new Set(ids).size, ids.length, 'a version is listed twice');
    for (const [id, s] of acked)
      assert.ok(ids.includes(id), `acknowledged version ${id} (seed ${s}) is gone`);
    for (let i = 1; i < listed.length; i++)
      assert.ok(listed[i - 1].modTime > listed[i].modTime, `order at ${i}`);
    // Bytes: the versions of the last trial (acknowledged or not) and the newest of earlier ones.
    for (const v of listed.filter(
      (l) => fresh.has(l.versionId) || !acked.has(l.versionId) || l === listed[0],
    )) {
      const got = await pool.getObject(BUCKET, KEY, { versionId: v.versionId });
      const s = Number(got.info.userMetadata.seed);
      if (acked.has(v.versionId)) assert.equal(s, acked.get(v.versionId), `version ${v.versionId}'s seed`);
      const body = await readAll(got.stream);
      assert.ok(
        body.equals(seededBytes(s, sizeOf(s))),
        `version ${v.versionId} (seed ${s}) reads its own bytes`,
      );
    }
  }

  it('keeps every acknowledged version and every listed page through kills during page writes', async (t) => {
    t.diagnostic(`seed ${seed} (rerun with CRASH_SEED=${seed})`);
    const acked = new Map<string, number>();
    let nextSeed = 1;
    let inSpill = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const pageWrites = randomInt(rand, 1, 18); // six drives write a page each per spill: up to the third spill
      const delayMs = randomInt(rand, 0, 6);
      const freezeAt =
        trial % 2 === 0
          ? { page: pageWrites, when: randomInt(rand, 0, 1) === 0 ? ('before' as const) : ('after' as const) }
          : undefined;
      const run = await runWriter(
        { drives: tmp.paths, bucket: BUCKET, key: KEY, firstSeed: nextSeed, freezeAt },
        pageWrites,
        delayMs,
      );
      assert.equal(run.frozen, freezeAt !== undefined, 'the writer froze where told to, and only then');
      if (freezeAt) assert.ok(run.inSpill, 'a frozen writer acknowledged a write after its spill started');
      for (const [id, s] of run.acked) acked.set(id, s);
      nextSeed = run.lastSeed + 2; // the seed after the last acknowledged one may be committed, unacknowledged
      if (run.inSpill) inSpill++;
      await checkHeads(); // before any heal: stray pages are allowed, missing or broken listed ones are not
      const pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 6, parity: 2, fsync: false });
      try {
        await checkVersions(pool, acked, new Set(run.acked.keys()));
        const healed = await pool.healObject(BUCKET, KEY);
        assert.ok(healed.ok, JSON.stringify(healed));
        await pool.drainHealQueue();
      } finally {
        await pool.shutdown();
      }
      assert.deepEqual(await checkHeads(), [], 'heal left page files no head lists');
      const where = freezeAt ? `frozen ${freezeAt.when}` : `${delayMs} ms after`;
      t.diagnostic(`trial ${trial}: killed ${where} page write ${pageWrites}, ${run.acked.size} acked`);
    }
    t.diagnostic(`${inSpill} of ${TRIALS} kills landed inside the write that spilled`);
  });
});
