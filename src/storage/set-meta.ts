/**
 * One object's metadata on the drives of a set: reading the heads and the version pages an operation's scope needs,
 * resolving them by quorum, and writing a new state back page by page (the page scheme is in meta/pages.ts).
 *
 * A key without pages on any drive (every key with up to HEAD_MAX versions) takes the same path as before pages
 * existed: one head per drive, every version in scope, each head rewritten whole.
 */
import { randomUUID } from 'node:crypto';
import type { Drive } from './drive/drive';
import { isStorageError, storageError } from './errors';
import type { ErasureSet, ObjectState } from './erasure-set';
import { objectPathComponents } from './layout';
import {
  decodeMetaSharing,
  encodeMeta,
  encodeMetaSharing,
  type MetaFile,
  type MetaView,
  type SharedDecode,
  type SharedEncode,
} from './meta/meta-file';
import {
  ALL_VERSIONS,
  HEAD_MAX,
  headHorizon,
  inScope,
  isNewer,
  isNewerPosition,
  mayHold,
  pageFileName,
  relayout,
  type MetaScope,
  type PageRef,
  type Position,
  type StoredMeta,
} from './meta/pages';
import { resolve, type DriveMeta, type Resolution } from './meta/quorum';
import { hasDataDir, type ObjectVersion } from './meta/version';

/** What an operation needs resolved besides the latest version. */
export interface MetaWant {
  /** These version ids too, wherever they are. */
  ids?: readonly string[];
  /** Every version (listing versions, heal). */
  all?: boolean;
}

/** Options of writeObjectMetas. */
export interface WriteMetaOpts {
  /** Heal rewrites drives with unreadable pages (other writes leave such a drive alone, see below). */
  heal?: boolean;
}

/** A decoded head (not an error, not absent). */
function isMeta(m: DriveMeta): m is MetaFile {
  return m !== null && !(m instanceof Error);
}

/** Resolves an object from its drives' heads (as read or walked), reading the pages the scope needs. */
export async function resolveHeads(
  set: ErasureSet,
  bucket: string,
  key: string,
  heads: DriveMeta[],
  want: MetaWant = {},
): Promise<ObjectState> {
  const components = objectPathComponents(key);
  const dir = components.map((c) => c.name).join('/');
  let horizon: Position | undefined;
  for (const h of heads) {
    const hh = isMeta(h) ? headHorizon(h) : undefined;
    if (hh && (!horizon || isNewerPosition(hh, horizon))) horizon = hh;
  }
  const base = { key, dir, components, heads, horizon };
  let loaded: Awaited<ReturnType<typeof loadScope>> | undefined;
  if (!horizon) {
    const stored = heads.map((h) => (isMeta(h) ? { head: h, pages: new Map() } : h));
    return {
      ...base,
      metas: heads,
      res: resolve(heads, set.k, set.writeQuorum),
      scope: ALL_VERSIONS,
      stored,
    };
  }
  const ids = new Set(want.ids ?? []);
  let above: Position | undefined = horizon;
  for (;;) {
    const scope: MetaScope = want.all || !above ? ALL_VERSIONS : { all: false, above, ids };
    loaded = await loadScope(set, bucket, dir, heads, scope, loaded?.stored);
    const bound = above;
    const newer = (r: { version: ObjectVersion }): boolean => !bound || isNewer(r.version, bound);
    if (!bound || scope.all || loaded.res.versions.some(newer) || loaded.res.undecided.some(newer)) {
      return { ...base, ...loaded, scope };
    }
    // Nothing newer than the bound: the latest version, if any, is in a page. Read the newest pages not yet read
    // (on every drive) and look again; a key deleted newest first reads one more page at a time, not all of them.
    above = nextBound(heads, bound);
  }
}

/** The newest page position older than `bound` on any drive (undefined when none is left). */
function nextBound(heads: DriveMeta[], bound: Position): Position | undefined {
  let next: Position | undefined;
  for (const h of heads) {
    if (!isMeta(h)) continue;
    for (const ref of h.pages ?? []) {
      // Strictly older than the bound: not newer, and not the bound itself.
      if (!isNewerPosition(bound, ref.newest)) continue;
      if (!next || isNewerPosition(ref.newest, next)) next = ref.newest;
    }
  }
  return next;
}

/** Reads the pages in scope on every drive and resolves the in-scope versions. */
async function loadScope(
  set: ErasureSet,
  bucket: string,
  dir: string,
  heads: DriveMeta[],
  scope: MetaScope,
  earlier?: (StoredMeta | null | Error)[],
): Promise<{ metas: DriveMeta[]; stored: (StoredMeta | null | Error)[]; res: Resolution }> {
  const seen: SharedDecode[] = [];
  const stored = await Promise.all(
    heads.map(async (head, p): Promise<StoredMeta | null | Error> => {
      if (!isMeta(head)) return head;
      const before = earlier?.[p];
      const pages = new Map(before && !(before instanceof Error) ? before.pages : []);
      const d = set.drives[p];
      await Promise.all(
        (head.pages ?? []).map(async (ref) => {
          if (pages.has(ref.id) || !wanted(scope, ref) || !d) return;
          pages.set(ref.id, await readPage(d, bucket, dir, ref, seen));
        }),
      );
      return { head, pages };
    }),
  );
  const metas = stored.map((s): DriveMeta => {
    if (s === null || s instanceof Error) return s;
    return scopedView(s, scope);
  });
  return { metas, stored, res: resolve(metas, set.k, set.writeQuorum) };
}

/** True when a page may hold an in-scope version. */
function wanted(scope: MetaScope, ref: PageRef): boolean {
  if (scope.all) return true;
  if (scope.above && isNewerPosition(ref.newest, scope.above)) return true;
  for (const id of scope.ids) if (mayHold(ref, id)) return true;
  return false;
}

/** One page of one drive; an unreadable page is an Error (FileCorrupt when missing or damaged). */
async function readPage(
  d: Drive,
  bucket: string,
  dir: string,
  ref: PageRef,
  seen: SharedDecode[],
): Promise<MetaFile | Error> {
  try {
    const page = decodeMetaSharing(await d.readFile(bucket, `${dir}/${pageFileName(ref.id)}`), seen);
    if (page.pages || page.versions.length !== ref.count) {
      return storageError('FileCorrupt', `version page ${ref.id} does not match its reference`);
    }
    return page;
  } catch (err) {
    if (isStorageError(err, 'FileNotFound', 'FileCorrupt')) {
      return storageError('FileCorrupt', `version page ${ref.id}: ${(err as Error).message}`);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** A drive's in-scope versions from its head and the pages read; an Error when one of those pages is unreadable. */
function scopedView(s: StoredMeta, scope: MetaScope): DriveMeta {
  if (s.pages.size === 0 && (scope.all || scope.above === undefined)) return s.head;
  const out: MetaFile = { versions: [], inline: new Map() };
  for (const file of [s.head, ...s.pages.values()]) {
    if (file instanceof Error) return file;
    for (const v of file.versions) {
      if (!inScope(scope, v)) continue;
      out.versions.push(v);
      const frame = file.inline.get(v.dataDir);
      if (frame) out.inline.set(v.dataDir, frame);
    }
  }
  return out;
}

/**
 * Writes each selected drive's new in-scope state (`build(p)`), keeping what is out of scope; returns successes by
 * position. Page files are written durably before the head that lists them, and pages the head no longer lists are
 * deleted after it. A drive with an unreadable page is not written (it counts as a failure) except by heal: its
 * in-scope view is unknown, so anything written there could drop versions it still holds.
 */
export async function writeObjectMetas(
  set: ErasureSet,
  bucket: string,
  state: ObjectState,
  on: boolean[],
  build: (p: number) => MetaFile,
  opts: WriteMetaOpts = {},
): Promise<boolean[]> {
  const { key, dir } = state;
  const encoded: SharedEncode[] = [];
  const views: MetaView[] = [];
  const seen: SharedDecode[] = [];
  // Drives that lay out alike get the same page ids, so their heads encode (and later decode) once.
  const ids: string[] = [];
  return Promise.all(
    set.drives.map(async (d, p) => {
      if (!d || !on[p]) return false;
      const stored = state.stored[p];
      const unreadable = stored !== null && !(stored instanceof Error) && hasUnreadable(stored);
      if (unreadable && !opts.heal) return false;
      const written: string[] = [];
      try {
        const desired = build(p);
        const base = stored instanceof Error ? null : stored;
        if (base) await loadMergeTarget(d, bucket, dir, base, state.scope, desired, seen);
        let n = 0;
        const layout = relayout(base, state.scope, desired, {
          newId: () => ((ids[n] ??= randomUUID()), ids[n++]),
          dropUnreadable: opts.heal,
        });
        for (const page of layout.write) {
          written.push(page.id);
          await d.writeFileAtomic(bucket, `${dir}/${pageFileName(page.id)}`, encodeMeta(page.meta));
        }
        const head = layout.head;
        if (head.versions.length === 0 && !head.pages) await d.deleteMeta(bucket, dir);
        else {
          const bytes = encodeMetaSharing(head, encoded);
          const fresh = state.heads[p] === null;
          await d.writeMeta(bucket, dir, key, bytes, { fresh, decoded: head, views });
        }
        state.stored[p] = layout.stored;
        if (layout.drop.length > 0) await deletePages(d, bucket, dir, layout.drop);
        return true;
      } catch {
        await deletePages(d, bucket, dir, written);
        return false;
      }
    }),
  );
}

/** True when one of the pages read is unreadable. */
function hasUnreadable(s: StoredMeta): boolean {
  for (const page of s.pages.values()) if (page instanceof Error) return true;
  return false;
}

/**
 * Reads the drive's newest page when the head may spill, so the spill can merge into it rather than start a new
 * small page (head-scope operations read no pages of their own).
 */
async function loadMergeTarget(
  d: Drive,
  bucket: string,
  dir: string,
  base: StoredMeta,
  scope: MetaScope,
  desired: MetaFile,
  seen: SharedDecode[],
): Promise<void> {
  const refs = base.head.pages ?? [];
  if (refs.length === 0) return;
  // At most what the new head can hold: its out-of-scope records and every desired one.
  let size = desired.versions.length;
  for (const v of base.head.versions) if (!inScope(scope, v)) size++;
  if (size <= HEAD_MAX) return;
  const newest = refs.reduce((a, r) => (isNewerPosition(r.newest, a.newest) ? r : a));
  if (base.pages.has(newest.id)) return;
  const page = await readPage(d, bucket, dir, newest, seen);
  // An unreadable merge target is simply not merged into; it must not count as a page this operation read.
  if (!(page instanceof Error)) base.pages.set(newest.id, page);
}

/** Deletes page files (best effort: an unlisted page is garbage that heal removes). */
async function deletePages(d: Drive, bucket: string, dir: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    await d.delete(bucket, `${dir}/${pageFileName(id)}`, { prune: true }).catch(() => undefined);
  }
}

export { hasDataDir };
