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
import { DATA_DIR_PREFIX, joinRel, META_FILE } from '../layout';

interface VolumeTree {
  dirs: Set<string>;
  /** For every ancestor of a directory in `dirs`: how many of them lie below it (the volume root is ''). */
  below: Map<string, number>;
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

  /**
   * False only when the volume is known to hold no `%meta` file in any directory below `dir` ('' is the volume's
   * root): a walk need not descend there (an object directory whose keys below are all in the log, or none).
   */
  mayHoldBelow(volume: string, dir: string): boolean {
    const tree = this.tree(volume);
    return !tree.complete || (tree.below.get(dir) ?? 0) > 0;
  }

  /** Called before a `%meta` file is written in `dir`. */
  adding(volume: string, dir: string): void {
    add(this.tree(volume), dir);
  }

  /** Called after the `%meta` file in `dir` was removed. */
  removed(volume: string, dir: string): void {
    const tree = this.volumes.get(volume);
    if (!tree?.dirs.delete(dir)) return;
    for (let a = parentOf(dir); a !== undefined; a = parentOf(a)) {
      const n = tree.below.get(a)! - 1;
      if (n === 0) tree.below.delete(a);
      else tree.below.set(a, n);
    }
  }

  /** Forgets a volume (deleted or emptied); the next use walks it again. */
  forget(volume: string): void {
    this.volumes.delete(volume);
  }

  private tree(volume: string): VolumeTree {
    let tree = this.volumes.get(volume);
    if (!tree) {
      const created: VolumeTree = { dirs: new Set(), below: new Map(), complete: false };
      this.volumes.set(volume, (tree = created));
      void collect(this.volumeRoot(volume), '', created).then(
        () => (created.complete = true),
        () => undefined, // unreadable: stays incomplete, so every lookup asks the disk
      );
    }
    return tree;
  }
}

/** Records `dir` as holding a `%meta` file, and counts it below each of its ancestors. */
function add(tree: VolumeTree, dir: string): void {
  if (tree.dirs.has(dir)) return;
  tree.dirs.add(dir);
  for (let a = parentOf(dir); a !== undefined; a = parentOf(a))
    tree.below.set(a, (tree.below.get(a) ?? 0) + 1);
}

/** The parent of a relative directory ('' for a top-level one), undefined for the root itself. */
function parentOf(dir: string): string | undefined {
  if (dir === '') return undefined;
  const slash = dir.lastIndexOf('/');
  return slash < 0 ? '' : dir.slice(0, slash);
}

/** Adds every directory under `abs` (relative path `rel`) that holds a `%meta` file. */
async function collect(abs: string, rel: string, out: VolumeTree): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(abs, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // not there (yet), or pruned meanwhile
    throw err;
  }
  for (const e of entries) {
    if (e.name === META_FILE && e.isFile()) add(out, rel);
    else if (e.isDirectory() && !e.name.startsWith(DATA_DIR_PREFIX)) {
      await collect(path.join(abs, e.name), joinRel(rel, e.name), out);
    }
  }
}
