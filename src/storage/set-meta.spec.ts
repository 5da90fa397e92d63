/**
 * set-meta.ts: a metadata write gives the drives of a set the same records, so drives without inline frames get one
 * encoding between them (encoded once, not once per drive), a replaced version's pending-delete record included,
 * and the drives that keep a decoded view of their write keep one between them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import type { WriteMetaOptions } from './drive/drive';
import { LocalDrive } from './drive/local-drive';
import { decodeMeta } from './meta/meta-file';
import { openPool, type ErasurePool } from './pool';

/** Keeps the bytes of every metadata write to its drive, in order. */
class RecordingDrive extends FaultyDrive {
  readonly writes: { volume: string; dir: string; data: Buffer; opts: WriteMetaOptions }[] = [];

  override async writeMeta(...args: Parameters<FaultyDrive['writeMeta']>): Promise<void> {
    const [volume, dir, , data, opts] = args;
    this.writes.push({ volume, dir, data, opts });
    return super.writeMeta(...args);
  }
}

describe('metadata writes share one encoding across the drives of a set', () => {
  const tmp = tempDrives(6, 'set-meta');
  const rand = seededRandom(61);
  let drives: RecordingDrive[];
  let pool: ErasurePool;

  before(async () => {
    drives = tmp.paths.map((p) => new RecordingDrive(new LocalDrive(p, false)));
    pool = await openPool(drives, { setDriveCount: 6, parity: 2 });
    await pool.makeBucket('meta-b');
  });

  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  /** The bytes each drive was given, by write, for the object `key` of meta-b. */
  const writesOf = (key: string): Buffer[][] =>
    drives.map((d) => d.writes.filter((w) => w.volume === 'meta-b' && w.dir === key).map((w) => w.data));

  it('overwriting a data-dir object: every write, the pending-delete one too, is one buffer for all drives', async () => {
    const size = 300 * 1024; // above the inline threshold: no drive has a frame of its own in its metadata
    await pool.putObject('meta-b', 'k', streamOf(randomBytes(rand, size)), { size });
    await pool.putObject('meta-b', 'k', streamOf(randomBytes(rand, size)), { size });
    const byDrive = writesOf('k');
    // The first PUT's commit; the second's phase 2 (old version pending-delete, new one added); its phase 3.
    assert.deepEqual(
      byDrive.map((w) => w.length),
      [3, 3, 3, 3, 3, 3],
    );
    for (let write = 0; write < 3; write++) {
      for (const d of byDrive) assert.equal(d[write], byDrive[0][write], `write ${write} shares its bytes`);
    }
    const phase2 = decodeMeta(byDrive[0][1]).versions;
    assert.deepEqual(phase2.map((v) => v.state).sort(), ['live', 'pending-delete']);
  });

  it('an inline object: each drive its own bytes (its own frame), all naming the same records', async () => {
    await pool.putObject('meta-b', 'small', streamOf(Buffer.from('tiny')), { size: 4 });
    const byDrive = writesOf('small');
    const first = byDrive.map((w) => w[0]);
    assert.equal(new Set(first).size, 6);
    const records = first.map((b) => JSON.stringify(decodeMeta(b).versions));
    assert.equal(new Set(records).size, 1);
  });

  it('an inline object: the drives keep one decoded view between them, each reading its own frame through it', async () => {
    await pool.putObject('meta-b', 'small-view', streamOf(Buffer.from('tiny but shared')), { size: 15 });
    const writes = drives.map((d) => d.writes.filter((w) => w.dir === 'small-view'));
    assert.deepEqual(
      writes.map((w) => w.length),
      [1, 1, 1, 1, 1, 1],
    );
    const views = writes[0][0].opts.views;
    assert.ok(views, 'the write offers a list to share views through');
    for (const w of writes) assert.equal(w[0].opts.views, views, 'one list for the whole set');
    assert.equal(views.length, 1, 'six drives, one view');
    for (const [p, d] of drives.entries()) {
      const got = await (d.inner as LocalDrive).readMetaDecoded('meta-b', 'small-view');
      assert.ok(got && !Buffer.isBuffer(got), `drive ${p} answers decoded`);
      const want = decodeMeta(writes[p][0].data);
      const id = want.versions[0].dataDir;
      assert.ok(got.inline.get(id)!.equals(want.inline.get(id)!), `drive ${p} reads its own frame`);
      assert.equal(got.versions[0], views[0].versions[0], `drive ${p} shares the view's record`);
    }
  });
});
