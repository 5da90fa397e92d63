/**
 * A Drive on a local directory (one per disk in production).
 *
 * Atomicity: whole files are written to `.tiergate.sys/tmp/<uuid>`, fsynced, then renamed over their target, and the
 * target directory is fsynced, so a crash leaves either the old or the new file, never a torn one. Paths are built
 * by layout.ts and checked again here: nothing outside the drive root is ever touched.
 *
 * Object metadata lives in one of two places: a record in the drive's metadata log (meta-log.ts), for every object
 * whose metadata fits in one (LOG_META_MAX), so writing or updating it creates no file at all; or a `%meta` file in
 * the object's directory, for larger metadata (and as written by tiergate before the log took objects with data
 * directories: such a file moves to the log on the key's next write). Data directories stay in the object's
 * directory either way; a commit renames them into place, durably, before the record that references them is written.
 * A log record, when there is one, wins over a `%meta` file; the moves between the two are ordered so that a crash at
 * any point leaves the old or the new metadata visible:
 *   file -> log:  append the record (durable; it now wins), then unlink the old file (a leftover is shadowed);
 *   log -> file:  write the file atomically (still shadowed), then append a remove record (the file now shows);
 *   delete:       unlink the file and fsync its directory, then append a remove record.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isStorageError, storageError, fileNotFound } from '../errors';
import { joinRel, META_FILE, STAGE_MARKS, SYS_VOLUME, TMP_DIR } from '../layout';
import { type MetaFile, viewOfSharing } from '../meta/meta-file';
import type {
  Drive,
  DriveInfo,
  FileReader,
  FileWriter,
  WalkEntry,
  WalkOptions,
  WriteMetaOptions,
  DeleteMetaOptions,
} from './drive';
import { dirRemover } from './dir-remover';
import type { PruneJob } from './dir-removal';
import { FdReader, fsyncDir, mapError, readSmallFile, skipBytes } from './fs-io';
import { type TreeSource, walkTree } from './tree-walk';
import { TreeMetaIndex } from './tree-meta-index';
import { mergeWalks, walkLog } from './walk-log';
import { LOG_META_MAX, MetaLog, METALOG_DIR, type MetaLogOptions } from './meta-log';

const VOLUME_RE = /^(\.tiergate\.sys|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/;
/** A `.` or `..` path segment anywhere in a relative path. */
const DOT_SEGMENT_RE = /(?:^|\/)\.\.?(?:\/|$)/;

/** Local-directory drive. */
export class LocalDrive implements Drive {
  readonly endpoint: string;
  private closed = false;
  private metaLog?: Promise<MetaLog>;
  /** Which object directories hold a %meta file, so a key the log lacks needs no lookup on disk. */
  private readonly treeMetas = new TreeMetaIndex((volume) => this.resolve(volume));
  /** What the directory tree's walk (tree-walk.ts) needs of this drive. */
  private readonly tree: TreeSource = {
    resolve: (volume, rel) => this.resolve(volume, rel),
    mayHoldMetaFile: (volume, dir) => this.mayHoldMetaFile(volume, dir),
    mayHoldMetaFilesBelow: (volume, dir) => this.mayHoldMetaFilesBelow(volume, dir),
  };

  constructor(
    root: string,
    private readonly sync = true,
    /** Metadata log tuning (tests use small segments) and where it reports replay and compaction problems. */
    private readonly logOptions: Partial<MetaLogOptions> = {},
  ) {
    this.endpoint = path.resolve(root);
  }

  /** The drive's metadata log, replayed on first use (after format.json was checked, never on a foreign drive). */
  private log(): Promise<MetaLog> {
    if (this.closed) return Promise.reject(storageError('DriveOffline', `${this.endpoint} is closed`));
    this.metaLog ??= MetaLog.open(path.join(this.endpoint, SYS_VOLUME, METALOG_DIR), {
      ...this.logOptions,
      sync: this.sync,
    }).catch((err: unknown) => {
      throw mapError(err, `${this.endpoint} metadata log`);
    });
    return this.metaLog;
  }

  /** The open metadata log, for tests and status (replays it when not yet open). */
  metadataLog(): Promise<MetaLog> {
    return this.log();
  }

  async readMeta(volume: string, dir: string): Promise<Buffer | null> {
    const log = await this.log();
    const entry = log.get(volume, dir);
    if (entry) return log.read(entry);
    return this.readMetaFile(volume, dir);
  }

  async readMetaDecoded(volume: string, dir: string): Promise<Buffer | MetaFile | null> {
    const log = await this.log();
    const entry = log.get(volume, dir);
    if (entry) return log.decoded(entry) ?? log.read(entry);
    return this.readMetaFile(volume, dir);
  }

  /** The bytes of dir's `%meta` file; null when it has none. */
  private async readMetaFile(volume: string, dir: string): Promise<Buffer | null> {
    this.checkPath(volume, dir);
    if (!this.mayHoldMetaFile(volume, dir)) return null;
    const file = this.resolve(volume, joinRel(dir, META_FILE));
    try {
      return await readSmallFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw mapError(err, `${volume}/${dir}`);
    }
  }

  async writeMeta(
    volume: string,
    dir: string,
    key: string,
    data: Buffer,
    opts: WriteMetaOptions,
  ): Promise<void> {
    const log = await this.log();
    this.checkPath(volume, dir); // the same checks as a file write
    if (data.length <= LOG_META_MAX) {
      const inLog = log.get(volume, dir) !== undefined;
      await log.put(volume, dir, key, data, opts.decoded && viewOfSharing(opts.decoded, opts.views ?? []));
      // The record wins from now on; an older %meta file is dead weight (and harmless if this unlink is lost).
      if (!inLog && !opts.fresh) await this.removeMetaFile(volume, dir, false);
      return;
    }
    await this.writeFileAtomic(volume, joinRel(dir, META_FILE), data); // tells treeMetas first
    await log.remove(volume, dir);
  }

  async deleteMeta(volume: string, dir: string, opts: DeleteMetaOptions = {}): Promise<void> {
    const log = await this.log();
    await this.removeMetaFile(volume, dir, true);
    await log.remove(volume, dir, { durable: opts.durable });
  }

  /** Unlinks a %meta file (fsyncing its directory when asked and it existed) and prunes empty parents. */
  private async removeMetaFile(volume: string, dir: string, durable: boolean): Promise<void> {
    const file = this.resolve(volume, joinRel(dir, META_FILE));
    if (!this.mayHoldMetaFile(volume, dir)) return;
    try {
      await fs.unlink(file);
    } catch (err) {
      const e = mapError(err, `${volume}/${dir}`);
      if (isStorageError(e, 'FileNotFound')) return;
      throw e;
    }
    this.treeMetas.removed(volume, dir);
    if (durable) await this.fsyncDir(path.dirname(file));
    await this.prune(this.pruneJob(volume, dir));
  }

  /**
   * False only when `dir` is known to hold no %meta file. The tree index covers bucket volumes; the system volume is
   * not indexed, so a lookup there asks the disk, except under STAGE_MARKS (marks are log records, always small).
   */
  /** False only when no directory below `dir` is known to hold a %meta file (see mayHoldMetaFile). */
  private mayHoldMetaFilesBelow(volume: string, dir: string): boolean {
    return volume === SYS_VOLUME || this.treeMetas.mayHoldBelow(volume, dir);
  }

  private mayHoldMetaFile(volume: string, dir: string): boolean {
    if (volume !== SYS_VOLUME) return this.treeMetas.mayHold(volume, dir);
    return !(dir.startsWith(STAGE_MARKS) && dir.charCodeAt(STAGE_MARKS.length) === 0x2f); // '/'
  }

  /** Refuses a closed drive, a bad volume name and a relative path with NUL, a leading `/`, `.` or `..` segments. */
  private checkPath(volume: string, rel: string): void {
    if (this.closed) throw storageError('DriveOffline', `${this.endpoint} is closed`);
    if (!VOLUME_RE.test(volume)) throw storageError('InvalidArgument', `bad volume name`);
    if (rel.includes('\0') || rel.startsWith('/') || DOT_SEGMENT_RE.test(rel)) {
      throw storageError('InvalidArgument', 'bad relative path');
    }
  }

  /** Absolute path of volume/rel, refusing anything that could leave the drive root. */
  private resolve(volume: string, rel = ''): string {
    this.checkPath(volume, rel);
    const full = path.join(this.endpoint, volume, rel);
    if (full !== this.endpoint && !full.startsWith(this.endpoint + path.sep)) {
      throw storageError('InvalidArgument', 'path escapes the drive root');
    }
    return full;
  }

  private tmpPath(): string {
    return this.resolve(SYS_VOLUME, `${TMP_DIR}/${randomUUID()}`);
  }

  private async fsyncDir(dir: string): Promise<void> {
    if (this.sync) await fsyncDir(dir);
  }

  /** fsyncs the parent of `first` (the first directory mkdir created) and every created directory above `last`. */
  private async fsyncCreated(first: string, last: string): Promise<void> {
    if (!this.sync) return;
    const dirs = [path.dirname(first)];
    for (let d = last; d !== path.dirname(first) && d.startsWith(this.endpoint); d = path.dirname(d)) {
      if (d !== last) dirs.push(d);
    }
    await Promise.all(dirs.map((d) => this.fsyncDir(d)));
  }

  async makeVolume(volume: string): Promise<void> {
    try {
      await fs.mkdir(this.resolve(volume), { recursive: true });
    } catch (err) {
      throw mapError(err, volume);
    }
  }

  async deleteVolume(volume: string): Promise<void> {
    const dir = this.resolve(volume);
    if ((await this.log()).count(volume) > 0) throw storageError('BucketNotEmpty', `not empty: ${volume}`);
    try {
      await fs.rmdir(dir);
      this.treeMetas.forget(volume);
    } catch (err) {
      const e = mapError(err, volume);
      if (isStorageError(e, 'FileNotFound')) return;
      throw e;
    }
  }

  async listVolumes(): Promise<string[]> {
    try {
      const entries = await fs.readdir(this.endpoint, { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && e.name !== SYS_VOLUME && VOLUME_RE.test(e.name))
        .map((e) => e.name);
    } catch (err) {
      throw mapError(err, this.endpoint);
    }
  }

  async statVolume(volume: string): Promise<{ created: Date }> {
    try {
      const st = await fs.stat(this.resolve(volume));
      if (!st.isDirectory()) throw fileNotFound(volume);
      return { created: st.birthtime.getTime() > 0 ? st.birthtime : st.mtime };
    } catch (err) {
      throw mapError(err, volume);
    }
  }

  async readFile(volume: string, rel: string): Promise<Buffer> {
    try {
      return await readSmallFile(this.resolve(volume, rel));
    } catch (err) {
      throw mapError(err, `${volume}/${rel}`);
    }
  }

  async writeFileAtomic(volume: string, rel: string, data: Buffer): Promise<void> {
    const tmp = this.tmpPath();
    const target = this.resolve(volume, rel);
    if (volume !== SYS_VOLUME && path.basename(rel) === META_FILE) {
      this.treeMetas.adding(volume, path.dirname(rel) === '.' ? '' : path.dirname(rel));
    }
    try {
      const fh = await fs.open(tmp, 'w').catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
        await fs.mkdir(path.dirname(tmp), { recursive: true }); // temp dir wiped at boot, or a fresh drive
        return fs.open(tmp, 'w');
      });
      try {
        await fh.writeFile(data);
        if (this.sync) await fh.sync();
      } finally {
        await fh.close();
      }
      await this.renameInto(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw mapError(err, `${volume}/${rel}`);
    }
  }

  /**
   * rename(2) with parents created; retried when a concurrent prune removed a parent in between. Directories it
   * creates are fsynced into their parents too, so a new object's path survives a power loss with its data.
   */
  private async renameInto(src: string, dst: string): Promise<void> {
    const parent = path.dirname(dst);
    for (let attempt = 0; ; attempt++) {
      try {
        const created = await fs.mkdir(parent, { recursive: true });
        await fs.rename(src, dst);
        if (created !== undefined) await this.fsyncCreated(created, parent);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 8) {
          await fs.access(src); // the source itself missing is a real error
          continue;
        }
        throw err;
      }
    }
    await this.fsyncDir(parent);
  }

  async createFile(volume: string, rel: string): Promise<FileWriter> {
    const file = this.resolve(volume, rel);
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const fh = await fs.open(file, 'w');
      const sync = this.sync;
      return {
        async write(buffers: Buffer[], position: number) {
          try {
            let pos = position;
            let pending = buffers;
            // writev may write less than asked; loop until every byte is down.
            while (pending.length > 0) {
              const { bytesWritten } = await fh.writev(pending, pos);
              pos += bytesWritten;
              pending = skipBytes(pending, bytesWritten);
            }
          } catch (err) {
            throw mapError(err, file);
          }
        },
        async close() {
          try {
            if (sync) await fh.sync();
          } catch (err) {
            await fh.close().catch(() => undefined);
            throw mapError(err, file);
          }
          await fh.close();
        },
        async abort() {
          await fh.close().catch(() => undefined);
        },
      };
    } catch (err) {
      throw mapError(err, `${volume}/${rel}`);
    }
  }

  async openFile(volume: string, rel: string): Promise<FileReader> {
    const file = this.resolve(volume, rel);
    try {
      const reader = await FdReader.open(file);
      return {
        async readv(buffers, position) {
          try {
            return await reader.readv(buffers, position);
          } catch (err) {
            throw mapError(err, file);
          }
        },
        close: () => reader.close(),
      };
    } catch (err) {
      throw mapError(err, `${volume}/${rel}`);
    }
  }

  async rename(srcVolume: string, srcRel: string, dstVolume: string, dstRel: string): Promise<void> {
    try {
      const [src, dst] = [this.resolve(srcVolume, srcRel), this.resolve(dstVolume, dstRel)];
      await this.renameInto(src, dst);
    } catch (err) {
      throw mapError(err, `${srcVolume}/${srcRel} -> ${dstVolume}/${dstRel}`);
    }
  }

  async link(srcVolume: string, srcRel: string, dstVolume: string, dstRel: string): Promise<void> {
    const dst = this.resolve(dstVolume, dstRel);
    try {
      await fs.mkdir(path.dirname(dst), { recursive: true });
      await fs.link(this.resolve(srcVolume, srcRel), dst);
    } catch (err) {
      throw mapError(err, `${srcVolume}/${srcRel} -> ${dstVolume}/${dstRel}`);
    }
  }

  async delete(
    volume: string,
    rel: string,
    opts: { recursive?: boolean; prune?: boolean } = {},
  ): Promise<void> {
    const target = this.resolve(volume, rel);
    if (rel === '' && opts.recursive && volume !== SYS_VOLUME) {
      await (await this.log()).dropVolume(volume);
      this.treeMetas.forget(volume);
    }
    const prune = opts.prune ? this.pruneJob(volume, path.dirname(rel)) : undefined;
    try {
      // A tree (a data dir, a staging dir, an upload) goes in one job on the remover's thread, pruning included.
      if (opts.recursive && rel !== '') return await dirRemover.run({ remove: target, prune });
      await fs.rm(target, { recursive: opts.recursive ?? false, force: true });
    } catch (err) {
      const e = mapError(err, `${volume}/${rel}`);
      if (!isStorageError(e, 'FileNotFound')) throw e;
    }
    if (prune) await this.prune(prune);
  }

  /** The prune of `rel` and its empty parents up to (not including) the volume root (dir-removal.ts pruneSync). */
  private pruneJob(volume: string, rel: string): PruneJob {
    return { root: this.resolve(volume), dir: rel };
  }

  /** Runs a prune on the remover's thread; pruning is best effort and never fails a delete. */
  private async prune(job: PruneJob): Promise<void> {
    await dirRemover.run({ prune: job }).catch(() => undefined);
  }

  async list(volume: string, dir: string): Promise<string[]> {
    try {
      const entries = await fs.readdir(this.resolve(volume, dir), { withFileTypes: true });
      return entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
    } catch (err) {
      throw mapError(err, `${volume}/${dir}`);
    }
  }

  /** The directory tree's walk merged with the metadata log's keys; for a key in both, the log's record wins. */
  async *walk(volume: string, opts: WalkOptions): AsyncIterable<WalkEntry> {
    const log = await this.log();
    if (log.count(volume) === 0) {
      yield* walkTree(this.tree, volume, opts);
      return;
    }
    const tree = walkTree(this.tree, volume, opts)[Symbol.asyncIterator]();
    yield* mergeWalks(tree, walkLog(log, volume, opts)[Symbol.asyncIterator]());
  }

  async info(): Promise<DriveInfo> {
    try {
      const st = await fs.statfs(this.endpoint);
      return { totalBytes: st.blocks * st.bsize, freeBytes: st.bavail * st.bsize };
    } catch (err) {
      throw mapError(err, this.endpoint);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const log = this.metaLog;
    this.closed = true;
    await log?.then((l) => l.close()).catch(() => undefined);
  }
}
