/**
 * Listing one erasure set: every drive walks its copy of the bucket in key byte order; the walks are merged and
 * each key's metadata copies resolved by quorum exactly as a read would, so a listing never shows what a GET could
 * not read (crash leftovers, versions without quorum) and stays correct with up to m drives offline. The walk
 * yields heads; an entry resolves its latest version from them, or every version (reading its version pages) when
 * the walk is for ListObjectVersions.
 */
import type { WalkEntry, WalkOptions } from './drive/drive';
import { storageError } from './errors';
import type { ErasureSet } from './erasure-set';
import { compareKeys } from './layout';
import { decodeMetaSharing, type SharedDecode } from './meta/meta-file';
import type { DriveMeta, Resolution } from './meta/quorum';
import { resolveHeads, type MetaWant } from './set-meta';

/** A merged listing entry. */
export interface SetEntry {
  key: string;
  /** A common prefix (non-recursive walks). */
  prefix?: boolean;
  /** The key's resolved metadata (objects). */
  res?: Resolution;
  metas?: DriveMeta[];
}

interface Cursor {
  it: AsyncIterator<WalkEntry>;
  head: WalkEntry | null;
  failed: Error | null;
}

async function advance(c: Cursor): Promise<void> {
  if (c.failed) return;
  try {
    const next = await c.it.next();
    c.head = next.done ? null : next.value;
  } catch (err) {
    c.head = null;
    c.failed = err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * Merged walk of a set. `minCopies` is how many drives must report an entry for it to be resolved at all
 * (heal sweeps pass 1 to see every leftover; listings use the read quorum); `want` is what each entry resolves.
 */
export async function* walkSet(
  set: ErasureSet,
  bucket: string,
  opts: WalkOptions,
  minCopies = set.k,
  want: MetaWant = {},
): AsyncGenerator<SetEntry> {
  const cursors: (Cursor | null)[] = set.drives.map((d) =>
    d ? { it: d.walk(bucket, opts)[Symbol.asyncIterator](), head: null, failed: null } : null,
  );
  await Promise.all(cursors.map(async (c) => (c ? advance(c) : undefined)));
  const online = (): number => cursors.filter((c) => c && !c.failed).length;
  if (online() < set.k) throw storageError('ReadQuorum', `only ${online()} drives can list, need ${set.k}`);
  try {
    for (;;) {
      let min: WalkEntry | null = null;
      for (const c of cursors) {
        if (!c?.head) continue;
        if (!min || compareEntries(c.head, min) < 0) min = c.head;
      }
      if (!min) break;
      const current = min;
      const holding: boolean[] = cursors.map((c) => !!c?.head && compareEntries(c.head, current) === 0);
      const seen: SharedDecode[] = [];
      const heads: DriveMeta[] = cursors.map((c, p) => {
        if (!c || c.failed) return storageError('DriveOffline', 'drive offline');
        if (!holding[p]) return null;
        try {
          return c.head!.meta ? decodeMetaSharing(c.head!.meta, seen) : null;
        } catch (err) {
          return err as Error;
        }
      });
      const copies = holding.filter(Boolean).length;
      await Promise.all(cursors.map(async (c, p) => (holding[p] && c ? advance(c) : undefined)));
      if (online() < set.k)
        throw storageError('ReadQuorum', `only ${online()} drives can list, need ${set.k}`);
      if (copies < minCopies) continue;
      if (current.prefix) {
        yield { key: current.key, prefix: true };
        continue;
      }
      const { res, metas } = await resolveHeads(set, bucket, current.key, heads, want);
      yield { key: current.key, res, metas };
    }
  } finally {
    await Promise.all(cursors.map(async (c) => c?.it.return?.().catch(() => undefined)));
  }
}

function compareEntries(a: WalkEntry, b: WalkEntry): number {
  return compareKeys(a.key, b.key) || Number(!!a.prefix) - Number(!!b.prefix);
}
