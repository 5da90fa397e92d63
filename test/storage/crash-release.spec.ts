/**
 * Crash safety of releasing a version's local data (storage/set-remote.ts): a child process
 * (test/fixtures/release-writer.ts) opens six real drive directories (4+2, fsync on) and releases one version, and
 * is SIGKILLed at a deterministic point: once exactly c metadata writes of the object have finished (writes 1-6
 * commit the remote record, 7-12 drop the local one) or c data dir deletions, the later calls held before they touch
 * the disk, however loaded the machine is. Inline and data-dir versions both run every point. After each kill:
 *
 * - on the drives as they are (before any heal): every live local record of the version has its data there (the
 *   data dir with its part file, or the inline frame): no record points at deleted shards;
 * - reopened: the version reads back in exactly one state, local with its exact bytes and no tier state, or remote
 *   with the tier record (a GET then needs the reader and gets the bytes through it); points after the commit
 *   reached every drive must be remote, a kill before the first metadata write must be local;
 * - after a heal: every drive holds the same record, and no data dir is left that the version does not use.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalDrive } from '../../src/storage/drive/local-drive';
import { DATA_DIR_PREFIX, partFileName } from '../../src/storage/layout';
import { decodeMeta } from '../../src/storage/meta/meta-file';
import { versionSignature, type ObjectVersion } from '../../src/storage/meta/version';
import { openObjectLayer } from '../../src/storage/pool';
import { seededBytes } from '../fixtures/seeded';
import { readAll, streamOf, tempDrives } from '../fixtures/temp-drives';
import type { FreezePoint, ReleaseJob } from '../fixtures/release-writer';

const WRITER = join(__dirname, '..', 'fixtures', 'release-writer.js');
const BUCKET = 'release-crash';
const WRITER_DEADLINE_MS = 60_000;

/** A kill point and the state the version must resolve to after it. */
interface Trial {
  size: number;
  freezeAt?: FreezePoint;
  expect: 'local' | 'remote';
}

const INLINE_SIZE = 3000;
const DATA_SIZE = 300 * 1024;
const POINTS: Omit<Trial, 'size'>[] = [
  { freezeAt: { op: 'meta', completed: 0 }, expect: 'local' }, // before the commit
  { freezeAt: { op: 'meta', completed: 2 }, expect: 'local' }, // remote record on 2 of 6 drives: below quorum
  { freezeAt: { op: 'meta', completed: 3 }, expect: 'local' }, // 3 of 6
  { freezeAt: { op: 'meta', completed: 4 }, expect: 'remote' }, // write quorum, not acknowledged
  { freezeAt: { op: 'meta', completed: 6 }, expect: 'remote' }, // committed everywhere, nothing removed yet
  { freezeAt: { op: 'meta', completed: 8 }, expect: 'remote' }, // local record dropped on 2 drives (inline frames)
  { expect: 'remote' }, // acknowledged
];
const DATA_POINTS: Omit<Trial, 'size'>[] = [
  { freezeAt: { op: 'delete', completed: 0 }, expect: 'remote' }, // records dropped, every data dir still there
  { freezeAt: { op: 'delete', completed: 3 }, expect: 'remote' }, // mid shard removal
];
const TRIALS: Trial[] = [
  ...POINTS.map((p) => ({ ...p, size: INLINE_SIZE })),
  ...[...POINTS, ...DATA_POINTS].map((p) => ({ ...p, size: DATA_SIZE })),
];

describe('crash safety of releaseVersionData under SIGKILL', { timeout: 300_000 }, () => {
  const children = new Set<ChildProcess>();
  const tmp = tempDrives(6, 'release-crash');
  const open = () => openObjectLayer({ drives: tmp.paths, setDriveCount: 6, parity: 2, fsync: false });

  before(async () => {
    const pool = await open();
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

  /** Runs the writer and kills it when it says `frozen` (or `released` without a freeze point). */
  async function runWriter(
    job: ReleaseJob,
  ): Promise<{ frozen: boolean; released: boolean; events: string[] }> {
    const child = spawn(process.execPath, [WRITER, JSON.stringify(job)], {
      env: process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    const events: string[] = [];
    let frozen = false;
    let released = false;
    let killed = false;
    let stderr = '';
    let pending = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      pending += s;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const word = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        events.push(word);
        if ((word === 'frozen' || word === 'released') && !killed) {
          frozen = word === 'frozen';
          released = word === 'released';
          killed = true;
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
    return { frozen, released, events };
  }

  /** Each drive's records of the version, read from the disk as the kill left it. */
  async function driveRecords(
    key: string,
    versionId: string,
  ): Promise<{ root: string; v?: ObjectVersion; frame: boolean }[]> {
    const out: { root: string; v?: ObjectVersion; frame: boolean }[] = [];
    for (const root of tmp.paths) {
      const drive = new LocalDrive(root, false);
      try {
        const raw = await drive.readMeta(BUCKET, key);
        const meta = raw ? decodeMeta(raw) : null;
        const v = meta?.versions.find((x) => x.versionId === versionId);
        out.push({ root, v, frame: v !== undefined && meta!.inline.has(v.dataDir) });
      } finally {
        await drive.close();
      }
    }
    return out;
  }

  const dataDirsOn = (root: string, key: string): string[] => {
    const dir = join(root, BUCKET, key);
    return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(DATA_DIR_PREFIX)) : [];
  };

  TRIALS.forEach((trial, i) => {
    const where = trial.freezeAt
      ? `after ${trial.freezeAt.completed} ${trial.freezeAt.op === 'meta' ? 'metadata writes' : 'data dir deletions'}`
      : 'after the acknowledgement';
    const kind = trial.size === INLINE_SIZE ? 'an inline' : 'a data-dir';
    it(`resolves ${kind} version killed ${where} to one consistent state`, async (t) => {
      const key = `obj-${i}`;
      const bytes = seededBytes(1000 + i, trial.size);
      const remoteKey = `rk-${i}`;
      let versionId: string;
      {
        const pool = await open();
        try {
          versionId = (await pool.putObject(BUCKET, key, streamOf(bytes))).versionId;
        } finally {
          await pool.shutdown();
        }
      }
      const run = await runWriter({
        drives: tmp.paths,
        bucket: BUCKET,
        key,
        versionId,
        remoteKey,
        freezeAt: trial.freezeAt,
      });
      assert.equal(run.frozen, trial.freezeAt !== undefined, `froze where told to: ${run.events.join(',')}`);
      assert.equal(run.released, trial.freezeAt === undefined);

      // On disk, before anything heals: a live local record always has its data on that drive.
      for (const { root, v, frame } of await driveRecords(key, versionId)) {
        if (!v || v.state !== 'live' || v.remote) continue;
        if (v.inline) assert.ok(frame, `${root}: live inline record without its frame`);
        else {
          assert.ok(
            existsSync(join(root, BUCKET, key, `${DATA_DIR_PREFIX}${v.dataDir}`, partFileName(1))),
            `${root}: live record without its data dir`,
          );
        }
      }

      const leftover = tmp.paths.filter((root) => dataDirsOn(root, key).length > 0).length;
      const pool = await open(); // boot recovery heals the object the release marker names
      try {
        const info = await pool.getObjectInfo(BUCKET, key, { versionId });
        const state = info.remote ? 'remote' : 'local';
        t.diagnostic(`${state}; ${leftover} drives held a data dir before reopening`);
        assert.equal(state, trial.expect);
        assert.equal(info.size, bytes.length);
        if (state === 'remote') {
          assert.equal(info.tier?.remoteKey, remoteKey);
          assert.equal(info.storageClass, 'COLD');
          await assert.rejects(pool.getObject(BUCKET, key, { versionId }), { code: 'InvalidObjectState' });
          pool.setRemoteReader(async () => streamOf(bytes));
          assert.ok(bytes.equals(await readAll((await pool.getObject(BUCKET, key, { versionId })).stream)));
        } else {
          assert.equal(info.tier, undefined);
          assert.ok(bytes.equals(await readAll((await pool.getObject(BUCKET, key, { versionId })).stream)));
        }
        const healed = await pool.healObject(BUCKET, key);
        assert.ok(healed.ok, JSON.stringify(healed));
        await pool.drainHealQueue();
        assert.equal(
          (await pool.getObjectInfo(BUCKET, key, { versionId })).remote ? 'remote' : 'local',
          state,
        );
      } finally {
        await pool.shutdown();
      }

      // Healed: every drive holds the same record, and only the data dir it uses (none when remote).
      const recs = await driveRecords(key, versionId);
      const sigs = new Set(recs.map((r) => (r.v ? `${versionSignature(r.v)}|${r.v.state}` : 'none')));
      assert.equal(sigs.size, 1, `drives disagree after heal: ${[...sigs].join(' / ')}`);
      const v = recs[0].v!;
      for (const { root } of recs) {
        const want = v.remote || v.inline ? [] : [`${DATA_DIR_PREFIX}${v.dataDir}`];
        assert.deepEqual(dataDirsOn(root, key), want, `${root}: data dirs after heal`);
      }
    });
  });
});
