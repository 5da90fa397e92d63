/**
 * The walk of a drive's directory tree: the keys whose metadata is a `%meta` file in an object directory (the rest
 * are in the drive's metadata log, walked by walk-log.ts; LocalDrive.walk merges the two). Keys come out in byte
 * order, from the prefix's deepest complete directory down, skipping subtrees that cannot match the prefix or sort
 * after the marker and, with the tree index's help, object directories and subtrees that hold no `%meta` file.
 */
import * as fs from 'node:fs/promises';
import { isStorageError } from '../errors';
import {
  compareKeys,
  HASHED_PREFIX,
  isReservedName,
  joinRel,
  META_FILE,
  NAME_FILE,
  segmentComponents,
  unescapeSegment,
} from '../layout';
import type { WalkEntry, WalkOptions } from './drive';
import { mapError, readSmallFile } from './fs-io';

/** What the walk needs of its drive. */
export interface TreeSource {
  /** Absolute path of `rel` in `volume`. */
  resolve(volume: string, rel?: string): string;
  /** False only when `dir` is known to hold no `%meta` file. */
  mayHoldMetaFile(volume: string, dir: string): boolean;
  /** False only when no directory below `dir` is known to hold a `%meta` file. */
  mayHoldMetaFilesBelow(volume: string, dir: string): boolean;
}

export async function* walkTree(t: TreeSource, volume: string, opts: WalkOptions): AsyncIterable<WalkEntry> {
  const prefix = opts.prefix ?? '';
  const baseKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  // The directory of the prefix's complete segments ("a/b/" -> a/b, "/" -> the empty segment's dir).
  const baseDir =
    baseKey === ''
      ? ''
      : segmentComponents(baseKey.slice(0, -1).split('/'))
          .map((c) => c.name)
          .join('/');
  yield* walkDir(t, volume, baseDir, baseKey, prefix, opts.marker ?? '', opts.recursive);
}

/** Decoded children of a directory: segment and on-disk name, excluding our reserved files. */
async function children(
  t: TreeSource,
  volume: string,
  relDir: string,
): Promise<{ segment: string; name: string }[]> {
  let names: string[];
  try {
    names = await fs.readdir(t.resolve(volume, relDir));
  } catch (err) {
    const e = mapError(err, `${volume}/${relDir}`);
    if (isStorageError(e, 'FileNotFound')) return [];
    throw e;
  }
  const out: { segment: string; name: string }[] = [];
  for (const name of names) {
    if (name.startsWith(HASHED_PREFIX)) {
      try {
        const raw = await fs.readFile(t.resolve(volume, joinRel(joinRel(relDir, name), NAME_FILE)), 'utf8');
        out.push({ segment: raw, name });
      } catch {
        // a hashed dir without its name file is a crash leftover; nothing to list
      }
      continue;
    }
    if (isReservedName(name)) continue;
    const segment = unescapeSegment(name);
    if (segment !== null) out.push({ segment, name });
  }
  return out;
}

async function* walkDir(
  t: TreeSource,
  volume: string,
  relDir: string,
  keyPrefix: string,
  prefix: string,
  marker: string,
  recursive: boolean,
): AsyncGenerator<WalkEntry> {
  const kids = await children(t, volume, relDir);
  // Each child is an object candidate at `key` and a subtree at `key/`; sort both kinds together by bytes.
  const items: { sortKey: string; subtree: boolean; name: string }[] = [];
  for (const { segment, name } of kids) {
    const key = keyPrefix + segment;
    items.push({ sortKey: key, subtree: false, name }, { sortKey: `${key}/`, subtree: true, name });
  }
  items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
  for (const item of items) {
    const key = item.sortKey;
    const childRel = joinRel(relDir, item.name);
    if (!item.subtree) {
      if (!key.startsWith(prefix) || compareKeys(key, marker) <= 0) continue;
      // Most object directories hold no %meta file (their metadata is in the log): skip the failing open.
      if (!t.mayHoldMetaFile(volume, childRel)) continue;
      let meta: Buffer;
      try {
        meta = await readSmallFile(t.resolve(volume, joinRel(childRel, META_FILE)));
      } catch (err) {
        const e = mapError(err, `${volume}/${childRel}`);
        if (isStorageError(e, 'FileNotFound')) continue;
        throw e;
      }
      yield { key, meta };
      continue;
    }
    // Subtree: skip when it cannot hold a key that matches the prefix or sorts after the marker, or when it holds
    // no %meta file (the keys below it, if any, are the log's: the walk of the log yields them).
    if (!key.startsWith(prefix) && !prefix.startsWith(key)) continue;
    if (!t.mayHoldMetaFilesBelow(volume, childRel)) continue;
    if (marker !== '' && compareKeys(marker, key) > 0 && !marker.startsWith(key)) continue;
    if (!recursive && key.length > prefix.length && key.startsWith(prefix)) {
      const markerInside = marker.length > key.length && marker.startsWith(key);
      if (marker !== '' && compareKeys(key, marker) <= 0 && !markerInside) continue;
      // With the marker inside this prefix, only keys after the marker make it a prefix of this walk.
      if (
        markerInside
          ? await hasKeyAfter(t, volume, childRel, key, marker)
          : await hasContent(t, volume, childRel)
      )
        yield { key, prefix: true };
      continue;
    }
    yield* walkDir(t, volume, childRel, key, prefix, marker, recursive);
  }
}

/** True when a directory (the subtree of keys starting with `keyPrefix`) holds an object after `marker`. */
async function hasKeyAfter(
  t: TreeSource,
  volume: string,
  relDir: string,
  keyPrefix: string,
  marker: string,
): Promise<boolean> {
  for await (const e of walkDir(t, volume, relDir, keyPrefix, keyPrefix, marker, true)) {
    if (!e.prefix) return true;
  }
  return false;
}

/**
 * True when a directory holds a `%meta` file somewhere below it. Like the walk, it asks the disk only where the tree
 * index allows one: not for an object directory known to hold none, not below one whose whole subtree holds none.
 */
async function hasContent(t: TreeSource, volume: string, relDir: string): Promise<boolean> {
  const kids = await children(t, volume, relDir);
  for (const { name } of kids) {
    const childRel = joinRel(relDir, name);
    if (t.mayHoldMetaFile(volume, childRel)) {
      try {
        await fs.access(t.resolve(volume, joinRel(childRel, META_FILE)));
        return true;
      } catch {
        // no %meta file here
      }
    }
    if (t.mayHoldMetaFilesBelow(volume, childRel) && (await hasContent(t, volume, childRel))) return true;
  }
  return false;
}
