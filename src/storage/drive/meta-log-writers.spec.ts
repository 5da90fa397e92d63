/**
 * meta-log.ts, write descriptors: no two writes in flight go through one descriptor. Linux reports a failed
 * write-back once per open file description, to whichever user syncs first; two batches sharing a descriptor could
 * see one take the other's error, and the other answered as durable. What is checked here is the structure that
 * rules this out (a failing disk cannot be had in a test): while up to MAX_WRITES batches, zero fills and segment
 * headers are written at once, across rotations, every write in flight has a descriptor of its own.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import { dump, LogModel, segmentFiles, withWritev } from '../../../test/fixtures/meta-log';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { MAX_WRITES, MetaLog } from './meta-log';

describe('MetaLog write descriptors', () => {
  const tmp = tempDrives(0, 'meta-log-writers');
  after(() => tmp.cleanup());

  it('gives every write in flight a descriptor of its own, across rotations', async () => {
    const dir = join(tmp.root, 'log');
    const inFlight = new Set<number>();
    const shared: string[] = [];
    let most = 0;
    const model = new LogModel();
    // Every write the log makes is held for 20 ms, so batches of later event-loop turns start meanwhile.
    const log = await withWritev(
      (real) => (fd, buffers, position, cb) => {
        if (inFlight.has(fd)) shared.push(`fd ${fd} at ${position}`);
        inFlight.add(fd);
        most = Math.max(most, inFlight.size);
        setTimeout(() => {
          real(fd, buffers, position, (err, n) => {
            inFlight.delete(fd);
            cb(err, n);
          });
        }, 20);
      },
      async () => {
        const opened = await MetaLog.open(dir, { sync: true, segmentBytes: 128 * 1024 });
        const rand = seededRandom(3);
        const puts: Promise<void>[] = [];
        for (let i = 0; i < 120; i++) {
          const key = `k${i % 80}`;
          const meta = randomBytes(rand, randomInt(rand, 100, 12_000));
          puts.push(opened.put('v', key, key, meta));
          model.put('v', key, key, meta);
          if (i % 3 === 2) await sleep(6); // a batch of three every 6 ms: three or four in flight
        }
        await Promise.all(puts);
        return opened;
      },
    );
    assert.deepEqual(shared, [], 'writes in flight that shared a descriptor');
    assert.ok(most >= MAX_WRITES, `${most} writes were in flight at once`);
    assert.ok(segmentFiles(dir).length >= 3, `rotated (${segmentFiles(dir).length} segments)`);
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']));
    await log.close();
    const reopened = await MetaLog.open(dir, { sync: true, segmentBytes: 128 * 1024 });
    assert.deepEqual(await dump(reopened, ['v']), model.rows(['v']));
    await reopened.close();
  });
});
