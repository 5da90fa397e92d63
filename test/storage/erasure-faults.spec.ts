/**
 * Erasure coding under faults (issue 2), after MinIO's erasure tests with their bad-disk wrapper: real drives in temp
 * directories behind FaultyDrive, driven through the pool's ObjectLayer.
 *
 * 1. Tables of (k, m) x fault kind x bad drives: objects written while healthy read back byte-identical with up to m
 *    bad drives holding data shards (so the decoder must rebuild from parity), ReadQuorum with m + 1, and PUTs that
 *    succeed or fail with WriteQuorum around the write quorum.
 * 2. Bitrot on disk: a rotten shard (part file or inline frame) is detected by the read, which still returns the
 *    right bytes, and healing (read-triggered or explicit) rewrites the shard until a deep heal finds nothing.
 * 3. Seeded random sizes (block and inline-threshold boundaries +-1, 50 MiB once) with ranged reads on a 4+2 set.
 *    The seed is in the suite name; rerun a failure with ERASURE_FAULTS_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomInt } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { open, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { xxh64 } from '@node-rs/xxhash';
import { LocalDrive } from '../../src/storage/drive/local-drive';
import type { MetaLogOptions } from '../../src/storage/drive/meta-log';
import { checkShardHash, Geometry, HASH_SIZE } from '../../src/storage/erasure/codec';
import type { ErasureSet } from '../../src/storage/erasure-set';
import { decodeMeta } from '../../src/storage/meta/meta-file';
import type { ByteRange } from '../../src/storage/object-layer';
import type { ErasurePool } from '../../src/storage/pool';
import { FaultyDrive, type FaultMode } from '../fixtures/faulty-drive';
import { faultyPool, readAll, streamOf, tempDrives } from '../fixtures/temp-drives';
import { seededRandom } from '../fixtures/prng';

const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = MiB;
const INLINE_MAX = 128 * KiB;
const BUCKET = 'faults';
const INLINE_SIZE = 100 * KiB;
const MULTI_SIZE = 3 * MiB + 7;
const GEOMETRIES: [k: number, m: number][] = [
  [2, 1],
  [2, 2],
  [4, 2],
  [8, 4],
  [12, 4],
];

/** Deterministic bytes for a label (AES-CTR keystream: fast, and a failure reproduces with the same data). */
function bytes(size: number, label: string): Buffer {
  const key = createHash('sha256').update(label).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Equal buffers, or a failure naming the first differing offset (not a 3 MiB diff). */
function assertSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  if (actual.equals(expected)) return;
  let i = 0;
  while (actual[i] === expected[i]) i++;
  assert.fail(`${what}: bytes differ from offset ${i}`);
}

/** A pool on `k + m` fresh faulty drives that records its log lines. */
async function openFaultyPool(
  k: number,
  m: number,
  label: string,
  metaLog: Partial<MetaLogOptions> = {},
): Promise<{ pool: ErasurePool; set: ErasureSet; logs: string[]; close: () => Promise<void> }> {
  const tmp = tempDrives(k + m, label);
  const logs: string[] = [];
  try {
    const { pool } = await faultyPool(
      tmp.paths,
      { parity: m, log: (level, message) => logs.push(`${level} ${message}`) },
      metaLog,
    );
    await pool.makeBucket(BUCKET);
    const close = async (): Promise<void> => {
      try {
        await pool.shutdown();
      } finally {
        tmp.cleanup();
      }
    };
    return { pool, set: pool.sets[0], logs, close };
  } catch (err) {
    tmp.cleanup();
    throw err;
  }
}

function driveAt(set: ErasureSet, position: number): FaultyDrive {
  const d = set.drives[position];
  assert.ok(d instanceof FaultyDrive, `drive ${position} is a FaultyDrive`);
  return d;
}

/** Positions of the drives holding shards 0..count-1 of `key`, in shard order: data shards first. */
function shardHolders(set: ErasureSet, key: string, count: number): number[] {
  const dist = set.distribution(key);
  return Array.from({ length: count }, (_, shard) => dist.indexOf(shard));
}

/** This drive's metadata for a key (which, for an inline object, lives in the drive's metadata log). */
async function metaOf(drive: FaultyDrive, key: string): Promise<Buffer> {
  const meta = await drive.readMeta(BUCKET, key);
  assert.ok(meta, `${drive.endpoint} holds metadata for ${key}`);
  return meta;
}

/** Where a drive keeps a key's metadata: a %meta file in the key's directory, or a record in its metadata log. */
async function metaPlace(drive: FaultyDrive, key: string): Promise<'file' | 'log' | 'both' | 'none'> {
  const inLog = (await localOf(drive).metadataLog()).get(BUCKET, key) !== undefined;
  const inFile = await stat(join(drive.endpoint, BUCKET, key, '%meta')).then(
    () => true,
    () => false,
  );
  return inLog && inFile ? 'both' : inLog ? 'log' : inFile ? 'file' : 'none';
}

function localOf(drive: FaultyDrive): LocalDrive {
  assert.ok(drive.inner instanceof LocalDrive, 'a FaultyDrive over a LocalDrive');
  return drive.inner;
}

/**
 * An inline object's metadata bytes as they sit in the drive's metadata log, and a way to overwrite them in place
 * (same length; the log record's own checksum is not updated, as bitrot would not update it either).
 */
async function logRecord(
  drive: FaultyDrive,
  key: string,
): Promise<{ bytes: Buffer; write: (b: Buffer) => Promise<void> }> {
  const entry = (await localOf(drive).metadataLog()).get(BUCKET, key);
  assert.ok(entry?.seg, `${key} is in ${drive.endpoint}'s metadata log, on disk`);
  const { file } = entry.seg;
  const at = entry.off + entry.metaAt;
  const bytes = (await readFile(file)).subarray(at, at + entry.metaLen);
  return {
    bytes: Buffer.from(bytes),
    write: async (b) => {
      assert.equal(b.length, entry.metaLen, 'same length');
      const fh = await open(file, 'r+');
      try {
        await fh.write(b, 0, b.length, at);
      } finally {
        await fh.close();
      }
    },
  };
}

function setMode(set: ErasureSet, positions: number[], mode: FaultMode, match = '/part.'): void {
  for (const p of positions) Object.assign(driveAt(set, p), { mode, corruptMatch: match });
}

/**
 * What corrupt-reads damages for one object: its shard files, or for an inline object its %meta (whose file checksum
 * then fails, so that drive's copy of the object is unusable).
 */
function corruptMatch(key: string, size: number): string {
  return size > INLINE_MAX ? `${key}/%d.` : `${key}/%meta`;
}

function restoreAllDrives(set: ErasureSet): void {
  setMode(
    set,
    set.drives.map((_, p) => p),
    'ok',
  );
}

async function put(pool: ErasurePool, key: string, data: Buffer): Promise<void> {
  const info = await pool.putObject(BUCKET, key, streamOf(data), { size: data.length });
  assert.equal(info.size, data.length);
}

async function get(pool: ErasurePool, key: string, range?: ByteRange): Promise<Buffer> {
  const { stream } = await pool.getObject(BUCKET, key, range ? { range } : {});
  return readAll(stream);
}

/** Shard indexes the read path reported for `key` with the given reason. */
function reportedShards(logs: string[], key: string, reason: string): number[] {
  const re = new RegExp(`^warn ${BUCKET}/${key}: shard (\\d+) of null: ${reason}$`);
  const shards = new Set(logs.flatMap((l) => re.exec(l)?.[1] ?? []).map(Number));
  return [...shards].sort((a, b) => a - b);
}

const seq = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

// ----- 1. fault tables -------------------------------------------------------------------------------------------

for (const [k, m] of GEOMETRIES) {
  const n = k + m;
  const writeQuorum = k === m ? k + 1 : k;
  describe(`${k}+${m} set: reads and writes with bad drives`, () => {
    let pool: ErasurePool;
    let set: ErasureSet;
    let logs: string[];
    let close = async (): Promise<void> => undefined;
    const objects = [
      { key: 'inline-100k', data: bytes(INLINE_SIZE, `${k}+${m} inline`) },
      { key: 'multi-3m7', data: bytes(MULTI_SIZE, `${k}+${m} multi`) },
    ];

    before(async () => {
      ({ pool, set, logs, close } = await openFaultyPool(k, m, `faults-${k}-${m}`));
      for (const o of objects) await put(pool, o.key, o.data);
    });
    after(() => close());

    for (const fault of ['offline', 'corrupt-reads'] as const) {
      for (let b = 0; b <= m; b++) {
        it(`reads back byte-identical with ${b} ${fault} drive(s) holding data shards`, async () => {
          for (const o of objects) {
            logs.length = 0;
            setMode(set, shardHolders(set, o.key, b), fault, corruptMatch(o.key, o.data.length));
            try {
              assertSameBytes(await get(pool, o.key), o.data, o.key);
              // Any heal the read queued runs while the fault persists, as it would in production.
              await pool.drainHealQueue();
            } finally {
              restoreAllDrives(set);
            }
            if (fault === 'corrupt-reads' && o.key === 'multi-3m7') {
              assert.deepEqual(
                reportedShards(logs, o.key, 'bitrot hash mismatch'),
                seq(0, b),
                'rotten shards detected',
              );
            }
          }
        });
      }

      it(`fails with ReadQuorum with ${m + 1} ${fault} drives, and reads back once they recover`, async () => {
        for (const o of objects) {
          // A fresh copy per fault kind, so what this case does to the object cannot leak into other cases.
          const key = `quorum-${fault}-${o.key}`;
          await put(pool, key, o.data);
          setMode(set, shardHolders(set, key, m + 1), fault, corruptMatch(key, o.data.length));
          try {
            await assert.rejects(get(pool, key), { code: 'ReadQuorum' }, key);
            await pool.drainHealQueue();
          } finally {
            restoreAllDrives(set);
          }
          // A transient fault must not cost data: once the drives are back, the object reads back as written.
          const back = await get(pool, key).catch((err: Error) =>
            assert.fail(`${key} lost after the drives recovered: ${err.message}`),
          );
          assertSameBytes(back, o.data, `${key} after the drives recovered`);
        }
      });
    }

    for (let f = 0; f <= n - writeQuorum + 1; f++) {
      const ok = f <= n - writeQuorum;
      const title = ok
        ? `PUT succeeds with ${f} failing-write drive(s) (write quorum ${writeQuorum}); heal completes them`
        : `PUT fails with WriteQuorum with ${f} failing-write drives and keeps the previous version`;
      it(title, async () => {
        for (const size of [INLINE_SIZE, MULTI_SIZE]) {
          const key = `put-${f}-${size}`;
          const data = bytes(size, `${k}+${m} ${key}`);
          const failing = shardHolders(set, key, f);
          if (!ok) await put(pool, key, bytes(size, `${k}+${m} ${key} old`));
          setMode(set, failing, 'fail-writes');
          try {
            if (ok) await put(pool, key, data);
            else {
              await assert.rejects(put(pool, key, data), { code: 'WriteQuorum' }, `overwrite of ${size} B`);
              await assert.rejects(
                put(pool, `${key}-new`, data),
                { code: 'WriteQuorum' },
                `new ${size} B object`,
              );
            }
            await pool.drainHealQueue();
          } finally {
            restoreAllDrives(set);
          }
          if (!ok) {
            assertSameBytes(
              await get(pool, key),
              bytes(size, `${k}+${m} ${key} old`),
              `${key} after the failed PUT`,
            );
            await assert.rejects(get(pool, `${key}-new`), { code: 'ObjectNotFound' });
            continue;
          }
          const healed = await pool.healObject(BUCKET, key);
          assert.equal(healed.ok, true);
          const endpoints = [...failing].sort((a, b) => a - b).map((p) => driveAt(set, p).endpoint);
          assert.deepEqual(healed.healedDrives, endpoints, `${key}: drives healed`);
          // Only k drives left, the healed ones among them: their shards must be valid.
          const dist = set.distribution(key);
          const others = seq(0, n)
            .filter((p) => !failing.includes(p))
            .sort((a, b) => dist[a] - dist[b])
            .slice(0, m);
          setMode(set, others, 'offline');
          try {
            assertSameBytes(await get(pool, key), data, `${key} from the healed drives`);
          } finally {
            restoreAllDrives(set);
          }
        }
      });
    }

    it('leaves every object intact with nothing left to heal', async () => {
      for (const o of objects) {
        assertSameBytes(await get(pool, o.key), o.data, o.key);
        const r = await pool.healObject(BUCKET, o.key);
        assert.deepEqual({ ok: r.ok, healedDrives: r.healedDrives }, { ok: true, healedDrives: [] }, o.key);
      }
    });
  });
}

describe('4+2 set: heal while a drive fails writes', () => {
  it('closes every file it opened', async (t) => {
    const { pool, set, close } = await openFaultyPool(4, 2, 'heal-fds');
    t.after(close);
    const openFds = (): number => readdirSync('/proc/self/fd').length; // Linux, as deployed
    for (const size of [INLINE_SIZE, MULTI_SIZE]) {
      const key = `fds-${size}`;
      setMode(set, shardHolders(set, key, 1), 'fail-writes');
      try {
        await put(pool, key, bytes(size, key));
        await pool.drainHealQueue(); // the heal the commit queued: it cannot write to the failing drive either
        const before = openFds();
        await pool.healObject(BUCKET, key);
        assert.equal(openFds(), before, `${key}: file descriptors left open by healObject`);
      } finally {
        restoreAllDrives(set);
      }
    }
  });
});

// ----- 2. bitrot on disk -----------------------------------------------------------------------------------------

/** Where a rotten shard lives: a part file, or this drive's inline frame inside %meta. */
interface RotCase {
  name: string;
  size: number;
  /** Which shard to rot: data shard 0, or parity shard k (which a healthy read never touches). */
  shard: 'data' | 'parity';
  /** Damages the file in place; `g` is the object's geometry. */
  rot: (file: Buffer, g: Geometry, dataDir: string) => Buffer;
  /** Reason the read path logs; null when the read cannot see the damage (so only healObject repairs it). */
  reason: string | null;
}

const ROT_CASES: RotCase[] = [
  {
    name: 'a flipped shard byte in block 1 of a part file',
    size: MULTI_SIZE,
    shard: 'data',
    rot: (f, g) => flip(f, g.frameOffset(1) + HASH_SIZE + 12345),
    reason: 'bitrot hash mismatch',
  },
  {
    name: 'a flipped hash byte of the short last block',
    size: MULTI_SIZE,
    shard: 'data',
    rot: (f, g) => flip(f, g.frameOffset(g.blocks - 1) + 3),
    reason: 'bitrot hash mismatch',
  },
  {
    name: 'a part file truncated inside its last frame',
    size: MULTI_SIZE,
    shard: 'data',
    rot: (f, g) => f.subarray(0, g.frameOffset(g.blocks - 1) + HASH_SIZE + 1),
    reason: 'short read',
  },
  {
    name: 'a flipped byte in a parity shard file',
    size: MULTI_SIZE,
    shard: 'parity',
    rot: (f, g) => flip(f, g.frameOffset(2) + HASH_SIZE + 7),
    reason: null,
  },
  {
    name: 'a flipped inline shard byte (metadata checksum recomputed)',
    size: INLINE_SIZE,
    shard: 'data',
    rot: (f, _g, dataDir) => {
      const frame = decodeMeta(f).inline.get(dataDir);
      assert.ok(frame, 'inline frame present');
      frame[HASH_SIZE + 100] ^= 0x01; // frame is a view into f
      f.writeBigUInt64LE(xxh64(f.subarray(0, f.length - 8)), f.length - 8);
      decodeMeta(f); // still a valid metadata file: only the shard's own hash can catch this
      return f;
    },
    reason: 'bitrot hash mismatch',
  },
  {
    name: 'a rotten %meta with an inline shard (file checksum mismatch)',
    size: INLINE_SIZE,
    shard: 'data',
    rot: (f) => flip(f, f.length >> 1),
    reason: null,
  },
];

function flip(file: Buffer, offset: number): Buffer {
  assert.ok(offset < file.length, 'rot offset inside the file');
  file[offset] ^= 0x80;
  return file;
}

for (const [k, m] of [
  [2, 1],
  [4, 2],
] as const) {
  describe(`${k}+${m} set: bitrot on disk is detected and healed`, () => {
    let pool: ErasurePool;
    let set: ErasureSet;
    let logs: string[];
    let close = async (): Promise<void> => undefined;

    before(async () => {
      // Reads must see the damaged bytes on disk, not a copy the metadata log cached when it wrote them.
      ({ pool, set, logs, close } = await openFaultyPool(k, m, `bitrot-${k}-${m}`, { cacheBytes: 0 }));
    });
    after(() => close());

    for (const [i, c] of ROT_CASES.entries()) {
      for (const via of c.reason === null ? ['healObject'] : ['read', 'healObject']) {
        it(`${c.name}, healed by ${via === 'read' ? 'the read' : 'healObject'}`, async () => {
          const key = `rot-${i}-${via}`;
          const data = bytes(c.size, `${k}+${m} ${key}`);
          await put(pool, key, data);
          const shard = c.shard === 'data' ? 0 : k;
          const p = shardHolders(set, key, shard + 1)[shard];
          const drive = driveAt(set, p);
          const meta = decodeMeta(await metaOf(drive, key));
          const { dataDir } = meta.versions[0];
          // A part file, or for an inline object the metadata bytes inside the drive's log record.
          const file = join(drive.endpoint, BUCKET, key, `%d.${dataDir}`, 'part.1');
          const record = c.size > INLINE_MAX ? null : await logRecord(drive, key);
          const original = record ? record.bytes : await readFile(file);
          const g = new Geometry(k, m, BLOCK, c.size);
          const rotten = c.rot(Buffer.from(original), g, dataDir);
          assert.ok(!rotten.equals(original), 'the bytes were damaged');
          if (record) await record.write(rotten);
          else if (rotten.length < original.length) await truncate(file, rotten.length);
          else await writeFile(file, rotten);

          logs.length = 0;
          if (via === 'read') {
            assertSameBytes(await get(pool, key), data, `${key} read with a rotten shard`);
            assert.deepEqual(
              reportedShards(logs, key, c.reason!),
              [shard],
              'the read reported the rotten shard',
            );
            await pool.drainHealQueue();
          } else {
            const r = await pool.healObject(BUCKET, key);
            assert.deepEqual(
              { ok: r.ok, healedDrives: r.healedDrives },
              { ok: true, healedDrives: [drive.endpoint] },
            );
          }

          if (c.size > INLINE_MAX) assertSameBytes(await readFile(file), original, `${file} rewritten`);
          else {
            const healed = await logRecord(drive, key); // the heal appended a new record
            const frame = decodeMeta(healed.bytes).inline.get(dataDir);
            assert.ok(frame, 'inline frame rewritten');
            assert.ok(checkShardHash(frame.subarray(HASH_SIZE), 0, frame), 'inline frame hash valid');
            assertSameBytes(frame, decodeMeta(original).inline.get(dataDir)!, 'inline frame');
          }
          const again = await pool.healObject(BUCKET, key);
          assert.deepEqual(
            { ok: again.ok, healedDrives: again.healedDrives },
            { ok: true, healedDrives: [] },
            'deep heal',
          );

          // Read from exactly k drives: the healed one and k - 1 others.
          const others = seq(0, k + m).filter((q) => q !== p);
          setMode(set, others.slice(k - 1), 'offline');
          try {
            assertSameBytes(await get(pool, key), data, `${key} from the healed drive and ${k - 1} others`);
          } finally {
            restoreAllDrives(set);
          }
        });
      }
    }
  });
}

// ----- 3. random sizes and ranges --------------------------------------------------------------------------------

const SEED = Number(process.env.ERASURE_FAULTS_SEED ?? randomInt(2 ** 31));
assert.ok(Number.isSafeInteger(SEED), 'ERASURE_FAULTS_SEED must be an integer');

/** Sizes, chunking and ranges drawn up front, so a seed always gives the same plan whatever tests are selected. */
function randomPlan(seed: number): { size: number; chunk: number; declared: boolean; ranges: ByteRange[] }[] {
  const rnd = seededRandom(seed);
  const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const sizes = [
    0,
    1,
    INLINE_MAX - 1,
    INLINE_MAX,
    INLINE_MAX + 1,
    BLOCK - 1,
    BLOCK,
    BLOCK + 1,
    2 * BLOCK - 1,
    2 * BLOCK + 1,
  ];
  sizes.push(
    between(2, INLINE_MAX),
    between(INLINE_MAX + 2, BLOCK),
    between(BLOCK + 2, 8 * MiB),
    between(8 * MiB, 20 * MiB),
    50 * MiB,
  );
  return sizes.map((size) => {
    const ranges: ByteRange[] = [];
    if (size > 0) {
      ranges.push({ start: 0, end: 0 }, { start: size - 1, end: size - 1 }, { start: 0, end: size - 1 });
      for (let b = BLOCK; b < size; b += BLOCK * Math.max(1, Math.floor(size / BLOCK / 3))) {
        ranges.push({ start: b - 1, end: b }); // across a block boundary
      }
      for (let i = 0; i < 4; i++) {
        const start = between(0, size - 1);
        const end = i % 2 === 0 ? between(start, size - 1) : Math.min(size - 1, start + between(0, 64 * KiB));
        ranges.push({ start, end });
      }
    }
    return { size, chunk: between(1, 256 * KiB), declared: rnd() < 0.5, ranges };
  });
}

describe(`4+2 set: random sizes and ranged reads (seed ${SEED}; rerun with ERASURE_FAULTS_SEED=${SEED})`, () => {
  let pool: ErasurePool;
  let set: ErasureSet;
  let close = async (): Promise<void> => undefined;

  before(async () => {
    ({ pool, set, close } = await openFaultyPool(4, 2, 'random'));
  });
  after(() => close());

  for (const [i, plan] of randomPlan(SEED).entries()) {
    const { size, chunk, declared, ranges } = plan;
    it(`${size} B in ${chunk} B chunks (${declared ? 'declared' : 'unknown'} length)`, async () => {
      const key = `random-${i}`;
      const data = bytes(size, `${SEED} ${i}`);
      const info = await pool.putObject(BUCKET, key, streamOf(data, chunk), declared ? { size } : {});
      assert.equal(info.size, size, `seed ${SEED}`);
      assert.equal(info.etag, createHash('md5').update(data).digest('hex'), `seed ${SEED}`);

      // Inline objects have no directory at all; every object's metadata is a record in each drive's metadata log.
      for (const p of seq(0, 6)) {
        const drive = driveAt(set, p);
        const entries = await readdir(join(drive.endpoint, BUCKET, key)).catch(() => [] as string[]);
        const dataDirs = entries.filter((e) => e.startsWith('%d.')).length;
        assert.equal(
          dataDirs,
          size > INLINE_MAX ? 1 : 0,
          `inline iff at most ${INLINE_MAX} B (seed ${SEED})`,
        );
        assert.equal(await metaPlace(drive, key), 'log', `d${p} (seed ${SEED})`);
      }

      assertSameBytes(await get(pool, key), data, `whole object (seed ${SEED})`);
      for (const r of ranges) {
        assertSameBytes(
          await get(pool, key, r),
          data.subarray(r.start, r.end + 1),
          `range ${r.start}-${r.end} (seed ${SEED})`,
        );
      }
      const invalid: ByteRange[] = [
        { start: 0, end: size },
        { start: size, end: size + 10 },
        { start: 1, end: 0 },
        { start: -1, end: 0 },
      ];
      for (const r of invalid) {
        await assert.rejects(get(pool, key, r), { code: 'InvalidRange' }, `range ${r.start}-${r.end}`);
      }
    });
  }
});
