/**
 * DeleteBucket racing writes into the bucket: a write is either in the bucket before the delete looks (and the
 * delete answers BucketNotEmpty, the object readable), or refused (the bucket is gone: BucketNotFound). An
 * acknowledged write never disappears with the bucket, and a write that was streaming while the bucket was deleted
 * never lands in it afterwards (nor in a new bucket of the same name). Real pool on temp drives; the writes' bodies
 * trickle in, so they are mid-stream when the delete runs.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { isStorageError } from '../../src/storage/errors';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { randomBytes, randomInt, seededRandom } from '../fixtures/prng';
import { tempDrives } from '../fixtures/temp-drives';

/** `data` in four chunks, `gapMs` apart. */
function trickle(data: Buffer, gapMs: number): Readable {
  const quarter = Math.ceil(data.length / 4);
  return Readable.from(
    (async function* () {
      for (let at = 0; at < data.length; at += quarter) {
        await sleep(gapMs);
        yield data.subarray(at, at + quarter);
      }
    })(),
  );
}

type Outcome = { ok: true } | { ok: false; code: string };

async function outcome(p: Promise<unknown>): Promise<Outcome> {
  try {
    await p;
    return { ok: true };
  } catch (err) {
    const code = (err as { code?: string }).code ?? String(err);
    return { ok: false, code };
  }
}

describe('DeleteBucket racing writes', () => {
  const tmp = tempDrives(6, 'bucket-delete-race');
  let pool: ErasurePool;

  before(async () => {
    pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 6, parity: 2, fsync: false });
  });
  after(async () => {
    await pool?.shutdown();
    tmp.cleanup();
  });

  it('never loses an acknowledged write, and never lets a refused one land later', async () => {
    const rand = seededRandom(11);
    const seen = { deleted: 0, notEmpty: 0 };
    for (let trial = 0; trial < 16; trial++) {
      const bucket = `race-${trial}`;
      await pool.makeBucket(bucket);
      const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(rand, i % 2 ? 300 * 1024 : 3000));
      const write = (): Promise<Outcome[]> =>
        Promise.all(
          bodies.map((b, i) =>
            outcome(pool.putObject(bucket, `k${i}`, trickle(b, randomInt(rand, 1, 15)), { size: b.length })),
          ),
        );
      let deleting: Promise<Outcome>;
      let writing: Promise<Outcome[]>;
      if (trial % 2 === 0) {
        // Writes first: the delete comes while they stream (or after they are done).
        writing = write();
        await sleep(randomInt(rand, 0, 60));
        deleting = outcome(pool.deleteBucket(bucket));
      } else {
        // The delete first: the writes come while it checks and removes (or after it is done).
        deleting = outcome(pool.deleteBucket(bucket));
        await sleep(randomInt(rand, 0, 3));
        writing = write();
      }
      const [deleted, results] = await Promise.all([deleting, writing]);
      if (deleted.ok) {
        seen.deleted++;
        assert.deepEqual(
          results.filter((r) => r.ok),
          [],
          `trial ${trial}: the bucket was deleted, yet writes into it were acknowledged`,
        );
        for (const r of results) assert.equal(r.ok || r.code, 'BucketNotFound', `trial ${trial}`);
        await assert.rejects(pool.headBucket(bucket), (e: unknown) => isStorageError(e, 'BucketNotFound'));
        // A bucket of the same name starts empty: nothing of the refused writes landed in it.
        await sleep(50);
        await pool.makeBucket(bucket);
        assert.deepEqual(
          (await pool.listObjects(bucket)).objects,
          [],
          `trial ${trial}: a new bucket is empty`,
        );
      } else {
        seen.notEmpty++;
        assert.equal(deleted.code, 'BucketNotEmpty', `trial ${trial}`);
        let acknowledged = 0;
        for (const [i, r] of results.entries()) {
          if (!r.ok) {
            assert.fail(`trial ${trial}: k${i} failed (${r.code}) though the bucket stayed`);
          }
          acknowledged++;
          const got = await pool.getObject(bucket, `k${i}`);
          const chunks: Buffer[] = [];
          for await (const c of got.stream) chunks.push(c as Buffer);
          assert.ok(Buffer.concat(chunks).equals(bodies[i]), `trial ${trial}: k${i} reads back`);
        }
        assert.ok(acknowledged > 0);
      }
    }
    // Both outcomes happened, so both invariants were exercised.
    assert.ok(seen.deleted > 0 && seen.notEmpty > 0, `outcomes: ${JSON.stringify(seen)}`);
  });
});
