/**
 * Healing one object, or a whole set, back to "every drive holds every found version, with verified shards".
 *
 * healObject, under the object's write lock: resolves the drives' metadata by quorum, verifies every shard frame of
 * every found version on every drive (deep: each bitrot hash is checked), rebuilds what is missing or corrupt from
 * k good shards, rewrites metadata files that are missing, stale, corrupt or carry crash leftovers (a drive with an
 * unreadable version page gets that page's versions back from the others), and deletes data directories and version
 * pages nothing references. Versions whose fate cannot be decided (drives offline) are left alone. A remote version
 * (data only in its tier) has no shards: its record alone is copied to drives that lack it, and the data dir its
 * local copy had (left by a crash during the release) is an orphan like any other.
 */
import { randomUUID } from 'node:crypto';
import { isStorageError } from './errors';
import { inlineOf, type ErasureSet } from './erasure-set';
import { BufferSource } from './erasure/sources';
import { checkShardHash, Geometry, HASH_SIZE, writeShardHash } from './erasure/codec';
import { BlockReader, type ShardSource } from './erasure/decoder';
import {
  DATA_DIR_PREFIX,
  dataDirName,
  objectPathComponents,
  partFileName,
  SYS_VOLUME,
  TMP_DIR,
} from './layout';
import type { MetaFile } from './meta/meta-file';
import { PAGE_FILE_PREFIX } from './meta/pages';
import type { ResolvedVersion } from './meta/quorum';
import type { FileReader, FileWriter } from './drive/drive';
import { hasDataDir, versionSignature } from './meta/version';
import type { HealResult, HealSetReport } from './object-layer';
import { walkSet } from './set-listing';
import { eachDrive, eachDriveQuiet } from './util/each-drive';

/** Heals one object. */
export async function healObject(set: ErasureSet, bucket: string, key: string): Promise<HealResult> {
  return set.locks.withWrite(`${bucket}/${key}`, async () => {
    const state = await set.state(bucket, key, { all: true });
    const { dir, metas, res } = state;
    const result: HealResult = {
      bucket,
      key,
      healedDrives: [],
      danglingRemoved: [],
      orphansRemoved: 0,
      ok: true,
    };
    const online = set.drives.map((d) => d !== null);
    const rebuiltInline = set.drives.map(() => new Map<string, Buffer>());
    const healed = new Set<number>();
    const holds: boolean[][] = [];

    for (const rv of res.versions) {
      const bad = await findBadShards(set, bucket, dir, rv, metas);
      const need = online.map((on, p) => on && (!rv.holders[p] || bad[p]));
      // A drive keeps a version's record unless it never had it: a shard that cannot be rebuilt now stays
      // referenced (the version must not lose a copy of its record because a heal failed).
      const hold = rv.holders.map((h, p) => h && online[p]);
      holds.push(hold);
      if (rv.version.type === 'delete-marker' || rv.version.remote) {
        need.forEach((n, p) => n && (hold[p] = true));
        continue;
      }
      if (!need.some(Boolean)) continue;
      try {
        let rebuilt: boolean[];
        if (rv.version.inline) {
          const frames = await rebuildInline(set, rv, metas, bad, need);
          frames.forEach((f, p) => f && rebuiltInline[p].set(rv.version.dataDir, f));
          rebuilt = rv.version.size === 0 ? [...need] : frames.map((f) => f !== null);
        } else {
          rebuilt = await rebuildParts(set, bucket, dir, rv, bad, need);
        }
        rebuilt.forEach((r, p) => {
          if (!r) return;
          hold[p] = true;
          healed.add(p);
        });
        if (rebuilt.some((r, p) => need[p] && !r)) {
          result.ok = false;
          result.error = 'some drives could not be written';
        }
      } catch (err) {
        result.ok = false;
        result.error = (err as Error).message;
        set.config.log('warn', `heal ${bucket}/${key} version ${rv.version.versionId}: ${result.error}`);
      }
    }

    // Metadata: every online drive gets the found versions it now holds, plus undecided ones it already had.
    await Promise.all(
      set.drives.map(async (d, p) => {
        if (!d) return;
        const want: MetaFile = { versions: [], inline: new Map() };
        res.versions.forEach((rv, i) => {
          if (!holds[i][p]) return;
          want.versions.push(rv.version);
          const frame = rebuiltInline[p].get(rv.version.dataDir) ?? inlineOf(metas[p], rv.version.dataDir);
          if (rv.version.inline && frame) want.inline.set(rv.version.dataDir, frame);
        });
        for (const u of res.undecided) {
          if (!u.holders[p]) continue;
          const own = (metas[p] as MetaFile).versions.find((v) => versionSignature(v) === u.signature);
          if (own) want.versions.push(own);
          const frame = inlineOf(metas[p], u.version.dataDir);
          if (frame) want.inline.set(u.version.dataDir, frame);
        }
        if (!healed.has(p) && sameMeta(metas[p], want)) return;
        const written = await set.writeMetas(bucket, state, onlyAt(set.n, p), () => want, { heal: true });
        if (written[p]) healed.add(p);
      }),
    );
    result.danglingRemoved = [...res.gone];

    // Orphaned data dirs (not referenced by any found or undecided version) and version pages (no head lists them:
    // a write that crashed between a page and its head, or a head heal replaced).
    const keep = new Set(
      [...res.versions, ...res.undecided].filter((r) => hasDataDir(r.version)).map((r) => r.version.dataDir),
    );
    await Promise.all(
      set.drives.map(async (d, p) => {
        if (!d) return;
        let names: string[];
        try {
          names = await d.list(bucket, dir);
        } catch {
          return;
        }
        const stored = state.stored[p];
        const listed = new Set(
          stored && !(stored instanceof Error) ? (stored.head.pages ?? []).map((r) => r.id) : [],
        );
        for (const name of names) {
          if (name.startsWith(PAGE_FILE_PREFIX)) {
            if (stored instanceof Error || listed.has(name.slice(PAGE_FILE_PREFIX.length))) continue;
            await d.delete(bucket, `${dir}/${name}`, { prune: true }).catch(() => undefined);
            result.orphansRemoved++;
            continue;
          }
          const bare = name.replace(/\/$/, '');
          if (!bare.startsWith(DATA_DIR_PREFIX) || keep.has(bare.slice(DATA_DIR_PREFIX.length))) continue;
          await set.deleteDataDir(bucket, dir, bare.slice(DATA_DIR_PREFIX.length), onlyAt(set.n, p));
          result.orphansRemoved++;
        }
      }),
    );
    if (res.versions.length > 0) {
      await set.writeNameFiles(
        bucket,
        objectPathComponents(key),
        set.drives.map((d) => d !== null),
      );
    }
    result.healedDrives = [...healed].sort((a, b) => a - b).map((p) => set.drives[p]!.endpoint);
    return result;
  });
}

/** A by-position mask with only position p set. */
function onlyAt(n: number, p: number): boolean[] {
  return Array.from({ length: n }, (_, i) => i === p);
}

/** True when a drive's metadata already equals what heal wants it to hold. */
function sameMeta(have: MetaFile | null | Error, want: MetaFile): boolean {
  if (have instanceof Error) return false;
  if (have === null) return want.versions.length === 0;
  if (have.versions.length !== want.versions.length) return false;
  return have.versions.every(
    (v, i) =>
      versionSignature(v) === versionSignature(want.versions[i]) && v.state === 'live' && !v.replacedBy,
  );
}

/** Deep check: which drives hold this version with a missing or corrupt shard frame. */
async function findBadShards(
  set: ErasureSet,
  bucket: string,
  dir: string,
  rv: ResolvedVersion,
  metas: (MetaFile | null | Error)[],
): Promise<boolean[]> {
  const v = rv.version;
  return Promise.all(
    set.drives.map(async (d, p) => {
      if (!d || !rv.holders[p] || v.type === 'delete-marker' || v.remote) return false;
      if (v.inline) {
        if (v.size === 0) return false;
        const frame = inlineOf(metas[p], v.dataDir);
        const g = new Geometry(v.erasure.k, v.erasure.m, v.erasure.blockSize, v.size);
        return (
          !frame ||
          frame.length !== HASH_SIZE + g.shardLen(0) ||
          !checkShardHash(frame.subarray(HASH_SIZE), 0, frame)
        );
      }
      for (const part of v.parts) {
        const g = new Geometry(v.erasure.k, v.erasure.m, v.erasure.blockSize, part.size);
        try {
          const r = await d.openFile(bucket, `${dir}/${dataDirName(v.dataDir)}/${partFileName(part.number)}`);
          try {
            const hash = Buffer.allocUnsafe(HASH_SIZE);
            const shard = Buffer.allocUnsafe(g.fullShard);
            for (let b = 0; b < g.blocks; b++) {
              const view = shard.subarray(0, g.shardLen(b));
              const n = await r.readv([hash, view], g.frameOffset(b));
              if (n !== HASH_SIZE + view.length || !checkShardHash(view, b, hash)) return true;
            }
          } finally {
            await r.close();
          }
        } catch (err) {
          if (isStorageError(err, 'FileNotFound', 'DriveFaulty', 'FileCorrupt')) return true;
          throw err;
        }
      }
      return false;
    }),
  );
}

/** Rebuilds inline frames for the drives in `need`. */
async function rebuildInline(
  set: ErasureSet,
  rv: ResolvedVersion,
  metas: (MetaFile | null | Error)[],
  bad: boolean[],
  need: boolean[],
): Promise<(Buffer | null)[]> {
  const v = rv.version;
  if (v.size === 0) return need.map(() => null);
  const sources: (ShardSource | null)[] = new Array<ShardSource | null>(set.n).fill(null);
  v.erasure.distribution.forEach((s, p) => {
    const frame = rv.holders[p] && !bad[p] ? inlineOf(metas[p], v.dataDir) : undefined;
    if (frame) sources[s] = new BufferSource(frame);
  });
  const g = new Geometry(v.erasure.k, v.erasure.m, v.erasure.blockSize, v.size);
  const { data, parity, shard } = await new BlockReader({ geometry: g, sources }).readBlock(0, true);
  return need.map((n, p) =>
    n ? frameOf(v.erasure.distribution[p], v.erasure.k, data, parity, shard, 0) : null,
  );
}

/** Rebuilds every part's shard file on the drives in `need`, staged in tmp and renamed over the old files. */
async function rebuildParts(
  set: ErasureSet,
  bucket: string,
  dir: string,
  rv: ResolvedVersion,
  bad: boolean[],
  need: boolean[],
): Promise<boolean[]> {
  const v = rv.version;
  const stageId = randomUUID();
  const ok = [...need];
  try {
    for (const part of v.parts) {
      const g = new Geometry(v.erasure.k, v.erasure.m, v.erasure.blockSize, part.size);
      const file = `${dir}/${dataDirName(v.dataDir)}/${partFileName(part.number)}`;
      const staged = `${TMP_DIR}/${stageId}/${partFileName(part.number)}`;
      const sources: (ShardSource | null)[] = new Array<ShardSource | null>(set.n).fill(null);
      const readers: FileReader[] = [];
      const writers: (FileWriter | null)[] = new Array<FileWriter | null>(set.n).fill(null);
      try {
        await eachDrive(set.drives, async (d, p) => {
          if (rv.holders[p] && !bad[p]) {
            try {
              const r = await d.openFile(bucket, file);
              readers.push(r);
              sources[v.erasure.distribution[p]] = r;
            } catch {
              // unreadable: the other shards cover it
            }
          }
          if (ok[p]) {
            try {
              writers[p] = await d.createFile(SYS_VOLUME, staged);
            } catch {
              ok[p] = false; // this target stays unhealed; the others still get their shards
            }
          }
        });
        const reader = new BlockReader({ geometry: g, sources });
        for (let b = 0; b < g.blocks; b++) {
          const { data, parity, shard } = await reader.readBlock(b, true);
          await Promise.all(
            writers.map(async (w, p) => {
              if (!w || !ok[p]) return;
              const frame = frameOf(v.erasure.distribution[p], v.erasure.k, data, parity, shard, b);
              await w.write([frame], g.frameOffset(b)).catch(() => (ok[p] = false));
            }),
          );
        }
        await Promise.all(
          writers.map(async (w, p) => (w && ok[p] ? w.close().catch(() => (ok[p] = false)) : undefined)),
        );
        await eachDrive(set.drives, async (d, p) => {
          if (ok[p]) await d.rename(SYS_VOLUME, staged, bucket, file).catch(() => (ok[p] = false));
        });
      } finally {
        await Promise.all(writers.map(async (w, p) => (w && !ok[p] ? w.abort() : undefined)));
        await Promise.all(readers.map((r) => r.close().catch(() => undefined)));
      }
    }
  } finally {
    await eachDriveQuiet(set.drives, (d) =>
      d.delete(SYS_VOLUME, `${TMP_DIR}/${stageId}`, { recursive: true }),
    );
  }
  return ok;
}

/** The bitrot frame (hash + shard) of shard index s of block `block`, from the decoded block. */
function frameOf(s: number, k: number, data: Buffer, parity: Buffer, shard: number, block: number): Buffer {
  const view =
    s < k ? data.subarray(s * shard, (s + 1) * shard) : parity.subarray((s - k) * shard, (s - k + 1) * shard);
  const frame = Buffer.allocUnsafe(HASH_SIZE + shard);
  view.copy(frame, HASH_SIZE);
  writeShardHash(view, block, frame, 0);
  return frame;
}

/** Heals every object of every bucket in a set (whose volumes the caller made on every drive). */
export async function healSet(set: ErasureSet, buckets: string[]): Promise<HealSetReport> {
  const report: HealSetReport = {
    setIndex: set.config.index,
    objectsScanned: 0,
    objectsHealed: 0,
    failures: [],
  };
  for (const bucket of buckets) {
    for await (const entry of walkSet(set, bucket, { recursive: true }, 1)) {
      report.objectsScanned++;
      try {
        const r = await healObject(set, bucket, entry.key);
        if (r.healedDrives.length > 0 || r.danglingRemoved.length > 0 || r.orphansRemoved > 0)
          report.objectsHealed++;
        if (!r.ok) report.failures.push({ bucket, key: entry.key, error: r.error ?? 'heal incomplete' });
      } catch (err) {
        report.failures.push({ bucket, key: entry.key, error: (err as Error).message });
      }
    }
  }
  return report;
}
