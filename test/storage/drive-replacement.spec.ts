/**
 * Drive identity and replacement (DESIGN.md §2: "swapped or foreign drives are detected at boot"; "a background
 * healer rebuilds replaced drives").
 *
 * A wiped drive is taken as a replacement, formatted into its old position and healed until it holds every
 * object's metadata and shard again, byte for byte as before, so reads succeed with two other drives offline. A
 * drive of another deployment is refused and left untouched; drives whose paths were swapped in the configuration
 * keep their positions.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { Drive } from '../../src/storage/drive/drive';
import { LocalDrive } from '../../src/storage/drive/local-drive';
import { Geometry } from '../../src/storage/erasure/codec';
import { dataDirName, FORMAT_FILE, objectDir, partFileName, SYS_VOLUME } from '../../src/storage/layout';
import { HEALING_FILE } from '../../src/storage/format';
import { decodeMeta, type MetaFile } from '../../src/storage/meta/meta-file';
import { versionSignature } from '../../src/storage/meta/version';
import type { ErasurePool } from '../../src/storage/pool';
import type { FaultyDrive } from '../fixtures/faulty-drive';
import { randomInt, seededRandom } from '../fixtures/prng';
import { seededBytes } from '../fixtures/seeded';
import { faultyPool, readAll, streamOf, tempDrives } from '../fixtures/temp-drives';

const BUCKET = 'replace';
const KiB = 1024;
const MiB = 1024 * KiB;

type LogLine = { level: string; message: string };

/** Test objects: mostly inline (1-20 KiB), plus `large` multi-block ones (1-3 MiB). */
function makeObjects(seed: number, count: number, large: number): Map<string, Buffer> {
  const rand = seededRandom(seed);
  const objects = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const big = i % Math.floor(count / large) === 0;
    const size = big ? randomInt(rand, 1 * MiB + 1, 3 * MiB) : randomInt(rand, 1 * KiB, 20 * KiB);
    const key = `${big ? 'large' : 'small'}/${String(i % 10)}/object-${String(i).padStart(4, '0')}`;
    objects.set(key, seededBytes(randomInt(rand, 1, 2 ** 31), size));
  }
  return objects;
}

function inlineCount(objects: Map<string, Buffer>): number {
  return [...objects.values()].filter((b) => b.length <= 128 * KiB).length;
}

/** Runs `fn` over `items`, `concurrency` at a time. */
async function forEachLimit<T>(
  items: Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await fn(next);
    }),
  );
}

async function putAll(pool: ErasurePool, objects: Map<string, Buffer>): Promise<void> {
  await forEachLimit(objects, 32, async ([key, data]) => {
    await pool.putObject(BUCKET, key, streamOf(data), { size: data.length });
  });
}

/** A drive's metadata for a key, wherever the drive keeps it (a %meta file, or its metadata log for inline objects). */
async function readMeta(drive: Drive, key: string): Promise<MetaFile> {
  const raw = await drive.readMeta(BUCKET, objectDir(key));
  assert.ok(raw, `${key}: metadata on ${drive.endpoint}`);
  return decodeMeta(raw);
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under a directory with its content hash, to prove a drive was not touched. */
async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const full = join(e.parentPath, e.name);
    out[relative(root, full)] = e.isFile() ? sha256(await readFile(full)) : 'dir';
  }
  return out;
}

/** The shard a drive holds for one object: its version signature and the bytes of its inline frame or part file. */
async function shardOf(
  drive: Drive,
  key: string,
): Promise<{ signature: string; shard: string; size: number }> {
  const root = drive.endpoint;
  const meta = await readMeta(drive, key);
  assert.equal(meta.versions.length, 1, `${key}: one version on ${root}`);
  const v = meta.versions[0];
  if (v.inline) {
    const frame = meta.inline.get(v.dataDir);
    assert.ok(frame, `${key}: inline frame on ${root}`);
    return { signature: versionSignature(v), shard: sha256(frame), size: frame.length };
  }
  const part = await readFile(join(root, BUCKET, objectDir(key), dataDirName(v.dataDir), partFileName(1)));
  return { signature: versionSignature(v), shard: sha256(part), size: part.length };
}

/** `promise`, or a rejection naming `what` if it takes over `ms` (a guard against hanging, not a timing check). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end after ${ms}ms`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves with the outcome once the heal the pool started at boot for its replaced drives has finished. */
function bootHealWatcher(): {
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  lines: LogLine[];
  done: Promise<string>;
} {
  const lines: LogLine[] = [];
  let finish: (message: string) => void = () => undefined;
  const done = new Promise<string>((r) => (finish = r));
  const log = (level: string, message: string): void => {
    lines.push({ level, message });
    if (/replaced drives healed|heal of replaced drives finished|heal failed/.test(message)) finish(message);
  };
  return { log, lines, done };
}

describe('drive replacement and identity', { timeout: 110_000 }, () => {
  it('heals a wiped drive back to every object, readable with two other drives offline', async () => {
    const objects = makeObjects(1, 1000, 20);
    const inline = inlineCount(objects);
    assert.equal(objects.size - inline, 20, 'twenty multi-block objects');
    const { paths, cleanup } = tempDrives(6, 'replace');
    const wiped = 2;
    let reopened: Promise<unknown> = Promise.resolve();
    try {
      const first = await faultyPool(paths, { parity: 2 });
      try {
        await first.pool.makeBucket(BUCKET);
        await putAll(first.pool, objects);
      } finally {
        await first.pool.shutdown();
      }
      const before = new Map<string, { signature: string; shard: string; size: number }>();
      const lost = new LocalDrive(paths[wiped], false); // the pool is shut down: nobody else writes this drive
      try {
        await forEachLimit(objects.keys(), 16, async (key) => void before.set(key, await shardOf(lost, key)));
      } finally {
        await lost.close();
      }
      const formatBefore = JSON.parse(
        await readFile(join(paths[wiped], SYS_VOLUME, FORMAT_FILE), 'utf8'),
      ) as object;

      for (const entry of await readdir(paths[wiped]))
        await rm(join(paths[wiped], entry), { recursive: true });
      const watch = bootHealWatcher();
      const { pool, drives } = await faultyPool(paths, { parity: 2, log: watch.log });
      try {
        const formatAfter = JSON.parse(
          await readFile(join(paths[wiped], SYS_VOLUME, FORMAT_FILE), 'utf8'),
        ) as object;
        assert.deepEqual(
          formatAfter,
          formatBefore,
          'the empty drive is formatted with the identity of its position',
        );
        assert.ok(
          watch.lines.some(
            (l) => l.message.includes(`${resolve(paths[wiped])} is new`) && l.message.includes('healing'),
          ),
          `the empty drive is queued for healing: ${JSON.stringify(watch.lines)}`,
        );
        reopened = watch.done;

        const outcome = await within(watch.done, 60_000, 'the boot-time heal');
        assert.match(outcome, /replaced drives healed/, 'the boot-time heal of the new drive succeeded');
        const [report] = await pool.healAll({ setIndex: 0 });
        assert.deepEqual(report.failures, []);
        assert.equal(report.objectsScanned, objects.size);
        assert.equal(report.objectsHealed, 0, 'the boot-time heal left nothing to heal');
        const status = await pool.status();
        assert.equal(status.sets[0].drives[wiped].state, 'ok');
        await assert.rejects(stat(join(paths[wiped], SYS_VOLUME, HEALING_FILE)), { code: 'ENOENT' });

        await forEachLimit(objects, 16, async ([key, data]) => {
          const healed = await shardOf(drives[wiped], key);
          assert.deepEqual(healed, before.get(key), `${key}: the rebuilt shard equals the lost one`);
          const meta = await readMeta(drives[wiped], key);
          const v = meta.versions[0];
          const expectedSize = new Geometry(
            v.erasure.k,
            v.erasure.m,
            v.erasure.blockSize,
            data.length,
          ).shardFileSize();
          assert.equal(healed.size, expectedSize, `${key}: shard size`);
          assert.equal(v.inline, data.length <= 128 * KiB, `${key}: inline`);
          for (const [p, drive] of drives.entries()) {
            if (p === wiped) continue;
            const other = await readMeta(drive, key);
            assert.deepEqual(
              other.versions.map(versionSignature),
              [healed.signature],
              `${key}: d${p} agrees with d${wiped}`,
            );
          }
        });

        // Any two other drives offline: the four left include the healed one, whose shards must decode.
        const others = paths.map((_, p) => p).filter((p) => p !== wiped);
        const pairs = others.flatMap((a, i) => others.slice(i + 1).map((b) => [a, b]));
        let i = 0;
        for (const [key, data] of objects) {
          const [a, b] = pairs[i++ % pairs.length];
          drives[a].mode = 'offline';
          drives[b].mode = 'offline';
          try {
            const got = await readAll((await pool.getObject(BUCKET, key)).stream);
            assert.ok(got.equals(data), `${key}: reads back with d${a} and d${b} offline`);
          } finally {
            drives[a].mode = 'ok';
            drives[b].mode = 'ok';
          }
        }
      } finally {
        await pool.shutdown();
      }
    } finally {
      // Never remove the drives under a heal that is still running.
      await within(reopened, 60_000, 'the boot-time heal').catch(() => undefined);
      cleanup();
    }
  });

  it('refuses a drive of another deployment and leaves it untouched', async () => {
    const a = tempDrives(6, 'deploy-a');
    const b = tempDrives(6, 'deploy-b');
    try {
      const data = seededBytes(7, 2 * MiB);
      for (const set of [a, b]) {
        const { pool } = await faultyPool(set.paths, { parity: 2 });
        await pool.makeBucket(BUCKET);
        await pool.putObject(BUCKET, 'object', streamOf(data), { size: data.length });
        await pool.shutdown();
      }
      const foreign = b.paths[4];
      const foreignBefore = await treeOf(foreign);
      const mixed = [...a.paths];
      mixed[4] = foreign;

      const lines: LogLine[] = [];
      const { pool } = await faultyPool(mixed, {
        parity: 2,
        log: (level, message) => lines.push({ level, message }),
      });
      try {
        const status = await pool.status();
        const deploymentA = (
          JSON.parse(await readFile(join(a.paths[0], SYS_VOLUME, FORMAT_FILE), 'utf8')) as {
            deploymentId: string;
          }
        ).deploymentId;
        assert.equal(status.deploymentId, deploymentA);
        assert.deepEqual(
          status.sets[0].drives.map((d) => d.state),
          ['ok', 'ok', 'ok', 'ok', 'offline', 'ok'],
          'the foreign drive takes no position',
        );
        assert.ok(
          lines.some((l) => l.level === 'error' && l.message.includes(resolve(foreign))),
          `the refusal is logged: ${JSON.stringify(lines)}`,
        );
        assert.ok((await readAll((await pool.getObject(BUCKET, 'object')).stream)).equals(data));
        await pool.putObject(BUCKET, 'written-meanwhile', streamOf(data), { size: data.length });
        await pool.healAll();
      } finally {
        await pool.shutdown();
      }
      assert.deepEqual(await treeOf(foreign), foreignBefore, 'the foreign drive was not written');

      const back = await faultyPool(b.paths, { parity: 2 });
      try {
        assert.ok((await readAll((await back.pool.getObject(BUCKET, 'object')).stream)).equals(data));
      } finally {
        await back.pool.shutdown();
      }
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  it('places drives whose paths were swapped in the configuration by their identity', async () => {
    const { paths, cleanup } = tempDrives(6, 'swap');
    try {
      const objects = makeObjects(11, 40, 4);
      const first = await faultyPool(paths, { parity: 2 });
      try {
        await first.pool.makeBucket(BUCKET);
        await putAll(first.pool, objects);
      } finally {
        await first.pool.shutdown();
      }
      const formats = await Promise.all(paths.map((p) => readFile(join(p, SYS_VOLUME, FORMAT_FILE))));
      const swapped = [...paths];
      [swapped[1], swapped[4]] = [swapped[4], swapped[1]];

      const { pool, drives } = await faultyPool(swapped, { parity: 2 });
      try {
        const status = await pool.status();
        assert.deepEqual(
          status.sets[0].drives.map((d) => [d.endpoint, d.state]),
          paths.map((p) => [resolve(p), 'ok']),
          'every drive is back in its original position',
        );
        // With two unswapped drives offline, every read needs the shards of both swapped drives.
        const byPath = (p: string): FaultyDrive => drives[swapped.indexOf(p)];
        byPath(paths[0]).mode = 'offline';
        byPath(paths[3]).mode = 'offline';
        for (const [key, data] of objects) {
          assert.ok(
            (await readAll((await pool.getObject(BUCKET, key)).stream)).equals(data),
            `${key} reads back`,
          );
        }
      } finally {
        await pool.shutdown();
      }
      const after = await Promise.all(paths.map((p) => readFile(join(p, SYS_VOLUME, FORMAT_FILE))));
      after.forEach((f, p) => assert.ok(f.equals(formats[p]), `d${p}: format file unchanged`));
    } finally {
      cleanup();
    }
  });
});
