/**
 * A full heal (`healAll`) makes each bucket's volume again on the drives that lost it, and never for a bucket that
 * a DeleteBucket is removing: the volumes are made under the bucket's lock, after checking the bucket still exists,
 * so a delete waits for them and then removes them with the rest (before, a delete could run between the heal's
 * check and its mkdir, and leave an empty volume of a deleted bucket on every drive). Real drives on temp dirs; the
 * only interference is a gate on one drive's makeVolume, to hold the heal at that point while the delete starts.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ErasurePool } from '../../src/storage/pool';
import { seededBytes } from '../fixtures/seeded';
import { faultyPool, readAll, streamOf, tempDrives } from '../fixtures/temp-drives';

const MiB = 1024 * 1024;

describe('healing bucket volumes', () => {
  let tmp: ReturnType<typeof tempDrives> | undefined;
  let pool: ErasurePool | undefined;

  afterEach(async () => {
    await pool?.shutdown();
    pool = undefined;
    tmp?.cleanup();
    tmp = undefined;
  });

  it('makes a lost volume again, and none for a bucket deleted while the heal runs', async () => {
    tmp = tempDrives(4, 'heal-volumes');
    const opened = await faultyPool(tmp.paths, { parity: 2 });
    pool = opened.pool;
    const drives = opened.drives;
    await pool.makeBucket('kept');
    await pool.makeBucket('gone');
    const data = seededBytes(7, MiB);
    await pool.putObject('kept', 'big', streamOf(data), { size: data.length });
    // Drive 1 loses the volume of `kept` (and the object's shard in it).
    await rm(join(tmp.paths[1], 'kept'), { recursive: true, force: true });

    // Hold the heal inside its first makeVolume of `gone`, and start deleting `gone` there.
    const d0 = drives[0];
    const makeVolume = d0.makeVolume.bind(d0);
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let held = false;
    d0.makeVolume = async (volume: string): Promise<void> => {
      if (volume === 'gone' && !held) {
        held = true;
        entered();
        await gate;
      }
      return makeVolume(volume);
    };
    const heal = pool.healAll();
    await inside;
    let deleted = false;
    const removal = pool.deleteBucket('gone').then(() => (deleted = true));
    await delay(300);
    assert.equal(deleted, false, 'the delete waits while the heal makes the volumes');
    open();
    const [reports] = await Promise.all([heal, removal]);
    assert.deepEqual(
      reports.map((r) => r.failures),
      [[]],
    );

    assert.deepEqual(
      (await pool.listBuckets()).map((b) => b.name),
      ['kept'],
    );
    for (const d of drives) {
      const volumes = await d.listVolumes();
      assert.ok(!volumes.includes('gone'), `${d.endpoint} keeps no volume of the deleted bucket`);
      assert.ok(volumes.includes('kept'), `${d.endpoint} has the volume of the live bucket`);
    }
    // The object was healed onto drive 1 again: it reads back with drives 2 and 3 offline.
    drives[2].mode = 'offline';
    drives[3].mode = 'offline';
    assert.ok((await readAll((await pool.getObject('kept', 'big')).stream)).equals(data));
  });
});
