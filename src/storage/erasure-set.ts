/**
 * An erasure set: n = k + m drives that store each of their objects as k data + m parity shards.
 *
 * Write protocol (crash-safe at every step; see meta/quorum.ts for how any partial state resolves):
 *   0. stage   - shards are streamed to `.tiergate.sys/tmp/<stage>/data/` on every drive, no lock held;
 *   1. place   - under the object's write lock, each drive renames the staged data dir into the object directory;
 *                fewer than writeQuorum placements → roll back, WriteQuorum;
 *   2. commit  - each drive atomically replaces its metadata file: the new version live, any version it replaces
 *                kept as `pending-delete` with its data; fewer than writeQuorum → roll back, WriteQuorum.
 *                Reaching writeQuorum here is the acknowledgement point;
 *   3. cleanup - replaced versions are dropped from the metadata and their data dirs deleted.
 * writeQuorum is k, or k + 1 when k == m (so two halves can never both commit). Reads need k agreeing drives.
 */
import { hash as hashOnce, randomUUID } from 'node:crypto';
import { xxh64 } from '@node-rs/xxhash';
import type { Drive } from './drive/drive';
import { isStorageError, storageError } from './errors';
import { encodeInline, encodeStream, type ShardSink } from './erasure/encoder';
import { eachDriveQuiet } from './util/each-drive';
import type { Md5Hasher } from '../common/md5-hasher';
import {
  dataDirName,
  joinRel,
  NAME_FILE,
  objectPathComponents,
  SYS_VOLUME,
  type PathComponent,
} from './layout';
import { decodeMetaSharing, type MetaFile, type SharedDecode } from './meta/meta-file';
import { type MetaScope, type Position, type StoredMeta } from './meta/pages';
import { compareVersions, type DriveMeta, type Resolution, type ResolvedVersion } from './meta/quorum';
import { versionSignature, type ObjectVersion } from './meta/version';
import { objectLocks, type ClusterLock, type ObjectLocks } from './object-locks';
import { toObjectInfo } from './object-info';
import type { ObjectInfo, PutObjectOptions } from './object-layer';
import { hasDataDir, resolveHeads, writeObjectMetas, type MetaWant, type WriteMetaOpts } from './set-meta';
import { Stage } from './stage';
import { peekStream } from './util/peek-stream';

/** Settings of one set. */
export interface SetConfig {
  index: number;
  /** Drives by position; null where a drive is offline at boot. */
  drives: (Drive | null)[];
  parity: number;
  blockSize: number;
  inlineThreshold: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Asks for an object to be healed in the background (deduplicated by the caller). */
  requestHeal: (bucket: string, key: string) => void;
  /** Off-thread MD5 for streamed bodies. */
  md5: Md5Hasher;
  /** Cluster-wide exclusive lock (other nodes write to these drives too); none in a single node. */
  clusterLock?: ClusterLock;
}

/** Result of reading and resolving one object's metadata. */
export interface ObjectState {
  key: string;
  dir: string;
  /** The key's on-disk path components (dir joins their names). */
  components: PathComponent[];
  /** Each drive's head as read (null: none; Error: unreadable). */
  heads: DriveMeta[];
  /** Each drive's in-scope versions, from its head and the pages read: what `res` resolved. */
  metas: DriveMeta[];
  res: Resolution;
  /** Which versions this state resolved (meta/pages.ts); versions out of scope are left as they are. */
  scope: MetaScope;
  /** What each drive stores (head and pages read), kept current by writeMetas. */
  stored: (StoredMeta | null | Error)[];
  /** The newest version in any drive's pages: new versions must be newer. */
  horizon?: Position;
}

/** How a commit gets the new version's data onto the drives. */
export interface CommitData {
  /** Streamed data staged under tmp (non-inline versions). */
  stage?: Stage;
  /** Inline shard frames by drive position (inline versions); null where a drive cannot take it. */
  inline?: (Buffer | null)[];
  /** The new record reuses the data of the version it replaces (metadata-only update). */
  reuse?: boolean;
  /**
   * The new record has no local data (a release to a cloud tier, set-remote.ts): it goes to the drives holding the
   * version it replaces, and that version's shards go only once it has write quorum (phase 3).
   */
  remote?: boolean;
}

/** What a commit did. */
export interface Committed {
  /** The version written, as callers see it. */
  info: ObjectInfo;
  /** The version with the same id it replaced and dropped (an overwritten `null` version), if any. */
  replaced?: ObjectVersion;
}

/** An edit of one drive's metadata (see ErasureSet.metaFor). */
export interface MetaEdit {
  /** Mark this version pending-delete, replaced by `replacedBy` (omit for a plain delete). */
  pending?: { signature: string; replacedBy?: string };
  /** Leave this version out. */
  drop?: string;
  /** Add this version (with this drive's inline frame). */
  add?: { version: ObjectVersion; inline?: Buffer };
}

/** One erasure set. */
export class ErasureSet {
  readonly n: number;
  readonly k: number;
  readonly m: number;
  readonly writeQuorum: number;
  readonly locks: ObjectLocks;
  readonly drives: (Drive | null)[];
  private readonly dataRefs = new Map<string, number>();
  private readonly deferredDeletes = new Map<string, () => Promise<void>>();
  /** See pendingCopy (weak: a resolution lives for one operation). */
  private readonly pendingCopies = new WeakMap<ResolvedVersion, ObjectVersion>();

  constructor(readonly config: SetConfig) {
    this.drives = config.drives;
    this.locks = objectLocks(config.clusterLock, 'object');
    this.n = config.drives.length;
    this.m = config.parity;
    this.k = this.n - this.m;
    this.writeQuorum = this.k === this.m ? this.k + 1 : this.k;
  }

  /** distribution[position] = shard index, rotated by a hash of the key to spread parity over the drives. */
  distribution(key: string): number[] {
    const start = Number(xxh64(key) % BigInt(this.n));
    return Array.from({ length: this.n }, (_, p) => (p + start) % this.n);
  }

  /**
   * Reads every drive's metadata file for an object directory (decoded by the drive where it still holds its own
   * write decoded, see Drive.readMetaDecoded).
   */
  async readMetas(bucket: string, dir: string): Promise<DriveMeta[]> {
    const raw = await Promise.all(
      this.drives.map(async (d): Promise<Buffer | DriveMeta> => {
        if (!d) return storageError('DriveOffline', 'drive offline');
        try {
          return await (d.readMetaDecoded ? d.readMetaDecoded(bucket, dir) : d.readMeta(bucket, dir));
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
    const seen: SharedDecode[] = [];
    return raw.map((r) => {
      if (!Buffer.isBuffer(r)) return r;
      try {
        return decodeMetaSharing(r, seen);
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    });
  }

  /**
   * Reads and resolves an object's metadata: the latest version and the versions `want` names, or every version
   * (caller holds a lock when it acts on the result).
   */
  async state(bucket: string, key: string, want: MetaWant = {}): Promise<ObjectState> {
    const components = objectPathComponents(key);
    const dir = components.map((c) => c.name).join('/');
    return resolveHeads(this, bucket, key, await this.readMetas(bucket, dir), want);
  }

  /** True when the answering drives prove an object (or version) absent. */
  private provesAbsence(res: Resolution): boolean {
    return res.answered > this.n - this.writeQuorum;
  }

  /** Picks a version (latest when no id), or throws ObjectNotFound / VersionNotFound / ReadQuorum. */
  pick(res: Resolution, versionId?: string): ResolvedVersion {
    if (versionId !== undefined) {
      const found = res.versions.find((r) => r.version.versionId === versionId);
      if (found) return found;
      if (res.undecided.some((r) => r.version.versionId === versionId) || !this.provesAbsence(res)) {
        throw storageError('ReadQuorum', 'not enough drives agree on this version');
      }
      throw storageError('VersionNotFound', 'the specified version does not exist');
    }
    const newest = res.versions[0];
    if (res.undecided.some((u) => !newest || compareVersions(u.version, newest.version) < 0)) {
      throw storageError('ReadQuorum', 'not enough drives agree on the latest version');
    }
    if (newest) return newest;
    if (!this.provesAbsence(res)) throw storageError('ReadQuorum', 'not enough drives answered');
    throw storageError('ObjectNotFound', 'the specified key does not exist');
  }

  /** Stages and commits a new version (`versionId`; an existing version with that id is replaced) from a stream. */
  async putObject(
    bucket: string,
    key: string,
    body: AsyncIterable<Buffer>,
    opts: PutObjectOptions,
    versionId: string,
  ): Promise<Committed> {
    objectPathComponents(key); // validate before reading a byte
    const dist = this.distribution(key);
    const { k, m } = this;
    const { blockSize, inlineThreshold } = this.config;
    const declared = opts.size ?? -1;
    const peeked = declared > inlineThreshold ? null : await peekStream(body, inlineThreshold);
    let version: ObjectVersion;
    let data: CommitData;
    if (peeked && peeked.ended) {
      if (declared >= 0 && peeked.head.length !== declared) {
        throw storageError(
          'IncompleteBody',
          `request body ended after ${peeked.head.length} of ${declared} bytes`,
        );
      }
      const streams = await encodeInline(peeked.head, k, m, blockSize);
      data = { inline: dist.map((s) => streams[s]) };
      const etag = hashOnce('md5', peeked.head, 'hex');
      version = this.newVersion(opts, versionId, dist, peeked.head.length, etag, true);
    } else {
      const source = peeked ? peeked.stream : body;
      const stage = await Stage.create(this.drives, bucket, key);
      const hash = this.config.md5.open();
      try {
        const byPosition = await stage.openPart(1);
        const sinks: (ShardSink | null)[] = new Array<ShardSink | null>(this.n).fill(null);
        dist.forEach((s, p) => (sinks[s] = byPosition[p]));
        const { size } = await encodeStream(source, {
          k,
          m,
          blockSize,
          sinks,
          writeQuorum: this.writeQuorum,
          md5: hash,
          expectedSize: declared,
        });
        await stage.closePart();
        if (stage.okCount < this.writeQuorum) {
          throw storageError(
            'WriteQuorum',
            `only ${stage.okCount} drives stored the data, need ${this.writeQuorum}`,
          );
        }
        version = this.newVersion(opts, versionId, dist, size, await hash.digest(), false);
      } catch (err) {
        hash.drop();
        await stage.discard();
        throw err;
      }
      data = { stage };
    }
    if (opts.expectedMd5 !== undefined && opts.expectedMd5.toLowerCase() !== version.etag) {
      await data.stage?.discard();
      throw storageError('BadDigest', 'the Content-MD5 you specified did not match what we received');
    }
    return this.commit(bucket, key, version, data, (current) => checkPreconditions(current, opts));
  }

  /** A fresh version record (modTime is set at commit). */
  newVersion(
    opts: PutObjectOptions,
    versionId: string,
    distribution: number[],
    size: number,
    etag: string,
    inline: boolean,
  ): ObjectVersion {
    return {
      versionId,
      type: 'object',
      state: 'live',
      modTime: 0,
      size,
      etag,
      contentType: opts.contentType,
      contentEncoding: opts.contentEncoding,
      contentDisposition: opts.contentDisposition,
      contentLanguage: opts.contentLanguage,
      cacheControl: opts.cacheControl,
      expires: opts.expires,
      userMetadata: opts.userMetadata ?? {},
      tags: opts.tags ?? {},
      checksums: opts.checksums ?? {},
      storageClass: opts.storageClass ?? 'STANDARD',
      erasure: { k: this.k, m: this.m, blockSize: this.config.blockSize, distribution },
      dataDir: randomUUID(),
      inline,
      parts: [{ number: 1, size, etag }],
    };
  }

  /**
   * Places and commits a new `version` (see the protocol at the top of this file); a version with the same id is
   * replaced. `check` runs under the lock against the current latest version (preconditions).
   */
  async commit(
    bucket: string,
    key: string,
    version: ObjectVersion,
    data: CommitData,
    check?: (current: ObjectVersion | undefined) => void,
  ): Promise<Committed> {
    try {
      return await this.locks.withWrite(`${bucket}/${key}`, async () => {
        const state = await this.state(bucket, key, { ids: [version.versionId] });
        const latest = this.latestOrUndefined(state.res);
        check?.(latest?.version);
        version.modTime = Math.max(
          Date.now(),
          (latest?.version.modTime ?? 0) + 1,
          (state.horizon?.[0] ?? 0) + 1,
        );
        const replaced = await this.commitLocked(bucket, state, version, data);
        // modTime is above every existing version's, so the new version is the latest.
        return { info: toObjectInfo(bucket, key, version, true), replaced };
      });
    } finally {
      await data.stage?.discard();
    }
  }

  /**
   * The commit itself; the caller holds the object's write lock and read `state` under it. Returns the version
   * with the same id that the new record replaced (now dropped), if any.
   */
  async commitLocked(
    bucket: string,
    state: ObjectState,
    version: ObjectVersion,
    data: CommitData,
  ): Promise<ObjectVersion | undefined> {
    const { key, dir, components, metas, res } = state;
    const sig = versionSignature(version);
    const replaced = res.versions.find((r) => r.version.versionId === version.versionId);
    if (replaced?.signature === sig) return undefined; // identical record: nothing to do

    // Phase 1: data into place.
    const placed = await this.place(bucket, dir, version, data, replaced);
    if (placed.filter(Boolean).length < this.writeQuorum) {
      await this.removeData(bucket, dir, version, placed, data);
      throw storageError(
        'WriteQuorum',
        `data placed on ${placed.filter(Boolean).length} drives, need ${this.writeQuorum}`,
      );
    }

    // Phase 2: metadata. The replaced version stays, pending-delete, until this commit has quorum.
    const newInline = (p: number): Buffer | undefined =>
      data.inline?.[p] ?? (data.reuse && replaced ? inlineOf(metas[p], replaced.version.dataDir) : undefined);
    const committed = await this.writeMetas(bucket, state, placed, (p) =>
      this.metaFor(res, metas, p, {
        pending: replaced ? { signature: replaced.signature, replacedBy: sig } : undefined,
        add: { version, inline: newInline(p) },
      }),
    );
    if (committed.filter(Boolean).length < this.writeQuorum) {
      await this.writeMetas(bucket, state, committed, (p) => this.metaFor(res, metas, p));
      await this.removeData(bucket, dir, version, placed, data);
      throw storageError(
        'WriteQuorum',
        `metadata committed on ${committed.filter(Boolean).length} drives, need ${this.writeQuorum}`,
      );
    }

    // Long segments' directories get their name files only now that they hold our metadata: a concurrent prune
    // of an emptied hashed directory can then no longer take the name away (see LocalDrive.prune). Objects with no
    // data directory live in the drives' metadata logs, which keep the key itself: no directory, no name file.
    if (hasDataDir(version) || res.versions.some((r) => hasDataDir(r.version))) {
      await this.writeNameFiles(bucket, components, committed);
    }

    // Acknowledged. Phase 3: drop what the new version replaced (a replaced inline version's shard frames go with
    // its record; its data dir, a released version's too, only once those metadata writes are done).
    if (replaced) {
      await this.writeMetas(bucket, state, committed, (p) =>
        this.metaFor(res, metas, p, { drop: replaced.signature, add: { version, inline: newInline(p) } }),
      );
      if (hasDataDir(replaced.version) && replaced.version.dataDir !== version.dataDir) {
        await this.deleteDataDir(bucket, dir, replaced.version.dataDir, committed);
      }
    }
    if (committed.some((c, p) => !c && this.drives[p] !== null) || res.inconsistent) {
      this.config.requestHeal(bucket, key);
    }
    return replaced?.version;
  }

  private latestOrUndefined(res: Resolution): ResolvedVersion | undefined {
    // A new key (no versions, nothing undecided, absence proven) is the common case: no exception for it.
    if (res.versions.length === 0 && res.undecided.length === 0 && this.provesAbsence(res)) return undefined;
    try {
      return this.pick(res);
    } catch (err) {
      if (isStorageError(err, 'ObjectNotFound')) return undefined;
      throw err;
    }
  }

  /**
   * The metadata drive p should hold: the found versions it already has, in their committed form, with one
   * version marked pending-delete, one dropped and one added as asked. Versions p does not hold are left out:
   * a drive never claims data it lacks (heal copies it there).
   */
  metaFor(res: Resolution, metas: DriveMeta[], p: number, edit: MetaEdit = {}): MetaFile {
    const own = metas[p];
    const out: MetaFile = { versions: [], inline: new Map() };
    for (const r of res.versions) {
      if (!r.holders[p] || r.signature === edit.drop) continue;
      const pending = edit.pending && r.signature === edit.pending.signature;
      out.versions.push(pending ? this.pendingCopy(r, edit.pending!.replacedBy) : r.version);
      const inline = inlineOf(own, r.version.dataDir);
      if (inline) out.inline.set(r.version.dataDir, inline);
    }
    if (edit.add) {
      out.versions.push(edit.add.version);
      if (edit.add.inline) out.inline.set(edit.add.version.dataDir, edit.add.inline);
    }
    out.versions.sort(compareVersions);
    return out;
  }

  /**
   * `r` marked pending-delete, the same record object for every drive of a write (metaFor runs once per drive):
   * the drives' metadata then share one JSON encoding instead of each making its own (encodeMetaSharing).
   */
  private pendingCopy(r: ResolvedVersion, replacedBy: string | undefined): ObjectVersion {
    const hit = this.pendingCopies.get(r);
    if (hit && hit.replacedBy === replacedBy) return hit;
    const copy: ObjectVersion = { ...r.version, state: 'pending-delete', replacedBy };
    this.pendingCopies.set(r, copy);
    return copy;
  }

  /** Phase 1: returns, by position, whether the version's data is in place on that drive. */
  private async place(
    bucket: string,
    dir: string,
    version: ObjectVersion,
    data: CommitData,
    replaced: ResolvedVersion | undefined,
  ): Promise<boolean[]> {
    if (data.stage) {
      const stage = data.stage;
      return Promise.all(
        this.drives.map(async (d, p) => {
          if (!d || !stage.ok[p]) return false;
          try {
            await d.rename(SYS_VOLUME, stage.dataPath, bucket, `${dir}/${dataDirName(version.dataDir)}`);
            return true;
          } catch {
            return false;
          }
        }),
      );
    }
    if (data.reuse || data.remote) {
      return this.drives.map((d, p) => d !== null && (replaced?.holders[p] ?? false));
    }
    return this.drives.map(
      (d, p) => d !== null && (version.size === 0 || (data.inline?.[p] ?? null) !== null),
    );
  }

  /** Undoes phase 1 on the given drives. */
  private async removeData(
    bucket: string,
    dir: string,
    version: ObjectVersion,
    placed: boolean[],
    data: CommitData,
  ): Promise<void> {
    if (!data.stage) return;
    const path = `${dir}/${dataDirName(version.dataDir)}`;
    await eachDriveQuiet(this.drives, (d, p) =>
      placed[p] ? d.delete(bucket, path, { recursive: true, prune: true }) : Promise.resolve(),
    );
  }

  /** Long key segments live in hashed directories that carry their real name (see layout.ts). */
  async writeNameFiles(
    bucket: string,
    components: { name: string; hashedSegment?: string }[],
    on: boolean[],
  ): Promise<void> {
    if (!components.some((c) => c.hashedSegment !== undefined)) return;
    await Promise.all(
      this.drives.map(async (d, p) => {
        if (!d || !on[p]) return;
        let dir = '';
        for (const c of components) {
          dir = joinRel(dir, c.name);
          if (c.hashedSegment === undefined) continue;
          try {
            await d.readFile(bucket, `${dir}/${NAME_FILE}`);
          } catch {
            await d
              .writeFileAtomic(bucket, `${dir}/${NAME_FILE}`, Buffer.from(c.hashedSegment))
              .catch(() => undefined);
          }
        }
      }),
    );
  }

  /**
   * Writes (or, when empty, removes) the object's in-scope metadata on the drives selected, `state` being what the
   * caller read under the lock; returns successes by position (see set-meta.ts).
   */
  writeMetas(
    bucket: string,
    state: ObjectState,
    on: boolean[],
    build: (p: number) => MetaFile,
    opts?: WriteMetaOpts,
  ): Promise<boolean[]> {
    return writeObjectMetas(this, bucket, state, on, build, opts);
  }

  /**
   * Deletes a data dir on the given drives. If a reader is still streaming from it, the delete runs when the last
   * reader finishes (the returned promise does not wait for that).
   */
  async deleteDataDir(bucket: string, dir: string, dataDir: string, on: boolean[]): Promise<void> {
    const path = `${dir}/${dataDirName(dataDir)}`;
    const run = (): Promise<void> =>
      eachDriveQuiet(this.drives, (d, p) =>
        on[p] ? d.delete(bucket, path, { recursive: true, prune: true }) : Promise.resolve(),
      );
    const ref = `${bucket}/${dir}/${dataDir}`;
    if ((this.dataRefs.get(ref) ?? 0) > 0) this.deferredDeletes.set(ref, run);
    else await run();
  }

  /** Pins a data dir against deletion while a reader streams from it; returns the release. */
  acquireData(ref: string): () => void {
    this.dataRefs.set(ref, (this.dataRefs.get(ref) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.dataRefs.get(ref) ?? 1) - 1;
      if (left > 0) {
        this.dataRefs.set(ref, left);
        return;
      }
      this.dataRefs.delete(ref);
      const deferred = this.deferredDeletes.get(ref);
      if (deferred) {
        this.deferredDeletes.delete(ref);
        void deferred();
      }
    };
  }
}

/** This drive's inline frame of a version (keyed by the version's data dir id), if it has one. */
export function inlineOf(meta: DriveMeta, dataDir: string): Buffer | undefined {
  return meta && !(meta instanceof Error) ? meta.inline.get(dataDir) : undefined;
}

/** S3 conditional-write checks against the current latest version. */
function checkPreconditions(current: ObjectVersion | undefined, opts: PutObjectOptions): void {
  const exists = current !== undefined && current.type === 'object';
  if (opts.ifNoneMatch && exists)
    throw storageError('PreconditionFailed', 'an object with this key already exists');
  if (opts.ifMatch !== undefined) {
    const want = opts.ifMatch.replace(/"/g, '');
    if (!exists || (want !== '*' && want !== current.etag)) {
      throw storageError(
        exists ? 'PreconditionFailed' : 'ObjectNotFound',
        'If-Match did not match the current object',
      );
    }
  }
}
