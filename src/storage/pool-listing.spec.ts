/**
 * ListObjects on a 4+2 pool, compared with a sorted in-memory model: byte order, prefix, delimiters ('/' and '-'),
 * marker, maxKeys pagination, common prefixes; still correct with m drives offline, ReadQuorum with m + 1.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { randomInt, seededRandom } from '../../test/fixtures/prng';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import type { ListObjectsOptions } from './object-layer';
import type { ErasurePool } from './pool';

const BUCKET = 'listing';
const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** ~300 keys over flat names, nested directories, '-' separated names and non-ASCII characters. */
function makeKeys(): string[] {
  const rand = seededRandom(300);
  const patterns = [
    (i: number) => `top-${i}`,
    (i: number) => `d${i % 4}/f${i}`,
    (i: number) => `d${i % 4}/s${i % 3}/g${i}`,
    (i: number) => `d${i % 4}-x${i}`,
    (i: number) => `u/é${i}`,
    (i: number) => `u/\u{1F600}${i}`,
    (i: number) => `u/\uE000${i}`,
    (i: number) => `a-b/c-${i}`,
    (i: number) => `deep/${i % 2}/${i % 3}/${i % 5}/leaf-${i}`,
  ];
  const keys = new Set<string>(['d0', 'd0/', 'u', 'a', 'a-b', 'a-b-c', 'z']);
  for (let i = 0; keys.size < 300; i++) keys.add(patterns[randomInt(rand, 0, patterns.length - 1)](i));
  return [...keys];
}

interface Model {
  objects: string[];
  prefixes: string[];
  /** Objects and common prefixes in listing order. */
  entries: string[];
}

function model(keys: string[], opts: ListObjectsOptions): Model {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const marker = opts.marker ?? '';
  const objects = new Set<string>();
  const prefixes = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix) || cmp(key, marker) <= 0) continue;
    const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    if (at < 0) objects.add(key);
    else {
      const cp = key.slice(0, at + delimiter.length);
      if (cmp(cp, marker) > 0) prefixes.add(cp);
    }
  }
  const sorted = (s: Set<string>): string[] => [...s].sort(cmp);
  return {
    objects: sorted(objects),
    prefixes: sorted(prefixes),
    entries: [...objects, ...prefixes].sort(cmp),
  };
}

describe('listObjects on a 4+2 pool', () => {
  const keys = makeKeys();
  const tmp = tempDrives(6, 'pool-listing');
  let pool: ErasurePool;
  let drives: FaultyDrive[];

  const list = async (opts: ListObjectsOptions): Promise<Model & { truncated: boolean; next?: string }> => {
    const res = await pool.listObjects(BUCKET, opts);
    const objects = res.objects.map((o) => o.key);
    return {
      objects,
      prefixes: res.commonPrefixes,
      entries: [...objects, ...res.commonPrefixes].sort(cmp),
      truncated: res.isTruncated,
      next: res.nextMarker,
    };
  };

  /** Pages through a listing, checking each page against the model's slice. */
  const paginate = async (opts: ListObjectsOptions, maxKeys: number): Promise<void> => {
    const want = model(keys, opts).entries;
    let marker = opts.marker;
    for (let pos = 0, page = 0; ; pos += maxKeys, page++) {
      assert.ok(page <= want.length, 'pagination terminates');
      const got = await list({ ...opts, marker, maxKeys });
      const slice = want.slice(pos, pos + maxKeys);
      assert.deepEqual(got.entries, slice, `page ${page} (marker ${JSON.stringify(marker)})`);
      assert.equal(got.truncated, pos + maxKeys < want.length, `isTruncated of page ${page}`);
      if (!got.truncated) return;
      assert.equal(got.next, slice[slice.length - 1], 'nextMarker is the last entry of the page');
      marker = got.next;
    }
  };

  before(async () => {
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2 }));
    await pool.makeBucket(BUCKET);
    for (const key of keys) await pool.putObject(BUCKET, key, streamOf(Buffer.from(key)));
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('lists every key once, in UTF-8 byte order, with its size and ETag', async () => {
    const res = await pool.listObjects(BUCKET);
    assert.deepEqual(
      res.objects.map((o) => o.key),
      [...keys].sort(cmp),
    );
    assert.equal(res.isTruncated, false);
    for (const o of res.objects) {
      assert.equal(o.size, Buffer.byteLength(o.key));
      assert.equal(o.etag, createHash('md5').update(o.key).digest('hex'));
      assert.equal(o.isLatest, true);
    }
  });

  // The empty prefix is covered by the whole-bucket and pagination tests.
  const prefixes = ['d1', 'd1/', 'd1/s2/', 'u/', 'u/é', 'a', 'deep/1/', 'top-1', 'nope', 'd0/'];
  for (const delimiter of ['', '/', '-']) {
    it(`matches the model for every prefix with delimiter ${JSON.stringify(delimiter)}`, async () => {
      for (const prefix of prefixes) {
        const want = model(keys, { prefix, delimiter });
        const got = await list({ prefix, delimiter });
        assert.deepEqual(got.objects, want.objects, `objects, prefix ${JSON.stringify(prefix)}`);
        assert.deepEqual(got.prefixes, want.prefixes, `common prefixes, prefix ${JSON.stringify(prefix)}`);
        assert.equal(got.truncated, false);
      }
    });
  }

  it('reports common prefixes for the delimiter', async () => {
    const root = await list({ delimiter: '/' });
    assert.deepEqual(root.prefixes, ['a-b/', 'd0/', 'd1/', 'd2/', 'd3/', 'deep/', 'u/']);
    const dashed = await list({ prefix: 'a', delimiter: '-' });
    assert.deepEqual(dashed.objects, ['a']);
    assert.deepEqual(dashed.prefixes, ['a-']);
    const inside = await list({ prefix: 'd0/', delimiter: '/' });
    assert.ok(inside.objects.includes('d0/'), 'the key "d0/" is an object under its own prefix');
  });

  it('starts after the marker', async () => {
    const sorted = [...keys].sort(cmp);
    const cases: [string, string[]][] = [
      ['d1/', ['/']],
      [sorted[150], ['', '/', '-']],
      ['u/\uE000', ['', '/']],
      ['zzz', ['', '-']],
    ];
    for (const [marker, delimiters] of cases) {
      for (const delimiter of delimiters) {
        const got = await list({ marker, delimiter });
        const want = model(keys, { marker, delimiter });
        assert.deepEqual(
          got.entries,
          want.entries,
          `marker ${JSON.stringify(marker)}, delimiter ${delimiter}`,
        );
      }
    }
  });

  for (const [delimiter, prefix, maxKeys] of [
    ['', '', 13],
    ['/', '', 1],
    ['/', 'd1/', 3],
    ['-', '', 9],
    ['-', 'd3', 2],
    ['', 'u/\u{1F600}', 1],
  ] as const) {
    it(`paginates with maxKeys ${maxKeys}, delimiter ${JSON.stringify(delimiter)}, prefix ${JSON.stringify(prefix)}`, async () => {
      await paginate({ prefix, delimiter }, maxKeys);
    });
  }

  it('does not list deleted keys', async () => {
    await pool.putObject(BUCKET, 'd2/temporary', streamOf(Buffer.from('x')));
    assert.ok((await list({ prefix: 'd2/temporary' })).objects.includes('d2/temporary'));
    await pool.deleteObject(BUCKET, 'd2/temporary');
    assert.deepEqual((await list({ prefix: 'd2/temporary' })).objects, []);
    assert.deepEqual((await list({ delimiter: '/' })).prefixes, model(keys, { delimiter: '/' }).prefixes);
  });

  it('hides a crash leftover that never reached the read quorum', async () => {
    // The metadata of a committed object copied under a new key on 3 < k drives, as a crashed write leaves it.
    for (const d of drives.slice(0, 3)) {
      const z = await d.readMeta(BUCKET, 'z');
      assert.ok(z, `${d.endpoint} holds z`);
      await d.writeMeta(BUCKET, 'ghost', 'ghost', z, {});
    }
    try {
      assert.deepEqual((await list({ prefix: 'g' })).objects, []);
      assert.deepEqual(
        (await list({ marker: 'f', maxKeys: 3 })).objects,
        model(keys, { marker: 'f' }).objects.slice(0, 3),
      );
      assert.deepEqual((await list({ delimiter: '/' })).entries, model(keys, { delimiter: '/' }).entries);
      await assert.rejects(pool.getObjectInfo(BUCKET, 'ghost'), { code: 'ObjectNotFound' });
    } finally {
      await pool.drainHealQueue();
      for (const d of drives) await d.deleteMeta(BUCKET, 'ghost');
    }
  });

  describe('with drives offline', () => {
    const offline = (...positions: number[]): void => {
      for (const p of positions) drives[p].mode = 'offline';
    };
    const restore = (): void => {
      for (const d of drives) d.mode = 'ok';
    };

    it('is unchanged with m = 2 drives offline', async () => {
      offline(1, 4);
      try {
        assert.deepEqual((await list({})).objects, [...keys].sort(cmp));
        for (const delimiter of ['/', '-']) {
          const want = model(keys, { delimiter });
          const got = await list({ delimiter });
          assert.deepEqual(got.objects, want.objects);
          assert.deepEqual(got.prefixes, want.prefixes);
        }
        await paginate({ delimiter: '/', prefix: 'd3/' }, 5);
        await paginate({ prefix: 'd' }, 40);
        const { stream } = await pool.getObject(BUCKET, keys[5]);
        assert.equal((await readAll(stream)).toString(), keys[5]);
      } finally {
        restore();
      }
    });

    it('fails with ReadQuorum, not a partial listing, with 3 drives offline', async () => {
      offline(0, 2, 5);
      try {
        await assert.rejects(pool.listObjects(BUCKET), { code: 'ReadQuorum' });
        await assert.rejects(pool.listObjects(BUCKET, { delimiter: '/' }), { code: 'ReadQuorum' });
        await assert.rejects(pool.listObjects(BUCKET, { prefix: 'd1/', marker: 'd1/f1', maxKeys: 2 }), {
          code: 'ReadQuorum',
        });
      } finally {
        restore();
      }
      assert.deepEqual((await list({})).objects, [...keys].sort(cmp), 'back to normal');
    });
  });
});
