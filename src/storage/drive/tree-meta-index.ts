/**
 * Which object directories of a drive's bucket volumes hold a `%meta` file: objects whose metadata is too large for
 * the metadata log, or was written before the log took objects with data directories. With it, a lookup of a key
 * the log lacks (every new key a PUT writes), and a walk past an object directory without one, is answered from
 * memory instead of by an `open` that fails.
 *
 * Each volume is walked once, in the background, on first use (not descending into data directories); until the
 * walk is done every lookup goes to the disk. The walk is exact afterwards because this process is the only writer
 * of its drives and tells the index before it creates a `%meta` file and after it removed one. A file removed while
 * the walk runs can linger as a stale "may exist": that only costs the lookup it would have saved.
 */
import type { Dirent } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DATA_DIR_PREFIX, META_FILE } from '../layout';

interface VolumeTree {
  dirs: Set<string>;
  complete: boolean;
}

export class TreeMetaIndex {
  private readonly volumes = new Map<string, VolumeTree>();

  /** `volumeRoot` gives the absolute directory of a bucket volume. */
  constructor(private readonly volumeRoot: (volume: string) => string) {}

  /** False only when the volume is known to hold no `%meta` file in `dir`. */
  mayHold(volume: string, dir: string): boolean {
    const tree = this.tree(volume);
    return !tree.complete || tree.dirs.has(dir);
  }

  /** Called before a `%meta` file is written in `dir`. */
  adding(volume: string, dir: string): void {
    this.tree(volume).dirs.add(dir);
  }

  /** Called after the `%meta` file in `dir` was removed. */
  removed(volume: string, dir: string): void {
    this.volumes.get(volume)?.dirs.delete(dir);
  }

  /** Forgets a volume (deleted or emptied); the next use walks it again. */
  forget(volume: string): void {
    this.volumes.delete(volume);
  }

  private tree(volume: string): VolumeTree {
    let tree = this.volumes.get(volume);
    if (!tree) {
      const created: VolumeTree = { dirs: new Set(), complete: false };
      this.volumes.set(volume, (tree = created));
      void collect(this.volumeRoot(volume), '', created.dirs).then(
        () => (created.complete = true),
        () => undefined, // unreadable: stays incomplete, so every lookup asks the disk
      );
    }
    return tree;
  }
}

/** Adds every directory under `abs` (relative path `rel`) that holds a `%meta` file. */
async function collect(abs: string, rel: string, out: Set<string>): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // not there (yet), or pruned meanwhile
    throw err;
  }
  for (const e of entries) {
    if (e.name === META_FILE && e.isFile()) out.add(rel);
    else if (e.isDirectory() && !e.name.startsWith(DATA_DIR_PREFIX)) {
      await collect(path.join(abs, e.name), rel === '' ? e.name : `${rel}/${e.name}`, out);
    }
  }
}
