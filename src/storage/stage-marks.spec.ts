/**
 * Stage marks (stage.ts): the record that names an object while a write to it is staged, kept in each drive's
 * metadata log. A finished write leaves none; a write a crash interrupted leaves its mark, and the next boot heals
 * the object it names and removes the mark; a legacy `target` file in a staging directory still triggers the same.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import type { Drive } from './drive/drive';
import { LocalDrive } from './drive/local-drive';
import { dataDirName, objectDir, STAGE_MARKS, SYS_VOLUME, TMP_DIR } from './layout';
import { openObjectLayer, type ErasurePool } from './pool';
import { Stage, type StageTarget } from './stage';

const BUCKET = 'marks';
const LARGE = 300 * 1024;

describe('stage marks', () => {
  const tmp = tempDrives(4, 'stage-marks');
  after(() => tmp.cleanup());
  const open = (): Promise<ErasurePool> =>
    openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });

  const marksOn = async (d: Drive): Promise<string[]> => {
    const out: string[] = [];
    for await (const e of d.walk(SYS_VOLUME, { prefix: `${STAGE_MARKS}/`, recursive: true })) out.push(e.key);
    return out;
  };
  const allMarks = async (pool: ErasurePool): Promise<string[]> =>
    (await Promise.all(pool.sets[0].drives.map((d) => marksOn(d!)))).flat();
  const dataDirsOf = (key: string): string[][] =>
    tmp.paths.map((p) => readdirSync(join(p, BUCKET, objectDir(key))).filter((n) => n.startsWith('%d.')));
  const tmpEntries = (): string[] =>
    tmp.paths.flatMap((p) => {
      try {
        return readdirSync(join(p, SYS_VOLUME, TMP_DIR));
      } catch {
        return [];
      }
    });

  it('are gone once a write is done, and staging with them', async () => {
    const pool = await open();
    try {
      await pool.makeBucket(BUCKET);
      const body = Buffer.alloc(LARGE, 7);
      await pool.putObject(BUCKET, 'done', streamOf(body), { size: LARGE });
      await pool.putObject(BUCKET, 'done', streamOf(body), { size: LARGE }); // an overwrite
      assert.deepEqual(await allMarks(pool), []);
      assert.deepEqual(tmpEntries(), []);
    } finally {
      await pool.shutdown();
    }
  });

  it("are gone from disk once the pool has shut down (a mark's removal is written with a later batch, or at close)", async () => {
    const pool = await open();
    try {
      await pool.putObject(BUCKET, 'closed', streamOf(Buffer.alloc(LARGE, 5)), { size: LARGE });
    } finally {
      await pool.shutdown();
    }
    // What the disk holds now, read by drives of a new process (no boot: boot recovery would remove marks itself).
    const fresh = tmp.paths.map((p) => new LocalDrive(p, false));
    try {
      assert.deepEqual((await Promise.all(fresh.map(marksOn))).flat(), []);
    } finally {
      await Promise.all(fresh.map((d) => d.close()));
    }
  });

  it('make the next boot heal what an interrupted write left, then go', async () => {
    let pool = await open();
    const body = Buffer.alloc(LARGE, 9);
    const orphan = dataDirName('00000000-0000-4000-8000-000000000001');
    try {
      await pool.putObject(BUCKET, 'crashed', streamOf(body), { size: LARGE });
      // What a crash between placing the data and committing its metadata leaves: a data dir nothing references,
      // and the write's mark (Stage.create, with no discard).
      for (const p of tmp.paths)
        mkdirSync(join(p, BUCKET, objectDir('crashed'), orphan, 'x'), { recursive: true });
      await Stage.create(pool.sets[0].drives, BUCKET, 'crashed');
      assert.equal((await allMarks(pool)).length, 4, 'one mark per drive');
    } finally {
      await pool.shutdown();
    }
    pool = await open();
    try {
      assert.deepEqual(await allMarks(pool), [], 'boot removed the marks');
      assert.ok(
        dataDirsOf('crashed').every((dirs) => dirs.length === 1 && !dirs.includes(orphan)),
        'boot healed the object: the orphaned data dir is gone',
      );
      assert.ok((await readAll((await pool.getObject(BUCKET, 'crashed')).stream)).equals(body));
    } finally {
      await pool.shutdown();
    }
  });

  it('of a stage that staged nothing (a release) are removed without touching a staging dir or a %meta file', async () => {
    const pool = await open();
    try {
      const calls: string[] = [];
      // The set's real drives, with the calls a discard makes written down.
      const traced = pool.sets[0].drives.map(
        (d) =>
          new Proxy(d!, {
            get(target, prop, receiver) {
              const value: unknown = Reflect.get(target, prop, receiver);
              if (typeof value !== 'function') return value;
              return (...args: unknown[]) => {
                calls.push(`${String(prop)} ${String(args[1])}`);
                return (value as (...a: unknown[]) => unknown).apply(target, args);
              };
            },
          }),
      );
      const stage = await Stage.create(traced, BUCKET, 'released');
      assert.equal((await allMarks(pool)).length, 4);
      calls.length = 0;
      await stage.discard();
      assert.deepEqual(await allMarks(pool), []);
      assert.deepEqual(calls, Array(4).fill(`deleteMeta ${STAGE_MARKS}/${stage.id}`), 'only the marks');
      // A mark is never a %meta file: none is looked for (a planted one would have been removed by a disk lookup).
      for (const p of tmp.paths) {
        mkdirSync(join(p, SYS_VOLUME, STAGE_MARKS, stage.id), { recursive: true });
        writeFileSync(join(p, SYS_VOLUME, STAGE_MARKS, stage.id, '%meta'), 'not a mark');
      }
      await stage.discard();
      for (const p of tmp.paths)
        assert.deepEqual(readdirSync(join(p, SYS_VOLUME, STAGE_MARKS, stage.id)), ['%meta']);
    } finally {
      for (const p of tmp.paths) rmSync(join(p, SYS_VOLUME, STAGE_MARKS), { recursive: true, force: true });
      await pool.shutdown();
    }
  });

  it('still recover from a legacy target file in a staging directory', async () => {
    const orphan = dataDirName('00000000-0000-4000-8000-000000000002');
    const target: StageTarget = { format: 'tiergate.stage', version: 1, bucket: BUCKET, key: 'crashed' };
    for (const p of tmp.paths) {
      mkdirSync(join(p, BUCKET, objectDir('crashed'), orphan, 'x'), { recursive: true });
      mkdirSync(join(p, SYS_VOLUME, TMP_DIR, 'legacy'), { recursive: true });
      writeFileSync(join(p, SYS_VOLUME, TMP_DIR, 'legacy', 'target'), JSON.stringify(target));
    }
    const pool = await open();
    try {
      assert.ok(dataDirsOf('crashed').every((dirs) => dirs.length === 1 && !dirs.includes(orphan)));
      assert.deepEqual(tmpEntries(), []);
    } finally {
      await pool.shutdown();
    }
  });
});
