/**
 * Walking what a drive's metadata log holds, and merging that with the directory tree's walk (LocalDrive.walk).
 */
import { compareKeys } from '../layout';
import type { WalkEntry, WalkOptions } from './drive';
import type { MetaLog } from './meta-log';

/** Two sorted walks as one; for a key in both, the log's entry wins (a log record shadows a %meta file). */
export async function* mergeWalks(
  tree: AsyncIterator<WalkEntry>,
  logged: AsyncIterator<WalkEntry>,
): AsyncIterable<WalkEntry> {
  const head = (r: IteratorResult<WalkEntry>): WalkEntry | undefined => (r.done ? undefined : r.value);
  let t = head(await tree.next());
  let l = head(await logged.next());
  while (t || l) {
    const order = !t ? 1 : !l ? -1 : compareKeys(t.key, l.key);
    if (order < 0) {
      yield t!;
      t = head(await tree.next());
    } else if (order > 0) {
      yield l!;
      l = head(await logged.next());
    } else {
      yield l!.prefix ? t! : l!;
      t = head(await tree.next());
      l = head(await logged.next());
    }
  }
}

/**
 * The metadata log's keys as walk entries, with the tree walk's semantics: keys starting with `prefix` and after
 * `marker`; without `recursive`, keys with a `/` after the prefix roll up into one prefix entry, reported unless it
 * sorts at or before the marker (a marker inside it still lets it through, as in walkDir).
 */
export async function* walkLog(log: MetaLog, volume: string, opts: WalkOptions): AsyncIterable<WalkEntry> {
  const prefix = opts.prefix ?? '';
  const marker = opts.marker ?? '';
  let key =
    marker !== '' && compareKeys(marker, prefix) >= 0
      ? log.nextKey(volume, marker)
      : log.ceilKey(volume, prefix);
  while (key !== undefined && key.startsWith(prefix)) {
    const slash = opts.recursive ? -1 : key.indexOf('/', prefix.length);
    if (slash < 0) {
      const entry = log.byKey(volume, key);
      if (entry) {
        let meta: Buffer | undefined;
        try {
          meta = await log.read(entry);
        } catch (err) {
          if (log.byKey(volume, key) === entry) throw err; // replaced or removed meanwhile: skip it
        }
        if (meta) yield { key, meta };
      }
      key = log.nextKey(volume, key);
      continue;
    }
    const common = key.slice(0, slash + 1);
    const markerInside = marker.length > common.length && marker.startsWith(common);
    if (marker === '' || compareKeys(common, marker) > 0 || markerInside) yield { key: common, prefix: true };
    // Past every key under `common`: its trailing '/' raised to '0' is the least string above all of them.
    key = log.ceilKey(volume, `${common.slice(0, -1)}0`);
  }
}
