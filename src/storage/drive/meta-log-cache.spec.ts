/**
 * meta-log.ts's read cache: it serves the newest bytes, as copies the caller may change; evicts oldest first within
 * its budget; reads the disk when it is off; and keeps only what it read intact. A record written with its decoded
 * view is read back decoded only while its bytes are in memory. The log itself is in meta-log.spec.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomBytes, randomInt, seededRandom } from '../../../test/fixtures/prng';
import { flipByte, LogModel, recordLength } from '../../../test/fixtures/meta-log';
import { tempDrives } from '../../../test/fixtures/temp-drives';
import { objectVersion } from '../../../test/fixtures/object-version';
import { decodeMeta, encodeMeta, type MetaFile, viewOf } from '../meta/meta-file';
import { MetaLog, type MetaLogOptions } from './meta-log';
import { RecordCache } from './meta-log-cache';
import type { LogEntry } from './meta-log-segment';

describe('MetaLog read cache', () => {
  const tmp = tempDrives(0, 'meta-log-cache');
  let n = 0;
  /** A new, empty log directory for one test. */
  const fresh = (label: string): string => join(tmp.root, `${label}-${n++}`);
  after(() => tmp.cleanup());

  it('serves the newest bytes after puts, overwrites and removes, as copies the caller may change', async () => {
    const log = await MetaLog.open(fresh('cache'), { sync: false, cacheBytes: 600 });
    const model = new LogModel();
    const rand = seededRandom(53);
    const keys = ['a', 'b', 'c/d', 'é', '\u{1f600}'];
    for (let i = 0; i < 600; i++) {
      const key = keys[randomInt(rand, 0, keys.length - 1)];
      const roll = rand();
      if (roll < 0.15) {
        model.remove('v', key);
        await log.remove('v', key);
      } else if (roll < 0.6) {
        const meta = randomBytes(rand, randomInt(rand, 0, 120));
        model.put('v', key, key, meta);
        const written = log.put('v', key, key, meta);
        meta.fill(0xee); // the log keeps its own copy of what it was given
        if (rand() < 0.5) await written; // else read it while still queued
      }
      const entry = log.get('v', key);
      const want = model.volumes.get('v')?.get(key)?.meta;
      if (!want) {
        assert.equal(entry, undefined, `step ${i}: ${key} removed`);
        continue;
      }
      assert.ok(entry, `step ${i}: ${key} present`);
      const got = await log.read(entry);
      assert.deepEqual(got, want, `step ${i}: ${key}`);
      got.fill(0x55);
      assert.deepEqual(await log.read(entry), want, `step ${i}: ${key}, after changing the returned buffer`);
    }
    await log.close();
  });

  it('evicts oldest first and stays within its budget through overwrites, removes and reads', async () => {
    const meta = Buffer.alloc(100, 1);
    const probe = await MetaLog.open(fresh('cache-size'), { sync: false });
    await probe.put('v', 'p', 'p', meta);
    const recordLen = probe.get('v', 'p')!.len;
    await probe.close();
    const log = await MetaLog.open(fresh('cache-order'), { sync: false, cacheBytes: recordLen * 5 });
    const cached = (): string[] =>
      [...'abcdefghij'].filter((d) => log.get('v', d)?.cached !== undefined).sort();
    for (const d of 'abcdefgh') await log.put('v', d, d, meta);
    assert.deepEqual(cached(), ['d', 'e', 'f', 'g', 'h'], 'the five newest');
    await log.remove('v', 'f'); // out of the middle of the order
    await log.put('v', 'i', 'i', meta);
    assert.deepEqual(cached(), ['d', 'e', 'g', 'h', 'i']);
    await log.put('v', 'd', 'd', meta); // an overwrite is the newest again
    await log.put('v', 'j', 'j', meta);
    assert.deepEqual(cached(), ['d', 'g', 'h', 'i', 'j'], 'e, then the old d, were the oldest');
    await log.read(log.get('v', 'a')!); // a read from disk caches that record and evicts the oldest
    assert.deepEqual(cached(), ['a', 'd', 'h', 'i', 'j']);
    for (const d of 'adhij') await log.remove('v', d);
    for (const d of 'bcdefghij') await log.put('v', d, d, meta); // the emptied list takes new entries
    assert.deepEqual(cached(), ['f', 'g', 'h', 'i', 'j']);
    await log.close();
  });

  it('reads the disk with cacheBytes 0 and the cached record otherwise', async () => {
    for (const cacheBytes of [0, 1 << 20]) {
      const log = await MetaLog.open(fresh('cache-disk'), { sync: false, cacheBytes });
      await log.put('v', 'd', 'k', Buffer.from('original'));
      const entry = log.get('v', 'd')!;
      // 'o' becomes 'O' on disk; only a read that goes to the disk can see it.
      flipByte(entry.seg!.file, entry.off + entry.metaAt);
      assert.equal((await log.read(entry)).toString(), cacheBytes === 0 ? 'Original' : 'original');
      await log.close();
    }
  });

  it('caches what it reads only when the record is intact', async () => {
    const dir = fresh('cache-read');
    const opts: MetaLogOptions = { sync: false, cacheBytes: 1 << 20 };
    let log = await MetaLog.open(dir, opts);
    await log.put('v', 'd', 'k', Buffer.from('original'));
    await log.close();
    log = await MetaLog.open(dir, opts); // nothing cached after a replay
    const entry = log.get('v', 'd')!;
    const at = entry.off + entry.metaAt;
    flipByte(entry.seg!.file, at);
    assert.equal(
      (await log.read(entry)).toString(),
      'Original',
      'rotten bytes are returned for the decoder to reject',
    );
    flipByte(entry.seg!.file, at);
    assert.equal((await log.read(entry)).toString(), 'original', 'but were not kept');
    flipByte(entry.seg!.file, at);
    assert.equal((await log.read(entry)).toString(), 'original', 'the intact read was kept');
    await log.close();
  });

  it('keeps the newest records within its byte budget, first in first out', async () => {
    const budget = 1000;
    const log = await MetaLog.open(fresh('cache-fifo'), { sync: false, cacheBytes: budget });
    const keys = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    for (const k of keys) await log.put('v', k, k, Buffer.alloc(60, 'm'));
    const len = recordLength('v', 'k00', 'k00', 60);
    const held = Math.floor(budget / len);
    // Too large for the cache (over a quarter of the budget): always read from disk.
    await log.put('v', 'big', 'big', Buffer.alloc(300, 'm'));
    for (const k of [...keys, 'big']) {
      const e = log.get('v', k)!;
      flipByte(e.seg!.file, e.off + e.metaAt);
    }
    const fromCache: string[] = [];
    for (const k of [...keys, 'big']) {
      if ((await log.read(log.get('v', k)!))[0] === 'm'.charCodeAt(0)) fromCache.push(k);
    }
    assert.deepEqual(fromCache, keys.slice(keys.length - held));
    await log.close();
  });

  it('keeps records that own their memory, so its budget bounds what it holds alive', async () => {
    const budget = 64 * 1024;
    const dir = fresh('cache-owned');
    const opts: MetaLogOptions = { sync: false, cacheBytes: budget };
    const rand = seededRandom(71);
    const keys = Array.from({ length: 200 }, (_, i) => `k${i}`);
    let log = await MetaLog.open(dir, opts);
    // Small records, the size Node would cut from its shared 8 KiB pool: a cached slice would pin the whole slab.
    for (const k of keys) await log.put('v', k, k, randomBytes(rand, randomInt(rand, 50, 1500)));
    /** The distinct ArrayBuffers the cache holds, after checking each record owns its own. */
    const held = (): Set<ArrayBufferLike> => {
      const buffers = new Set<ArrayBufferLike>();
      for (const k of keys) {
        const record = log.get('v', k)?.cached;
        if (!record) continue;
        assert.equal(record.buffer.byteLength, record.length, `${k}: the record owns its memory`);
        buffers.add(record.buffer);
      }
      return buffers;
    };
    const bytes = (buffers: Set<ArrayBufferLike>): number =>
      [...buffers].reduce((sum, b) => sum + b.byteLength, 0);
    const written = held();
    assert.ok(written.size > 20, `written records are cached (${written.size})`);
    assert.ok(bytes(written) <= budget, `${bytes(written)} bytes held, budget ${budget}`);
    await log.close();
    log = await MetaLog.open(dir, opts); // now the cache fills from disk reads
    for (const k of keys) await log.read(log.get('v', k)!);
    const read = held();
    assert.ok(read.size > 20, `records read are cached (${read.size})`);
    assert.ok(bytes(read) <= budget, `${bytes(read)} bytes held, budget ${budget}`);
    await log.close();
  });

  it('charges a record that is a slice for all of the memory it pins', () => {
    const cache = new RecordCache(4000);
    const entry = (): LogEntry => ({
      volume: 'v',
      dir: 'd',
      key: 'k',
      seg: null,
      off: 0,
      len: 100,
      metaAt: 0,
      metaLen: 100,
    });
    const owned = Array.from({ length: 4 }, entry);
    for (const e of owned) cache.add(e, Buffer.alloc(900));
    assert.ok(
      owned.every((e) => e.cached),
      'four records of 900 bytes fit in 4000',
    );
    const slice = entry();
    cache.add(slice, Buffer.alloc(950).subarray(0, 100));
    assert.ok(slice.cached, 'a 100-byte slice of 950 bytes is kept');
    assert.deepEqual(
      owned.map((e) => e.cached !== undefined),
      [false, true, true, true],
      'and is charged 950: the oldest record made room',
    );
    const big = entry();
    cache.add(big, Buffer.alloc(1500).subarray(0, 10));
    assert.equal(big.cached, undefined, 'a slice of more than a quarter of the budget is not kept');
  });

  it('answers decoded reads of its own writes only while their bytes are in memory', async () => {
    const metaOf = (name: string): MetaFile => {
      const v = objectVersion({ versionId: name, dataDir: `data-${name}` });
      return { versions: [v], inline: new Map([[v.dataDir, Buffer.alloc(40, name)]]) };
    };
    const probe = await MetaLog.open(fresh('view-size'), { sync: false });
    await probe.put('v', 'p', 'p', encodeMeta(metaOf('p')));
    const recordLen = probe.get('v', 'p')!.len;
    await probe.close();
    const dir = fresh('view');
    const opts: MetaLogOptions = { sync: false, cacheBytes: recordLen * 4 };
    let log = await MetaLog.open(dir, opts);
    const put = (name: string, withView = true): Promise<void> => {
      const meta = metaOf(name);
      return log.put('v', name, name, encodeMeta(meta), withView ? viewOf(meta) : undefined);
    };
    const check = async (name: string, decoded: boolean): Promise<void> => {
      const entry = log.get('v', name)!;
      const got = log.decoded(entry);
      assert.equal(got !== undefined, decoded, `${name}: decoded`);
      if (got) assert.deepEqual(got, decodeMeta(await log.read(entry)), `${name}: as its bytes decode`);
    };

    const queued = put('a');
    await check('a', true); // still queued: its bytes are the pending record
    await queued;
    await check('a', true); // durable, in the read cache
    for (const name of 'bcde') await put(name);
    await check('a', false); // evicted with its bytes (the cache holds four records)
    for (const name of 'bcde') await check(name, true);
    await put('c', false); // an overwrite without a view
    await check('c', false);
    await log.read(log.get('v', 'a')!); // read back into the cache: bytes only, no view
    await check('a', false);
    await log.close();
    log = await MetaLog.open(dir, opts); // nothing is decoded after a replay
    for (const name of 'abcde') await check(name, false);
    await log.close();
  });
});
