/**
 * Version pages: how a key with thousands of versions stays cheap to write.
 *
 * A drive's metadata for one object is its head (the `%meta` file, or its record in the drive's metadata log) plus
 * the version pages the head lists. A page is an immutable file `%vp.<uuid>` in the object directory, in the
 * metadata file format (meta-file.ts) without pages of its own, holding some of the drive's versions and their
 * inline shards. A drive's logical metadata is the union of its head and its pages, and quorum resolution
 * (quorum.ts) works on that union exactly as it did on single files. Pages only change what a write reads and
 * rewrites:
 *
 * - **Spill.** When a head would hold more than HEAD_MAX versions, every version but the HEAD_KEEP newest moves to
 *   a page (merged into the drive's newest page while that stays within PAGE_MAX). Moving records between a drive's
 *   own files changes nothing the drive says, so a spill needs no quorum: the page is written durably first, then
 *   the head that lists it, then the page it replaced is deleted. A crash in between leaves an unlisted page file,
 *   which heal removes.
 * - **Horizon.** The newest version in any of a drive's pages is its horizon; H is the newest horizon of the drives
 *   that answered. A version newer than H is in every drive's head, so the heads alone resolve every version newer
 *   than H: the latest version (a spill keeps the newest in the head), a new write, a ListObjects entry. That is
 *   the head scope, and what most operations read. When no version newer than H is found (the newest were deleted
 *   by id), the bound moves down one page position at a time, reading on every drive the pages newer than it.
 * - **Scope.** An operation resolves only the versions in its scope: newer than H, plus the version ids it names
 *   (for those it reads every page whose reference may hold them: `ids` brackets the page's version ids in text
 *   order, UUIDv7 ids are nearly time-ordered, and `hasNull` marks the page with the `null` version), or everything
 *   (listing versions, heal). Records out of scope stay exactly where and as they are on each drive.
 * - **Rewrite.** A write puts each in-scope record back where the drive had it: a record whose exact version
 *   (signature) sits in a page the operation read goes back into that page, anything else into the head. A page
 *   whose contents did not change keeps its file; one that changed is written anew under a new id.
 *
 * So a write to a key with n versions reads and writes O(HEAD_MAX + pages) bytes per drive instead of O(n), and a
 * read or delete by version id reads one page per drive.
 */
import type { MetaFile } from './meta-file';
import { compareVersions } from './quorum';
import { hasDataDir, versionSignature, type ObjectVersion } from './version';

/** Name prefix of page files in an object directory (reserved: `%` and a lower-case letter, see layout.ts). */
export const PAGE_FILE_PREFIX = '%vp.';
/** A head holding more versions than this spills to a page. */
export const HEAD_MAX = 32;
/** Versions a spill leaves in the head (the newest). */
export const HEAD_KEEP = 8;
/** A spill merges into the newest page while the merged page holds at most this many versions. */
export const PAGE_MAX = 200;

/** A version's place in the newest-first order: [modTime, versionId]. */
export type Position = [modTime: number, versionId: string];

/** A head's entry for one of its pages. */
export interface PageRef {
  /** UUID; the file is `%vp.<id>` in the object directory. */
  id: string;
  /** Versions in the page. */
  count: number;
  /** Position of its newest version. */
  newest: Position;
  /** Smallest and largest version id in text order, `null` ids aside (null when it holds only those). */
  ids: [string, string] | null;
  /** Holds a version with id `null`. */
  hasNull: boolean;
  /**
   * Holds a version whose data is in a data directory. Kept in the format, no longer read: it placed the head in a
   * `%meta` file when drives kept only dataless objects' metadata in their log.
   */
  dataDirs: boolean;
}

/** File name of a page. */
export function pageFileName(id: string): string {
  return PAGE_FILE_PREFIX + id;
}

/** True when `v` sorts before (is newer than) position `pos`. */
export function isNewer(v: { modTime: number; versionId: string }, pos: Position): boolean {
  if (v.modTime !== pos[0]) return v.modTime > pos[0];
  return v.versionId > pos[1];
}

/** True when position a is newer than position b. */
export function isNewerPosition(a: Position, b: Position): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] > b[1];
}

/** True when page a's newest version is newer than page b's. */
function newerRef(a: PageRef, b: PageRef): boolean {
  return isNewerPosition(a.newest, b.newest);
}

/** A drive's horizon: the newest version in any of its pages, or undefined for a head without pages. */
export function headHorizon(head: MetaFile): Position | undefined {
  let newest: PageRef | undefined;
  for (const ref of head.pages ?? []) if (!newest || newerRef(ref, newest)) newest = ref;
  return newest?.newest;
}

/** A page reference describing `versions` (newest first). */
export function pageRefFor(id: string, versions: ObjectVersion[]): PageRef {
  let lo: string | undefined;
  let hi: string | undefined;
  let hasNull = false;
  for (const v of versions) {
    if (v.versionId === 'null') {
      hasNull = true;
      continue;
    }
    if (lo === undefined || v.versionId < lo) lo = v.versionId;
    if (hi === undefined || v.versionId > hi) hi = v.versionId;
  }
  return {
    id,
    count: versions.length,
    newest: [versions[0].modTime, versions[0].versionId],
    ids: lo === undefined ? null : [lo, hi!],
    hasNull,
    dataDirs: versions.some(hasDataDir),
  };
}

/** True when the page may hold a version with this id (never false when it does). */
export function mayHold(ref: PageRef, versionId: string): boolean {
  if (versionId === 'null') return ref.hasNull;
  return ref.ids !== null && versionId >= ref.ids[0] && versionId <= ref.ids[1];
}

/** Which versions an operation resolves (see the file comment). */
export interface MetaScope {
  /** Every version, from every page. */
  all: boolean;
  /** Otherwise: versions newer than this (all versions when undefined: no drive has pages)... */
  above?: Position;
  /** ...and versions with these ids. */
  ids: ReadonlySet<string>;
}

/** The scope of everything. */
export const ALL_VERSIONS: MetaScope = { all: true, ids: new Set() };

/** True when version v is in scope. */
export function inScope(scope: MetaScope, v: ObjectVersion): boolean {
  return scope.all || scope.above === undefined || isNewer(v, scope.above) || scope.ids.has(v.versionId);
}

/** What one drive holds: its head and the contents of the pages an operation read (an Error: unreadable). */
export interface StoredMeta {
  head: MetaFile;
  pages: Map<string, MetaFile | Error>;
}

/** How to bring a drive from what it stores to a new in-scope state. */
export interface Layout {
  head: MetaFile;
  /** Pages to write, durably, before the head. */
  write: { id: string; meta: MetaFile }[];
  /** Page ids to delete once the head is written. */
  drop: string[];
  /** What the drive stores once all of it is done. */
  stored: StoredMeta;
}

/** Options of relayout. */
export interface RelayoutOptions {
  /** A fresh page id. */
  newId: () => string;
  /** Drop references to unreadable pages (heal, which rewrites their versions from the other drives). */
  dropUnreadable?: boolean;
}

/**
 * Lays out a drive's new state: `desired` replaces the in-scope records of what it stores, out-of-scope records
 * stay where they are, then the head spills if it grew too large. Pure; the caller performs the writes in order.
 */
export function relayout(
  stored: StoredMeta | null,
  scope: MetaScope,
  desired: MetaFile,
  opts: RelayoutOptions,
): Layout {
  const head = stored?.head;
  const refs = head?.pages ?? [];
  if (
    refs.length === 0 &&
    (!head || scope.all || scope.above === undefined) &&
    desired.versions.length <= HEAD_MAX
  ) {
    // The common case, a key with few versions: the head is simply the new state.
    return { head: desired, write: [], drop: [], stored: { head: desired, pages: new Map() } };
  }
  const known = stored?.pages ?? new Map<string, MetaFile | Error>();
  const pageOf = new Map<string, string>();
  const contents = new Map<string, MetaFile>();
  for (const ref of refs) {
    const page = known.get(ref.id);
    if (!page || page instanceof Error) continue;
    const kept = keepOutOfScope(page, scope);
    contents.set(ref.id, kept);
    for (const v of page.versions) if (inScope(scope, v)) pageOf.set(versionSignature(v), ref.id);
  }
  const newHead = head ? keepOutOfScope(head, scope) : { versions: [], inline: new Map<string, Buffer>() };
  for (const v of desired.versions) {
    const pid = pageOf.get(versionSignature(v));
    const target = (pid && contents.get(pid)) || newHead;
    target.versions.push(v);
    const frame = desired.inline.get(v.dataDir);
    if (frame) target.inline.set(v.dataDir, frame);
  }

  const out: Layout = { head: newHead, write: [], drop: [], stored: { head: newHead, pages: new Map() } };
  const newRefs: PageRef[] = [];
  const addPage = (meta: MetaFile): void => {
    meta.versions.sort(compareVersions);
    const id = opts.newId();
    out.write.push({ id, meta });
    out.stored.pages.set(id, meta);
    newRefs.push(pageRefFor(id, meta.versions));
  };
  for (const ref of refs) {
    const page = known.get(ref.id);
    if (page === undefined || (page instanceof Error && !opts.dropUnreadable)) {
      newRefs.push(ref);
      if (page) out.stored.pages.set(ref.id, page);
      continue;
    }
    const next = contents.get(ref.id);
    if (!(page instanceof Error) && next && samePage(page, next)) {
      newRefs.push(ref);
      out.stored.pages.set(ref.id, page);
      continue;
    }
    out.drop.push(ref.id);
    if (next && next.versions.length > 0) addPage(next);
  }

  newHead.versions.sort(compareVersions);
  if (newHead.versions.length > HEAD_MAX) spill(out, newRefs, addPage);
  newHead.pages = newRefs.sort((a, b) => (newerRef(a, b) ? -1 : 1));
  if (newHead.pages.length === 0) delete newHead.pages;
  return out;
}

/** Moves all but the HEAD_KEEP newest head versions into pages, merging into the newest page when it fits. */
function spill(out: Layout, refs: PageRef[], addPage: (meta: MetaFile) => void): void {
  const head = out.head;
  const moving = head.versions.splice(HEAD_KEEP);
  const inline = new Map<string, Buffer>();
  for (const v of moving) {
    const frame = head.inline.get(v.dataDir);
    if (!frame) continue;
    inline.set(v.dataDir, frame);
    head.inline.delete(v.dataDir);
  }
  const newest = refs.reduce<PageRef | undefined>((a, r) => (!a || newerRef(r, a) ? r : a), undefined);
  const target = newest && out.stored.pages.get(newest.id);
  if (newest && target && !(target instanceof Error) && target.versions.length + moving.length <= PAGE_MAX) {
    const id = newest.id;
    refs.splice(refs.indexOf(newest), 1);
    out.stored.pages.delete(id);
    const written = out.write.findIndex((w) => w.id === id);
    if (written >= 0) out.write.splice(written, 1);
    else out.drop.push(id);
    addPage({ versions: [...target.versions, ...moving], inline: new Map([...target.inline, ...inline]) });
    return;
  }
  for (let i = 0; i < moving.length; i += PAGE_MAX) {
    const chunk = moving.slice(i, i + PAGE_MAX);
    const frames = new Map<string, Buffer>();
    for (const v of chunk) {
      const f = inline.get(v.dataDir);
      if (f) frames.set(v.dataDir, f);
    }
    addPage({ versions: chunk, inline: frames });
  }
}

/** The out-of-scope part of a file, with their inline frames. */
function keepOutOfScope(meta: MetaFile, scope: MetaScope): MetaFile {
  const out: MetaFile = { versions: [], inline: new Map() };
  for (const v of meta.versions) {
    if (inScope(scope, v)) continue;
    out.versions.push(v);
    const frame = meta.inline.get(v.dataDir);
    if (frame) out.inline.set(v.dataDir, frame);
  }
  return out;
}

/** True when a page's new contents equal its old ones (same versions in the same state, same inline frames). */
function samePage(a: MetaFile, b: MetaFile): boolean {
  if (a.versions.length !== b.versions.length) return false;
  const bySig = new Map(b.versions.map((v) => [versionSignature(v), v]));
  return a.versions.every((v) => {
    const w = bySig.get(versionSignature(v));
    if (!w || w.state !== v.state || w.replacedBy !== v.replacedBy) return false;
    const fa = a.inline.get(v.dataDir);
    const fb = b.inline.get(v.dataDir);
    return fa === fb || (fa !== undefined && fb !== undefined && fa.equals(fb));
  });
}
