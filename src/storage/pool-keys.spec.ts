/**
 * Object keys that look like paths, escapes or limits round-trip through a 4+2 pool, list in byte order, and
 * never make the engine touch a file outside its drive roots.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { faultyPool, readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import { SYS_VOLUME } from './layout';
import type { ErasurePool } from './pool';

const BUCKET = 'keys';
const cmp = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Every file and directory below `dir`, relative to it, with `/` separators. */
function tree(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    const rel = relative(base, full).split(sep).join('/');
    return e.isDirectory() ? [`${rel}/`, ...tree(full, base)] : [rel];
  });
}

describe('object keys on a 4+2 pool', () => {
  const keys = [
    '..',
    '.',
    '../../x',
    '../../../../../../../../etc/passwd',
    './a',
    'a/../../b',
    'a//b',
    '/x',
    '//',
    'x/',
    'a\0b',
    '\0',
    '%',
    '%2E%2E',
    '%meta',
    '%d.00000000',
    '%h.abc',
    '%name',
    'é/日本/\u{1F600}',
    '\uE000',
    '\u{10FFFF}',
    'k'.repeat(1024),
    '../'.repeat(341) + 'x',
    'é'.repeat(512),
    'S'.repeat(300),
    `dir/${'S'.repeat(300)}/leaf`,
    '%'.repeat(100),
  ];
  const streamed = new Set(['../../x', 'a//b', 'S'.repeat(300)]);
  const bodies = new Map(
    keys.map((k, i) => [
      k,
      streamed.has(k) ? randomBytes(seededRandom(i), 200 * 1024) : Buffer.from(`body ${i}`),
    ]),
  );
  const tmp = tempDrives(6, 'pool-keys');
  let pool: ErasurePool;

  const read = async (key: string): Promise<Buffer> => readAll((await pool.getObject(BUCKET, key)).stream);

  /** Every path under the temp root must be a drive dir, or lie inside a drive's bucket or system volume. */
  const assertContained = (): void => {
    const drives = tmp.paths.map((p) => relative(tmp.root, p));
    for (const rel of tree(tmp.root)) {
      const [drive, volume, ...rest] = rel.split('/');
      assert.ok(drives.includes(drive), `${rel} is outside every drive`);
      if (volume === undefined || volume === '') continue;
      assert.ok(
        volume === BUCKET || volume === SYS_VOLUME,
        `${rel} is outside the bucket and system volumes (${rest.length} levels below)`,
      );
    }
  };

  before(async () => {
    ({ pool } = await faultyPool(tmp.paths, { parity: 2 }));
    await pool.makeBucket(BUCKET);
    for (const key of keys) await pool.putObject(BUCKET, key, streamOf(bodies.get(key)!));
    await pool.drainHealQueue();
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('reads every key back', async () => {
    for (const key of keys) {
      assert.ok((await read(key)).equals(bodies.get(key)!), JSON.stringify(key.slice(0, 40)));
      const info = await pool.getObjectInfo(BUCKET, key);
      assert.equal(info.key, key);
      assert.equal(info.size, bodies.get(key)!.length);
    }
  });

  it('lists every key once, in byte order', async () => {
    const res = await pool.listObjects(BUCKET);
    assert.deepEqual(
      res.objects.map((o) => o.key),
      [...keys].sort(cmp),
    );
  });

  it('lists each key under its own full key as prefix', async () => {
    for (const key of keys.filter((k) => !k.startsWith('/'))) {
      const res = await pool.listObjects(BUCKET, { prefix: key });
      assert.ok(
        res.objects.some((o) => o.key === key),
        `prefix ${JSON.stringify(key.slice(0, 40))}`,
      );
    }
  });

  it('lists keys under a prefix that starts with "/"', async () => {
    for (const [prefix, expected] of [
      ['/', ['//', '/x']],
      ['/x', ['/x']],
    ] as const) {
      const res = await pool.listObjects(BUCKET, { prefix });
      assert.deepEqual(
        res.objects.map((o) => o.key),
        expected,
        `prefix ${prefix}`,
      );
    }
    const delimited = await pool.listObjects(BUCKET, { prefix: '/', delimiter: '/' });
    assert.deepEqual([delimited.objects.map((o) => o.key), delimited.commonPrefixes], [['/x'], ['//']]);
  });

  it('writes nothing outside the drive roots, the bucket and the system volume', () => {
    assertContained();
  });

  it('refuses keys S3 refuses, and stores nothing for them', async () => {
    const countBefore = tree(tmp.root).length;
    for (const [key, code] of [
      ['', 'InvalidObjectName'],
      ['k'.repeat(1025), 'ObjectNameTooLong'],
      ['é'.repeat(512) + 'x', 'ObjectNameTooLong'],
      ['lone\uD800', 'InvalidObjectName'],
      ['\uDC00', 'InvalidObjectName'],
    ]) {
      await assert.rejects(
        pool.putObject(BUCKET, key, streamOf(Buffer.from('x'))),
        { code },
        JSON.stringify(key),
      );
      await assert.rejects(pool.getObjectInfo(BUCKET, key), { code });
      await assert.rejects(pool.newMultipartUpload(BUCKET, key), { code });
    }
    assert.equal(tree(tmp.root).length, countBefore);
  });

  it('deletes every key, leaving the bucket empty', async () => {
    for (const key of keys) await pool.deleteObject(BUCKET, key);
    for (const key of keys) await assert.rejects(pool.getObjectInfo(BUCKET, key), { code: 'ObjectNotFound' });
    assert.deepEqual((await pool.listObjects(BUCKET)).objects, []);
    assertContained();
    for (const p of tmp.paths) {
      assert.deepEqual(tree(join(p, BUCKET)), [], `leftovers in ${relative(tmp.root, p)}/${BUCKET}`);
    }
    await pool.deleteBucket(BUCKET);
  });
});
