/**
 * A Drive is one disk as the erasure layer sees it: volumes (buckets and the system volume) holding files at
 * relative paths. Local directories implement it (drive/local-drive.ts), another node's drives implement it over the
 * internal storage API (remote/remote-drive.ts), and tests wrap it to inject faults. Every method either does what it says or throws a StorageError
 * (FileNotFound, DriveOffline, DriveFaulty, ...), never a raw errno.
 */

import type { MetaFile, MetaView } from '../meta/meta-file';

/** Sequential-or-positional writer of one new file (shard files in temp staging). */
export interface FileWriter {
  /** Writes buffers at a byte position (positional writes let blocks be written out of order). */
  write(buffers: Buffer[], position: number): Promise<void>;
  /** Flushes (fsync when the drive syncs) and closes. */
  close(): Promise<void>;
  /** Closes without flushing; the caller removes the file. */
  abort(): Promise<void>;
}

/** Positional reader of one file. */
export interface FileReader {
  /** Scatter-reads into `buffers` starting at `position`; returns the bytes read (less only at end of file). */
  readv(buffers: Buffer[], position: number): Promise<number>;
  close(): Promise<void>;
}

/** One result of a sorted walk of a bucket volume. */
export interface WalkEntry {
  /** Object key, or a common prefix ending with `/` when `prefix` is true. */
  key: string;
  /** Raw metadata file of the object (absent for prefixes). */
  meta?: Buffer;
  /** True for a common prefix (non-recursive walks only). */
  prefix?: boolean;
}

export interface WalkOptions {
  /** Only keys starting with this. */
  prefix?: string;
  /** Only keys strictly greater than this. */
  marker?: string;
  /** Descend into every subdirectory (true), or report subdirectories below the prefix as prefixes (false). */
  recursive: boolean;
}

export interface WriteMetaOptions {
  /** The caller read this drive's metadata under the object's lock and found none (nothing old to clean up). */
  fresh?: boolean;
  /**
   * What `data` decodes to. A drive may keep it to answer readMetaDecoded without decoding; it then freezes the
   * records (deeply), so the caller must not change them afterwards.
   */
  decoded?: MetaFile;
  /**
   * Views (meta-file.ts MetaView) that other drives made of the same operation's `decoded`: a drive keeping one
   * reuses one of these that describes its own exactly and adds what it makes (meta-file.ts viewOfSharing).
   */
  views?: MetaView[];
}

export interface DeleteMetaOptions {
  /** False: the removal may reach the disk after the call returns (see Drive.deleteMeta). Default true. */
  durable?: boolean;
}

export interface DriveInfo {
  totalBytes: number;
  freeBytes: number;
}

/** The storage primitive under an erasure set. */
export interface Drive {
  /** Where the drive is (a path, or the URL of another node's drive); used in logs and status. */
  readonly endpoint: string;

  makeVolume(volume: string): Promise<void>;
  /** Removes an empty volume; throws BucketNotEmpty when it still holds objects. */
  deleteVolume(volume: string): Promise<void>;
  listVolumes(): Promise<string[]>;
  /** Throws FileNotFound when the volume does not exist. */
  statVolume(volume: string): Promise<{ created: Date }>;

  /**
   * An object's metadata on this drive (`dir` is its directory, layout.ts), or null when the drive has none (the
   * common answer for a new key, so it is a value, not an error). Where the bytes live (a `%meta` file in `dir`,
   * or the drive's metadata log) is the drive's business.
   */
  readMeta(volume: string, dir: string): Promise<Buffer | null>;
  /**
   * readMeta, answered decoded where the drive still holds the decoding of its own recent write (writeMeta's
   * `decoded`): its records (frozen) and inline frames are shared with every other such read, so they must not be
   * changed; its versions array and inline map are the caller's. Bytes where it does not.
   */
  readMetaDecoded?(volume: string, dir: string): Promise<Buffer | MetaFile | null>;
  /** Replaces an object's metadata atomically and durably (a crash leaves the old or the new bytes). */
  writeMeta(volume: string, dir: string, key: string, data: Buffer, opts: WriteMetaOptions): Promise<void>;
  /**
   * Removes an object's metadata durably (its directory's empty parents are pruned); missing is not an error.
   * `durable: false` lets a removal kept in the metadata log reach the disk later (MetaLog.remove): only for
   * metadata whose coming back after a crash is harmless, a stage mark.
   */
  deleteMeta(volume: string, dir: string, opts?: DeleteMetaOptions): Promise<void>;

  readFile(volume: string, path: string): Promise<Buffer>;
  /** Writes a whole file atomically: temp file, fsync, rename over the target (parents created). */
  writeFileAtomic(volume: string, path: string, data: Buffer): Promise<void>;
  /** Creates (truncates) a file for writing, parents created. */
  createFile(volume: string, path: string): Promise<FileWriter>;
  openFile(volume: string, path: string): Promise<FileReader>;
  /** Atomically moves a file or directory; the target's parents are created; an existing empty dir target is replaced. */
  rename(srcVolume: string, srcPath: string, dstVolume: string, dstPath: string): Promise<void>;
  /** Hard-links a file (multipart completion stitches parts without copying data). */
  link(srcVolume: string, srcPath: string, dstVolume: string, dstPath: string): Promise<void>;
  /**
   * Deletes a file or (recursive) a directory tree; missing is not an error. With `prune`, empty parent
   * directories up to the volume root are removed too.
   */
  delete(volume: string, path: string, opts?: { recursive?: boolean; prune?: boolean }): Promise<void>;
  /** Directory entries; directories carry a trailing `/`. Throws FileNotFound for a missing directory. */
  list(volume: string, dir: string): Promise<string[]>;
  /** Sorted walk of a bucket's object namespace (see layout.ts), with each object's metadata file. */
  walk(volume: string, opts: WalkOptions): AsyncIterable<WalkEntry>;
  info(): Promise<DriveInfo>;
  /** Releases resources; later calls fail with DriveOffline. */
  close(): Promise<void>;
}
