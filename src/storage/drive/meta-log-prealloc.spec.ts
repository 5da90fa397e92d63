/**
 * meta-log.ts, preallocation: the active segment keeps zeroed space ahead of its records, a record never lands
 * under zeros still being written, a replay after a crash (the files as they are while the log is open) stops at
 * the records without calling the zeros damage, a failed fill does not fail the log, and a clean close leaves every
 * segment ending with its last record.
 */
import assert from 'node:assert/strict';
import { cpSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import {
  dump,
  LogModel,
  openFds,
  recordLength,
  recordsOnDisk,
  segmentFiles,
  withWritev,
  type Writev,
} from '../../../test/fixtures/meta-log';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { MAX_WRITES, MetaLog, type MetaLogOptions } from './meta-log';
import { SEGMENT_HEADER } from './meta-log-format';

describe('MetaLog preallocation', () => {
  const tmp = tempDrives(0, 'meta-log-prealloc');
  let n = 0;
  const fresh = (label: string): string => join(tmp.root, `${label}-${n++}`);
  after(() => tmp.cleanup());

  /** Options that record every warning or error the log reports. */
  const watched = (opts: MetaLogOptions): { opts: MetaLogOptions; reports: string[] } => {
    const reports: string[] = [];
    return { opts: { ...opts, log: (level, message) => reports.push(`${level}: ${message}`) }, reports };
  };

  /** Waits until `file` is at least `size` bytes long (a zero fill runs in the background). */
  const grows = async (file: string, size: number): Promise<number> => {
    for (let i = 0; i < 200; i++) {
      const now = statSync(file).size;
      if (now >= size) return now;
      await sleep(10);
    }
    assert.fail(`${file} never reached ${size} bytes (is ${statSync(file).size})`);
  };

  it('keeps zeros ahead of the records; a replay without a clean close stops at the records, quietly', async () => {
    const dir = fresh('ahead');
    const { opts, reports } = watched({ sync: true });
    const log = await MetaLog.open(dir, opts);
    const model = new LogModel();
    let end = SEGMENT_HEADER;
    for (let i = 0; i < 40; i++) {
      const meta = Buffer.alloc(1000, i + 1);
      await log.put('v', `k${i}`, `k${i}`, meta);
      model.put('v', `k${i}`, `k${i}`, meta);
      end += recordLength('v', `k${i}`, `k${i}`, meta.length);
    }
    const [name] = segmentFiles(dir);
    const size = await grows(join(dir, name), end + 128 * 1024);
    const data = readFileSync(join(dir, name));
    assert.ok(
      data.subarray(end).every((b) => b === 0),
      `zeros after the records (${size - end} bytes)`,
    );

    // The files as a crash would leave them: the log is still open.
    const crashed = fresh('ahead-crashed');
    cpSync(dir, crashed, { recursive: true });
    const replayed = await MetaLog.open(crashed, opts);
    assert.deepEqual(await dump(replayed, ['v']), model.rows(['v']));
    assert.equal(statSync(join(crashed, name)).size, end, 'the zeros are cut off');
    await replayed.put('v', 'after', 'after', Buffer.from('after the crash'));
    model.put('v', 'after', 'after', Buffer.from('after the crash'));
    await replayed.close();
    const again = await MetaLog.open(crashed, opts);
    assert.deepEqual(await dump(again, ['v']), model.rows(['v']), 'a put after the cut replays');
    await again.close();

    await log.close();
    assert.equal(statSync(join(dir, name)).size, end, 'a clean close trims the zeros');
    assert.deepEqual(reports, [], 'zeros are not reported as damage');
  });

  /**
   * Runs `fn` with node:fs's writev replaced for zero fills, the only writes made of zeros alone: `fill` decides what
   * happens to them.
   */
  const withFills = (
    fill: (
      real: Writev,
      fd: number,
      buffers: Buffer[],
      position: number,
      cb: (err: Error | null) => void,
    ) => void,
    fn: () => Promise<void>,
  ): Promise<void> =>
    withWritev(
      (real) => (fd, buffers, position, cb) => {
        if (buffers.every((b) => b.every((x) => x === 0))) fill(real, fd, buffers, position, cb);
        else real(fd, buffers, position, cb);
      },
      fn,
    );

  it('a record that reaches into zeros still being written waits for them', async () => {
    // The disk is slow to take the fill: without the wait, the second record is written first and the zeros
    // then land on it.
    const dir = fresh('wait');
    const { opts, reports } = watched({ sync: true });
    const model = new LogModel();
    let log!: MetaLog;
    await withFills(
      (real, fd, buffers, position, cb) => setTimeout(() => real(fd, buffers, position, cb as never), 100),
      async () => {
        log = await MetaLog.open(dir, opts);
        for (const key of ['first', 'second', 'third']) {
          const meta = Buffer.alloc(4000, key);
          await log.put('v', key, key, meta); // the first starts a fill right after its own bytes
          model.put('v', key, key, meta);
        }
      },
    );
    await grows(join(dir, segmentFiles(dir)[0]), 256 * 1024); // the fill landed
    const crashed = fresh('wait-crashed');
    cpSync(dir, crashed, { recursive: true });
    const replayed = await MetaLog.open(crashed, opts);
    assert.deepEqual(await dump(replayed, ['v']), model.rows(['v']));
    await replayed.close();
    await log.close();
    assert.deepEqual(reports, []);
  });

  it('a failed fill leaves the log working: appends grow the file instead', async () => {
    const dir = fresh('fill-fails');
    const { opts, reports } = watched({ sync: true });
    const model = new LogModel();
    let end = SEGMENT_HEADER;
    let log!: MetaLog;
    await withFills(
      // The disk fills up part of the way through: the first 128 KiB of zeros land (past the records to come), then
      // ENOSPC.
      (real, fd, _buffers, position, cb) => {
        real(fd, [Buffer.alloc(128 * 1024)], position, () => {
          cb(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
        });
      },
      async () => {
        log = await MetaLog.open(dir, opts);
        for (let i = 0; i < 20; i++) {
          const meta = Buffer.alloc(2000, i);
          await log.put('v', `k${i}`, `k${i}`, meta);
          model.put('v', `k${i}`, `k${i}`, meta);
          end += recordLength('v', `k${i}`, `k${i}`, meta.length);
        }
      },
    );
    assert.equal(reports.length, 1, `one report, then no more fills: ${reports.join('; ')}`);
    assert.match(reports[0], /^warn: .*preallocating \d+ bytes at \d+ failed \(ENOSPC\)$/);
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']));
    await log.close();
    assert.equal(statSync(join(dir, segmentFiles(dir)[0])).size, end, 'the zeros that did land are trimmed');
    const reopened = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(reopened, ['v']), model.rows(['v']));
    await reopened.close();
  });

  it('never lets zeros being written land over a record, across segments', async () => {
    // Records of up to 250 KiB, written in concurrent groups, reach past the zeroed space and into the fills still
    // being written, again and again; 2 MiB segments rotate several times.
    const dir = fresh('race');
    const { opts, reports } = watched({ sync: true, segmentBytes: 2 * 1024 * 1024 });
    const log = await MetaLog.open(dir, opts);
    const rand = seededRandom(41);
    const model = new LogModel();
    for (let i = 0; i < 90;) {
      const group = Array.from({ length: randomInt(rand, 1, 8) }, () => {
        const key = `k${i++ % 60}`; // later groups overwrite, so replay must pick the last record of a key
        return { key, meta: randomBytes(rand, randomInt(rand, 1, 250 * 1024)) };
      });
      await Promise.all(group.map((r) => log.put('v', r.key, r.key, r.meta)));
      for (const r of group) model.put('v', r.key, r.key, r.meta);
    }
    assert.ok(segmentFiles(dir).length >= 3, `rotated (${segmentFiles(dir).length} segments)`);
    const crashed = fresh('race-crashed');
    cpSync(dir, crashed, { recursive: true });
    const replayed = await MetaLog.open(crashed, opts);
    assert.deepEqual(await dump(replayed, ['v']), model.rows(['v']), 'every acknowledged record is whole');
    await replayed.close();

    // Two closes at once share one close (a second pass would trim and close descriptors again).
    await Promise.all([log.close(), log.close()]);
    recordsOnDisk(dir); // asserts that every segment is whole records up to its last byte
    const reopened = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(reopened, ['v']), model.rows(['v']));
    await reopened.close();
    assert.deepEqual(reports, []);
  });

  it('closes every descriptor it opened, write and fill descriptors of rotated segments included', async () => {
    const dir = fresh('fds');
    const before = await openFds();
    const log = await MetaLog.open(dir, { sync: false, segmentBytes: 512 * 1024 });
    const rand = seededRandom(7);
    for (let i = 0; i < 60; i++) {
      const meta = randomBytes(rand, randomInt(rand, 10_000, 40_000));
      await log.put('v', `k${i}`, `k${i}`, meta);
    }
    const segments = segmentFiles(dir).length;
    assert.ok(segments >= 3, `rotated (${segments} segments)`);
    // Open now: one descriptor per segment, and the active segment's write descriptors and fill descriptor.
    const open = (await openFds()) - before;
    assert.ok(open <= segments + MAX_WRITES + 1, `${open} descriptors open for ${segments} segments`);
    await log.close();
    assert.equal(await openFds(), before, 'none left open after close');
  });
});
