/**
 * meta-log.ts compaction: the oldest segments are compacted while writes go on, without losing a newer write (in
 * memory or after a replay), and never while a slower batch is still writing into them.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import {
  dirOf,
  dump,
  LogModel,
  type ModelEntry,
  recordsOnDisk,
  segmentFiles,
  segmentId,
} from '../../../test/fixtures/meta-log';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { MetaLog, type MetaLogOptions } from './meta-log';
describe('MetaLog compaction', () => {
  const tmp = tempDrives(0, 'meta-log-compaction');
  let n = 0;
  /** A new, empty log directory for one test. */
  const fresh = (label: string): string => join(tmp.root, `${label}-${n++}`);
  after(() => tmp.cleanup());

  it('compacts old segments while overwrites go on; the state and a replay equal the model', async () => {
    const dir = fresh('compact');
    const opts: MetaLogOptions = { sync: false, segmentBytes: 1024, compactMinDead: 512, cacheBytes: 4096 };
    let log = await MetaLog.open(dir, opts);
    const model = new LogModel();
    const rand = seededRandom(41);
    const keys = ['k0', 'k1', 'é/2', '\u{1f600}/3', 'a//4', 'x/5'];
    let highest = 0;
    for (let round = 0; round < 300; round++) {
      // Each round overwrites (sometimes removes) every key in one batch, while earlier rounds' compactions run.
      await Promise.all(
        keys.map((key) => {
          const dirName = dirOf(key);
          if (rand() < 0.1) {
            model.remove('v', dirName);
            return log.remove('v', dirName);
          }
          const meta = randomBytes(rand, randomInt(rand, 8, 64));
          model.put('v', dirName, key, meta);
          return log.put('v', dirName, key, meta);
        }),
      );
      highest = Math.max(highest, ...segmentFiles(dir).map(segmentId));
    }
    // Settled: no compaction left to do (the active segment is never compacted) and every unlink has happened.
    const settled = (u: { bytes: number; live: number; segments: number }): boolean =>
      (u.segments < 2 || u.bytes - u.live < opts.compactMinDead! || u.live * 2 > u.bytes) &&
      segmentFiles(dir).length === u.segments;
    const deadline = Date.now() + 5000;
    while (!settled(log.usage()) && Date.now() < deadline) await sleep(10);
    const usage = log.usage();
    assert.ok(settled(usage), `compaction finished within 5 s: ${JSON.stringify(usage)}`);
    assert.ok(highest >= 20, `${highest} segments were written`);
    const names = segmentFiles(dir);
    assert.ok(names.length <= 3, `${names.length} segments left`);
    assert.ok(!names.includes(`${'1'.padStart(16, '0')}.tgl`), 'the first segment is gone');
    // What is left is the newest segments, consecutive: every older one was compacted and unlinked.
    const ids = names.map(segmentId);
    assert.equal(ids[ids.length - 1], Math.max(highest, ...ids));
    assert.deepEqual(
      ids,
      ids.map((_, i) => ids[0] + i),
    );
    assert.equal(usage.live, model.liveBytes(), 'live bytes are exactly the current records');
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']));
    await log.close();

    log = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']), 'after reopen');
    assert.equal(log.usage().live, model.liveBytes());
    await log.close();
  });

  it('lets a write that lands while compaction copies a record win, in memory and after reopen', async () => {
    const dir = fresh('race');
    // Compaction only when called, so the test decides when it runs.
    const opts: MetaLogOptions = { sync: true, segmentBytes: 256, compactMinDead: Number.MAX_SAFE_INTEGER };
    let log = await MetaLog.open(dir, opts);
    const model = new LogModel();
    const put = (key: string, meta: string): Promise<void> => {
      model.put('v', key, key, Buffer.from(meta));
      return log.put('v', key, key, Buffer.from(meta));
    };
    const keys = ['r0', 'r1', 'r2', 'r3', 'r4'];
    await Promise.all(keys.map((k) => put(k, `${k} old`.padEnd(40, '.'))));
    await put('later', 'in the second segment');
    assert.equal(log.usage().segments, 2);
    const oldest = join(dir, segmentFiles(dir)[0]);

    const compaction = log.compactOldest();
    // Before compaction has read the segment: r0's record there is no longer current and must not be copied.
    const early = put('r0', 'r0 new');
    // Once compaction has queued its copies (an entry whose record is queued has no segment yet), overwrite one
    // copied key and remove another: these are newer than the copies and must win.
    let turns = 0;
    while (log.get('v', 'r1')!.seg !== null) {
      assert.ok(++turns < 10_000, 'compaction queued a copy of r1');
      await nextTurn();
    }
    const late = [put('r1', 'r1 new'), log.remove('v', 'r2')];
    model.remove('v', 'r2');
    await Promise.all([compaction, early, ...late]);

    assert.equal(existsSync(oldest), false, 'the compacted segment is unlinked');
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']));
    assert.equal(log.usage().live, model.liveBytes());
    await log.close();
    // The race really happened: on disk, r1's copy precedes the newer put.
    assert.deepEqual(
      recordsOnDisk(dir)
        .filter((r) => r.key === 'r1')
        .map((r) => r.meta.toString().replace(/\.+$/, '')),
      ['r1 old', 'r1 new'],
    );
    log = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']), 'after reopen');
    await log.close();
  });

  it('does not compact away a segment that a slower batch is still writing into', async (t) => {
    // Batches overlap (offsets are reserved in queue order, the writes run side by side). A big batch reserves the
    // end of segment 1; a small batch right behind it finds segment 1 full, rotates to segment 2 and finishes
    // first. Segment 1's finished records are all dead by then, so compaction may pick it at once. The big batch's
    // puts are acknowledged: they must stay readable, and replay must find them.
    const opts: MetaLogOptions = { sync: false, segmentBytes: 4096, compactMinDead: 1, cacheBytes: 0 };
    const meta = (i: number): Buffer => Buffer.alloc(250 * 1024, i);
    /** Differences between the log and the model, briefly (the metadata is too large for a diff). */
    const problems = async (log: MetaLog, model: LogModel): Promise<string[]> => {
      const out: string[] = [];
      const want = model.volumes.get('v') ?? new Map<string, ModelEntry>();
      if (log.count('v') !== want.size) out.push(`count ${log.count('v')}, want ${want.size}`);
      for (const [dir, { meta: m }] of want) {
        const entry = log.get('v', dir);
        if (!entry) out.push(`${dir}: missing`);
        else {
          const got = await log.read(entry).catch((err: Error) => err);
          if (got instanceof Error) out.push(`${dir}: ${got.message}`);
          else if (!got.equals(m)) out.push(`${dir}: wrong bytes`);
        }
      }
      return out.slice(0, 5);
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const dir = fresh('slow-batch');
      let log = await MetaLog.open(dir, opts);
      const model = new LogModel();
      for (let i = 0; i < 10; i++) {
        await log.put('v', `k${i}`, `k${i}`, Buffer.alloc(20, i));
      }
      let bigDone = false;
      const big: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        model.put('v', `b${i}`, `b${i}`, meta(i));
        big.push(log.put('v', `b${i}`, `b${i}`, meta(i)));
      }
      for (let i = 0; i < 10; i++) big.push(log.remove('v', `k${i}`));
      const bigSettled = Promise.allSettled(big).then((r) => ((bigDone = true), r));
      await nextTurn(); // the big batch starts writing
      await log.put('v', 'y', 'y', Buffer.from('small'));
      model.put('v', 'y', 'y', Buffer.from('small'));
      const overtaken = !bigDone;
      assert.deepEqual(
        (await bigSettled).filter((r) => r.status === 'rejected'),
        [],
        'every put of the big batch acknowledged',
      );
      if (!overtaken) {
        await log.close();
        continue;
      }
      assert.deepEqual(await problems(log, model), [], 'reads after both batches were acknowledged');
      await log.close();
      log = await MetaLog.open(dir, opts);
      assert.deepEqual(await problems(log, model), [], 'after reopen');
      await log.close();
      return;
    }
    t.skip('the big batch always finished first: the overlap this test needs did not happen');
  });
});
