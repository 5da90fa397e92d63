/**
 * Removing a directory tree and pruning the empty directories above it, as synchronous steps. They run on the
 * remover's worker thread (dir-remover.ts), never on the event loop while that worker works.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HASHED_PREFIX, NAME_FILE } from '../layout';

/** Prune from `root/dir` up to, not including, `root` (a volume's directory). */
export interface PruneJob {
  root: string;
  dir: string;
}

/** What the remover is asked to do: remove a tree, then prune empty directories above a path; either may be absent. */
export interface RemoveJob {
  /** Absolute path of a file or tree to remove (a missing one is fine). */
  remove?: string;
  prune?: PruneJob;
}

/** Runs a job: the removal's errors (other than the target being absent) are thrown; pruning never throws. */
export function runRemoveJob(job: RemoveJob): void {
  if (job.remove !== undefined) removeTreeSync(job.remove);
  if (job.prune) pruneSync(job.prune.root, job.prune.dir);
}

/**
 * Removes a file or a directory tree; symlinks are removed, never followed. A directory that holds only files (a
 * data directory of part files, the common case) takes four steps: lstat, readdir, unlink each, rmdir; fs.rmSync's
 * walk takes six for a one-part directory. Anything else is fs.rmSync's turn.
 */
export function removeTreeSync(target: string): void {
  if (!removeFlatDirSync(target)) fs.rmSync(target, { recursive: true, force: true });
}

/**
 * True when `dir` is gone (or was never there); false, having removed nothing but files, when it is anything else (a
 * symlink, a file, a tree, an entry that changed meanwhile).
 */
function removeFlatDirSync(dir: string): boolean {
  let entries: fs.Dirent[];
  try {
    if (!fs.lstatSync(dir).isDirectory()) return false;
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return true;
    if (code === 'ENOTDIR') return false;
    throw err;
  }
  if (!entries.every((e) => e.isFile())) return false;
  for (const e of entries) {
    try {
      fs.unlinkSync(path.join(dir, e.name));
    } catch (err) {
      const code = errno(err);
      if (code === 'EISDIR' || code === 'EPERM') return false;
      if (code !== 'ENOENT') throw err;
    }
  }
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT') return true;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * Removes empty directories from `root/rel` up to (not including) `root`; stops at the first non-empty one. A
 * hashed long-segment directory holding nothing but its name file counts as empty (writers re-create the name file
 * after they commit, so removing it here can never hide a key).
 */
export function pruneSync(root: string, rel: string): void {
  let dir = rel;
  while (dir !== '.' && dir !== '' && dir !== '/') {
    const full = path.join(root, dir);
    try {
      fs.rmdirSync(full); // usually fails (not empty) at the first shared ancestor
    } catch (err) {
      if (errno(err) !== 'ENOTEMPTY' || !path.basename(dir).startsWith(HASHED_PREFIX)) return;
      try {
        const left = fs.readdirSync(full);
        if (left.length !== 1 || left[0] !== NAME_FILE) return;
        fs.unlinkSync(path.join(full, NAME_FILE));
        fs.rmdirSync(full);
      } catch {
        return; // a writer got there first
      }
    }
    dir = path.dirname(dir);
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}
