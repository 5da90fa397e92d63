/**
 * meta-log.ts: the log replays exactly the last acknowledged state, cuts a torn tail back to the last whole record,
 * skips one rotten record and resynchronises on the next, refuses a log whose older segments are not segments,
 * and stays failed after a write error. The read cache is in meta-log-cache.spec.ts, compaction in
 * meta-log-compaction.spec.ts; LocalDrive on top of the log in local-drive-meta.spec.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { randomInt, seededRandom } from '../../../test/fixtures/prng';
import {
  applyToModel,
  dirOf,
  dump,
  failsWith,
  flipByte,
  LogModel,
  OP_VOLUMES,
  openFds,
  opLength,
  prefixStates,
  randomOps,
  recordLength,
  recordsOnDisk,
  type Row,
  saltOf,
  segmentFiles,
  writeOps,
} from '../../../test/fixtures/meta-log';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { compareKeys } from '../layout';
import { LAZY_FLUSH_MS, MetaLog, type MetaLogOptions } from './meta-log';
import { parseRecord, SEGMENT_HEADER } from './meta-log-format';
describe('MetaLog', () => {
  const tmp = tempDrives(0, 'meta-log');
  let n = 0;
  /** A new, empty log directory for one test. */
  const fresh = (label: string): string => join(tmp.root, `${label}-${n++}`);
  after(() => tmp.cleanup());

  it('puts, reads and removes, and a reopen replays exactly the last state', async () => {
    const dir = fresh('roundtrip');
    const opts: MetaLogOptions = { sync: true };
    let log = await MetaLog.open(dir, opts);
    const model = new LogModel();
    const put = async (volume: string, key: string, meta: string): Promise<void> => {
      await log.put(volume, dirOf(key), key, Buffer.from(meta));
      model.put(volume, dirOf(key), key, Buffer.from(meta));
    };
    const remove = async (volume: string, key: string): Promise<void> => {
      await log.remove(volume, dirOf(key));
      model.remove(volume, dirOf(key));
    };

    await put('vol', 'é/\u{1f600}', 'one');
    await put('vol', 'plain', 'two');
    await put('other', 'plain', 'same key, other volume');
    await put('vol', 'empty', '');
    const entry = log.get('vol', dirOf('é/\u{1f600}'));
    assert.ok(entry);
    assert.equal(entry.key, 'é/\u{1f600}');
    assert.equal(log.byKey('vol', 'é/\u{1f600}'), entry);
    assert.equal((await log.read(entry)).toString(), 'one');
    assert.equal(
      (await log.read(log.get('vol', 'empty')!)).length,
      0,
      'empty metadata is a put, not a remove',
    );

    await put('vol', 'plain', 'two, again');
    await remove('vol', 'é/\u{1f600}');
    assert.equal(log.get('vol', dirOf('é/\u{1f600}')), undefined);
    assert.equal(log.byKey('vol', 'é/\u{1f600}'), undefined);
    assert.equal((await log.read(log.get('other', 'plain')!)).toString(), 'same key, other volume');

    // Removing what the log does not hold is a no-op that writes nothing.
    const size = statSync(join(dir, segmentFiles(dir)[0])).size;
    await log.remove('vol', 'never-there');
    await log.remove('no-such-volume', 'x');
    assert.equal(statSync(join(dir, segmentFiles(dir)[0])).size, size);

    assert.equal(log.count('vol'), 2);
    assert.equal(log.count('other'), 1);
    assert.equal(log.count('no-such-volume'), 0);
    assert.deepEqual(await dump(log, ['vol', 'other']), model.rows(['vol', 'other']));

    // A put queued but not awaited is written before close() returns.
    const queued = log.put('vol', 'queued', 'queued', Buffer.from('late'));
    model.put('vol', 'queued', 'queued', Buffer.from('late'));
    await log.close();
    await queued;
    await failsWith(() => log.put('vol', 'x', 'x', Buffer.from('x')), 'DriveOffline', 'a closed log');
    await failsWith(() => log.read(entry), 'DriveOffline');

    log = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(log, ['vol', 'other']), model.rows(['vol', 'other']));
    assert.equal(log.count('vol'), 3);
    assert.equal(log.usage().live, model.liveBytes(), 'live bytes after replay are the current records');
    await log.close();
  });

  it('nextKey and ceilKey list a volume in S3 byte order, for present and absent probes', async () => {
    const dir = fresh('keys');
    const log = await MetaLog.open(dir, { sync: false });
    const rand = seededRandom(3);
    const pieces = ['a', '/', 'é', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', 'b/'];
    const keys = new Set<string>();
    while (keys.size < 300) {
      let k = '';
      for (let i = randomInt(rand, 1, 4); i > 0; i--) k += pieces[randomInt(rand, 0, pieces.length - 1)];
      keys.add(k);
    }
    await Promise.all([...keys].map((k) => log.put('v', dirOf(k), k, Buffer.from(k))));
    await log.put('w', 'other', 'zzz', Buffer.from('another volume'));
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const listed: string[] = [];
    for (let k = log.nextKey('v', undefined); k !== undefined; k = log.nextKey('v', k)) listed.push(k);
    assert.deepEqual(listed, sorted);
    const probes = [
      '',
      '/',
      'a',
      'a/',
      'é',
      '\uffff',
      '\u{10000}',
      '\u{10ffff}',
      ...sorted.map((k) => `${k}\0`),
    ];
    for (const p of probes) {
      assert.equal(
        log.ceilKey('v', p),
        sorted.find((k) => compareKeys(k, p) >= 0),
        `ceilKey(${JSON.stringify(p)})`,
      );
      assert.equal(
        log.nextKey('v', p),
        sorted.find((k) => compareKeys(k, p) > 0),
        `nextKey(${JSON.stringify(p)})`,
      );
    }
    assert.equal(log.nextKey('nope', undefined), undefined);
    assert.equal(log.ceilKey('nope', ''), undefined);
    await log.close();
  });

  it('cuts a torn tail at every length back to the records that were whole', async () => {
    const dir = fresh('torn');
    const opts: MetaLogOptions = { sync: false };
    const rand = seededRandom(17);
    const ops = randomOps(rand, 24, 20);
    const log = await MetaLog.open(dir, opts);
    await writeOps(log, ops, rand);
    await log.close();

    const states = prefixStates(ops);
    const ends = [SEGMENT_HEADER];
    for (const op of ops) ends.push(ends[ends.length - 1] + opLength(op));
    const names = segmentFiles(dir);
    assert.equal(names.length, 1);
    const file = join(dir, names[0]);
    const full = readFileSync(file);
    assert.equal(full.length, ends[ends.length - 1], 'the records are laid out as the format says');

    for (let len = 0; len <= full.length; len++) {
      writeFileSync(file, full.subarray(0, len));
      // How many records fit wholly; a file shorter than its header was torn while being created, and goes.
      const whole = len < SEGMENT_HEADER ? 0 : ends.filter((e) => e <= len).length - 1;
      const cut = len < SEGMENT_HEADER ? SEGMENT_HEADER : ends[whole];
      const reopened = await MetaLog.open(dir, opts);
      assert.deepEqual(
        await dump(reopened, OP_VOLUMES),
        states[whole].rows(OP_VOLUMES),
        `cut to ${len} bytes`,
      );
      assert.equal(statSync(file).size, cut, `cut to ${len} bytes: file trimmed to the last whole record`);
      // Appends after the cut survive another replay (for a dense sample: each of these costs two more opens).
      if (len % 7 === 0 || ends.includes(len) || ends.includes(len - 1) || len === full.length) {
        await reopened.put('v0', 'after-cut', 'after-cut', Buffer.from([len & 0xff]));
        await reopened.close();
        const again = await MetaLog.open(dir, opts);
        const expected = states[whole].clone();
        expected.put('v0', 'after-cut', 'after-cut', Buffer.from([len & 0xff]));
        assert.deepEqual(
          await dump(again, OP_VOLUMES),
          expected.rows(OP_VOLUMES),
          `cut to ${len} bytes, then a put`,
        );
        await again.close();
      } else {
        await reopened.close();
      }
    }
  });

  it('skips one rotten record anywhere in it and resynchronises on the next', async () => {
    const dir = fresh('bitrot');
    // Small segments: the rotten record may be the last of a segment that is not the last.
    const opts: MetaLogOptions = { sync: false, segmentBytes: 400 };
    const rand = seededRandom(29);
    const ops = randomOps(rand, 30, 24);
    let log = await MetaLog.open(dir, opts);
    await writeOps(log, ops, rand);
    await log.close();
    const records = recordsOnDisk(dir);
    assert.deepEqual(
      records.map((r) => r.key),
      ops.map((o) => o.key),
      'one record per op, in order',
    );
    const files = [...new Set(records.map((r) => r.file))];
    assert.ok(files.length >= 3, `${files.length} segments`);

    const lastOf = (file: string): number => records.map((r) => r.file).lastIndexOf(file);
    const targets = [
      0,
      lastOf(files[0]),
      lastOf(files[0]) + 1,
      Math.floor(records.length / 2),
      records.length - 1,
    ];
    for (const r of targets) {
      const { file, off, len } = records[r];
      const original = readFileSync(file);
      // The model without record r: its key keeps its earlier state (or stays absent, or a remove is undone).
      const expected = new LogModel();
      ops.forEach((op, i) => i !== r && applyToModel(expected, op));
      for (let at = off; at < off + len; at++) {
        flipByte(file, at);
        log = await MetaLog.open(dir, opts);
        assert.deepEqual(
          await dump(log, OP_VOLUMES),
          expected.rows(OP_VOLUMES),
          `record ${r} (${JSON.stringify(ops[r].key)}), byte ${at - off} of ${len} flipped`,
        );
        await log.close();
        // Only the last segment's tail is cut; a rotten record with intact ones after it is left where it is.
        const lastRecord = r === records.length - 1;
        assert.equal(statSync(file).size, lastRecord ? off : original.length);
        writeFileSync(file, original);
      }
    }
  });

  it('replays the records after a hole that an earlier batch left by never reaching the disk', async () => {
    // Batches are written side by side at offsets reserved in queue order: a crash can leave a later batch whole
    // and an earlier one missing (a hole reads as zeros) or torn. Nobody was answered for the missing records.
    const dir = fresh('hole');
    const opts: MetaLogOptions = { sync: false };
    const rand = seededRandom(37);
    const ops = randomOps(rand, 30, 24);
    let log = await MetaLog.open(dir, opts);
    await writeOps(log, ops, rand);
    await log.close();
    const records = recordsOnDisk(dir);
    const file = records[0].file;
    const original = readFileSync(file);
    // [first record, end record, bytes of the first record that did reach the disk]
    const holes: [number, number, number][] = [
      [0, 1, 0],
      [0, 4, 0],
      [5, 9, 0],
      [5, 9, 11],
      [12, 13, 30],
      [20, 29, 4],
    ];
    for (const [from, to, kept] of holes) {
      const damaged = Buffer.from(original);
      damaged.fill(0, records[from].off + kept, records[to - 1].off + records[to - 1].len);
      writeFileSync(file, damaged);
      const expected = new LogModel();
      ops.forEach((op, i) => (i < from || i >= to) && applyToModel(expected, op));
      log = await MetaLog.open(dir, opts);
      const label = `records ${from}..${to - 1} missing, ${kept} bytes of the first kept`;
      assert.deepEqual(await dump(log, OP_VOLUMES), expected.rows(OP_VOLUMES), label);
      await log.close();
      assert.equal(statSync(file).size, original.length, `${label}: not cut, whole records follow`);
    }
    writeFileSync(file, original);
  });

  describe('metadata that holds the bytes of a whole record', () => {
    // Metadata carries inline object data, which a client chooses: it can hold the bytes of a well-formed record,
    // here one written by another log. Replay must not take them for a record of its own.
    const opts: MetaLogOptions = { sync: false };
    let dir: string;
    let file: string;
    let full: Buffer;
    let carrierAt: number;
    let embeddedEnd: number;
    const row = (key: string, meta: string): Row => ['v0', key, key, Buffer.from(meta).toString('hex')];

    before(async () => {
      const scratch = fresh('embedded-src');
      const src = await MetaLog.open(scratch, opts);
      await src.put('v0', 'phantom', 'phantom', Buffer.from('never written by anyone'));
      await src.close();
      const source = readFileSync(join(scratch, segmentFiles(scratch)[0]));
      const embedded = source.subarray(SEGMENT_HEADER);
      assert.ok(parseRecord(embedded, 0, saltOf(source)), 'the embedded bytes are a whole, valid record');

      dir = fresh('embedded');
      const log = await MetaLog.open(dir, opts);
      await log.put('v0', 'before', 'before', Buffer.from('kept'));
      const carrier = Buffer.concat([
        Buffer.from('inline data: '),
        embedded,
        Buffer.from(' and more after it'),
      ]);
      await log.put('v0', 'carrier', 'carrier', carrier);
      await log.put('v0', 'after', 'after', Buffer.from('also kept'));
      await log.close();
      file = join(dir, segmentFiles(dir)[0]);
      full = readFileSync(file);
      carrierAt = SEGMENT_HEADER + recordLength('v0', 'before', 'before', 4);
      embeddedEnd = full.indexOf(embedded) + embedded.length;
      assert.ok(
        embeddedEnd > carrierAt &&
          embeddedEnd < carrierAt + recordLength('v0', 'carrier', 'carrier', carrier.length),
      );
    });

    it('a torn tail ending inside it, after the embedded bytes, replays no phantom record', async () => {
      writeFileSync(file, full.subarray(0, embeddedEnd + 3));
      const log = await MetaLog.open(dir, opts);
      assert.deepEqual(await dump(log, ['v0']), [row('before', 'kept')]);
      await log.close();
      assert.equal(statSync(file).size, carrierAt, 'cut at the torn record');
    });

    it('a rotten byte in it, before the embedded bytes, replays no phantom record', async () => {
      // The carrier's header (with its length) is intact; a byte of its metadata before the embedded record rots.
      const rotten = Buffer.from(full);
      rotten[carrierAt + 20 + 'v0carriercarrier'.length + 2] ^= 0x20;
      writeFileSync(file, rotten);
      const log = await MetaLog.open(dir, opts);
      assert.deepEqual(await dump(log, ['v0']), [row('after', 'also kept'), row('before', 'kept')]);
      await log.close();
    });
  });

  it('refuses to open when a segment other than the last is not a segment', async () => {
    const dir = fresh('header');
    const opts: MetaLogOptions = { sync: false, segmentBytes: 128 };
    let log = await MetaLog.open(dir, opts);
    const model = new LogModel();
    for (let i = 0; i < 12; i++) {
      const key = `key-${i}`;
      await log.put('v', key, key, Buffer.alloc(40, i));
      model.put('v', key, key, Buffer.alloc(40, i));
    }
    await log.close();
    const names = segmentFiles(dir);
    assert.ok(names.length >= 3, `${names.length} segments`);

    const broken: [label: string, damage: (b: Buffer) => Buffer][] = [
      ['garbage magic', (b) => Buffer.concat([Buffer.from('NOTALOG!'), b.subarray(8)])],
      [
        'an unknown format version',
        (b) => {
          b.writeUInt32LE(2, 8);
          return b;
        },
      ],
      ['shorter than a header', (b) => b.subarray(0, 10)],
      ['empty', () => Buffer.alloc(0)],
    ];
    for (const name of names.slice(0, -1)) {
      const file = join(dir, name);
      const original = readFileSync(file);
      for (const [label, damage] of broken) {
        writeFileSync(file, damage(Buffer.from(original)));
        const fds = await openFds();
        await assert.rejects(MetaLog.open(dir, opts), { code: 'DriveFaulty' }, `${name}: ${label}`);
        assert.equal(await openFds(), fds, `${name}: ${label}: no descriptor left open`);
      }
      writeFileSync(file, original);
    }
    // The last segment with a whole header that is not ours is not a torn creation either.
    const last = join(dir, names[names.length - 1]);
    const original = readFileSync(last);
    writeFileSync(last, Buffer.concat([Buffer.from('NOTALOG!'), original.subarray(8)]));
    await assert.rejects(MetaLog.open(dir, opts), { code: 'DriveFaulty' });
    writeFileSync(last, original);

    log = await MetaLog.open(dir, opts);
    assert.deepEqual(await dump(log, ['v']), model.rows(['v']), 'intact again once repaired');
    await log.close();
  });

  it('stays failed after a write error, and a replay recovers what was acknowledged', async () => {
    // A real write error as root: a child process whose file size limit (RLIMIT_FSIZE) stops the segment from
    // growing; past it writev fails with EFBIG (Node ignores SIGXFSZ).
    const dir = fresh('poison');
    const script = `
      const { MetaLog } = require(${JSON.stringify(join(__dirname, 'meta-log.js'))});
      (async () => {
        const log = await MetaLog.open(${JSON.stringify(dir)}, { sync: true });
        const acked = [];
        let failed = null;
        let errors = [];
        for (let g = 0; g < 1000 && !failed; g++) {
          const group = Array.from({ length: 10 }, (_, i) => ({ key: 'g' + g + '/' + i, meta: ('m' + g + '.' + i).padEnd(48, '.') }));
          const results = await Promise.allSettled(group.map((r) => log.put('vol', r.key, r.key, Buffer.from(r.meta))));
          if (results.every((r) => r.status === 'fulfilled')) acked.push(...group);
          else {
            failed = group;
            errors = results.map((r) => (r.status === 'rejected' ? r.reason.code + ' ' + r.reason.message : 'fulfilled'));
          }
        }
        const attempt = async (fn) => { try { await fn(); return 'ok'; } catch (e) { return e.code; } };
        const later = [
          await attempt(() => log.read(log.get('vol', acked[0].key))),
          await attempt(() => log.put('vol', 'late', 'late', Buffer.from('x'))),
          await attempt(() => log.remove('vol', acked[0].key)),
        ];
        await log.close();
        process.stdout.write(JSON.stringify({ acked, failed, errors, later }));
      })().catch((e) => { console.error(e); process.exit(1); });
    `;
    const child = spawnSync(
      '/bin/sh',
      ['-c', 'ulimit -f 16 && exec "$0" -e "$1"', process.execPath, script],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(child.status, 0, child.stderr);
    const out = JSON.parse(child.stdout) as {
      acked: { key: string; meta: string }[];
      failed: { key: string; meta: string }[] | null;
      errors: string[];
      later: string[];
    };
    assert.ok(out.failed, 'a write failed');
    assert.ok(out.acked.length > 0, 'some writes succeeded first');
    for (const e of out.errors)
      assert.match(e, /^DriveFaulty .*EFBIG/, 'every put of the failed batch fails');
    assert.deepEqual(out.later, ['DriveFaulty', 'DriveFaulty', 'DriveFaulty'], 'read, put, remove after it');

    // Restarted without the limit: every acknowledged put is there; of the failed batch, only records that
    // reached the disk whole, which are a prefix of it (the caller was told the outcome was unknown).
    const log = await MetaLog.open(dir, { sync: true });
    const model = new LogModel();
    for (const r of out.acked) model.put('vol', r.key, r.key, Buffer.from(r.meta));
    const landed = out.failed.filter((r) => log.get('vol', r.key) !== undefined).length;
    assert.ok(landed < out.failed.length, 'the record that hit the limit is not whole');
    for (const r of out.failed.slice(0, landed)) model.put('vol', r.key, r.key, Buffer.from(r.meta));
    assert.deepEqual(await dump(log, ['vol']), model.rows(['vol']));
    await log.put('vol', 'after-restart', 'after-restart', Buffer.from('ok'));
    model.put('vol', 'after-restart', 'after-restart', Buffer.from('ok'));
    await log.close();
    const again = await MetaLog.open(dir, { sync: true });
    assert.deepEqual(await dump(again, ['vol']), model.rows(['vol']), 'writable again after the restart');
    await again.close();
  });
  describe('a removal that need not be durable at once', () => {
    /** The keys of `vol` that a process starting from the log's files as they are now (a crash) would see. */
    const afterCrash = async (dir: string): Promise<string[]> => {
      const image = fresh('crash-image');
      cpSync(dir, image, { recursive: true });
      const log = await MetaLog.open(image, { sync: true });
      try {
        return (await dump(log, ['vol'])).map((row) => row[1]);
      } finally {
        await log.close();
      }
    };

    it('is seen at once, and reaches the disk with the next batch', async () => {
      const dir = fresh('lazy-next');
      const log = await MetaLog.open(dir, { sync: true });
      try {
        await log.put('vol', 'mark', 'mark', Buffer.from('staged'));
        await log.remove('vol', 'mark', { durable: false });
        assert.equal(log.get('vol', 'mark'), undefined, 'gone for readers at once');
        assert.deepEqual(await afterCrash(dir), ['mark'], 'not written by itself');
        await log.put('vol', 'next', 'next', Buffer.from('a later write'));
        assert.deepEqual(await afterCrash(dir), ['next'], 'written with the next batch, before its records');
      } finally {
        await log.close();
      }
    });

    it('reaches the disk within LAZY_FLUSH_MS when no batch comes, and at close', async () => {
      const dir = fresh('lazy-alone');
      let log = await MetaLog.open(dir, { sync: true });
      await log.put('vol', 'a', 'a', Buffer.from('1'));
      await log.put('vol', 'b', 'b', Buffer.from('2'));
      await sleep(20); // past the batch's end, whose next-batch check would take the removal along
      await log.remove('vol', 'a', { durable: false });
      assert.deepEqual(await afterCrash(dir), ['a', 'b'], 'not written by itself');
      // Polled rather than slept: the flush's own write takes its time on a busy disk.
      const deadline = Date.now() + LAZY_FLUSH_MS + 10_000;
      let seen = await afterCrash(dir);
      while (seen.includes('a') && Date.now() < deadline) {
        await sleep(LAZY_FLUSH_MS / 4);
        seen = await afterCrash(dir);
      }
      assert.deepEqual(seen, ['b'], 'the removal was written with no other write to carry it');

      await log.remove('vol', 'b', { durable: false });
      await log.close(); // at once: well before the flush timer
      log = await MetaLog.open(dir, { sync: true });
      assert.deepEqual(await dump(log, ['vol']), [], 'close wrote the removal queued last');
      await log.close();
    });
  });
});
