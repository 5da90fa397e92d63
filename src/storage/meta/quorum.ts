/**
 * Quorum resolution: from what each drive of a set says about one object, decide which versions exist.
 * Pure code; every read, write, listing and heal goes through it, so they all agree.
 *
 * Writes are two-phase (see erasure-set.ts): data lands first, then each drive's metadata file is replaced. A
 * version being removed (overwritten null version, deleted version) is kept as `pending-delete` until the removing
 * operation has reached quorum, so a crash between drives always leaves enough copies to decide:
 *
 * - A version is FOUND when at least k drives hold it (`live`, or `pending-delete` by a replacement that is itself not
 *   found): k copies of its metadata and shards make it readable.
 * - A version is GONE when so many drives that answered lack it (absent, or `pending-delete`) that it can never have
 *   reached the write quorum: more than n - writeQuorum. Crash leftovers of uncommitted writes are GONE, and heal
 *   purges them.
 * - Otherwise it is UNDECIDED (drives offline hide the answer): reads of it fail with ReadQuorum rather than guess.
 *
 * FOUND wins over GONE if both hold (possible only when k == m), so data is never dropped on a tie.
 */
import type { MetaFile } from './meta-file';
import { versionSignature, type ObjectVersion } from './version';

/** What one drive said: its metadata file, null when it has none, an Error when it could not answer. */
export type DriveMeta = MetaFile | null | Error;

/** One resolved version. */
export interface ResolvedVersion {
  version: ObjectVersion;
  signature: string;
  /** Drive positions holding this version's record (any state); inline shards are read from these. */
  holders: boolean[];
}

export interface Resolution {
  /** Found versions, newest first. */
  versions: ResolvedVersion[];
  /** Versions seen on some drive whose fate the answering drives cannot decide. */
  undecided: ResolvedVersion[];
  /** Signatures of versions judged GONE (crash leftovers to purge). */
  gone: Set<string>;
  /** Drive positions that answered (metadata or a definite "none"). */
  answered: number;
  /** True when some answering drive's file differs from the resolved state (missing, stale, leftovers). */
  inconsistent: boolean;
}

/** Orders versions newest first; ties (same millisecond) by version id, descending. */
export function compareVersions(a: ObjectVersion, b: ObjectVersion): number {
  if (a.modTime !== b.modTime) return b.modTime - a.modTime;
  return a.versionId < b.versionId ? 1 : a.versionId > b.versionId ? -1 : 0;
}

/** Resolves one object's versions across the drives of a set of n = k + m drives. */
export function resolve(metas: DriveMeta[], k: number, writeQuorum: number): Resolution {
  const n = metas.length;
  let answered = 0;
  interface Tally {
    version: ObjectVersion;
    holders: boolean[];
    live: number;
    pendingReplace: Map<string, number>;
    pendingDelete: number;
  }
  const tallies = new Map<string, Tally>();
  let inconsistent = false;
  metas.forEach((meta, pos) => {
    if (meta instanceof Error) {
      // A torn or rotten metadata file is an answer heal must replace, unlike an offline drive.
      if ((meta as { code?: string }).code === 'FileCorrupt') inconsistent = true;
      return;
    }
    answered++;
    if (meta === null) return;
    for (const v of meta.versions) {
      const sig = versionSignature(v);
      let t = tallies.get(sig);
      if (!t) {
        t = {
          version: v,
          holders: new Array<boolean>(n).fill(false),
          live: 0,
          pendingReplace: new Map(),
          pendingDelete: 0,
        };
        tallies.set(sig, t);
      }
      if (t.holders[pos]) continue;
      t.holders[pos] = true;
      if (v.state === 'pending-delete') {
        if (v.replacedBy) t.pendingReplace.set(v.replacedBy, (t.pendingReplace.get(v.replacedBy) ?? 0) + 1);
        else t.pendingDelete++;
      } else {
        t.live++;
        if (t.version.state !== 'live') t.version = v; // prefer a live copy of the record
      }
    }
  });

  // Replacements are always written live, so whether a replacer is found depends on its live count alone.
  const liveFound = (sig: string): boolean => (tallies.get(sig)?.live ?? 0) >= k;
  const versions: ResolvedVersion[] = [];
  const undecided: ResolvedVersion[] = [];
  const gone = new Set<string>();
  for (const [sig, t] of tallies) {
    let present = t.live;
    for (const [replacer, count] of t.pendingReplace) if (!liveFound(replacer)) present += count;
    const absent = answered - present;
    const resolved: ResolvedVersion = { version: normalise(t.version), signature: sig, holders: t.holders };
    if (present >= k) {
      versions.push(resolved);
      if (present !== answered || t.live !== present) inconsistent = true;
    } else if (absent > n - writeQuorum) {
      gone.add(sig);
      inconsistent = true;
    } else {
      undecided.push(resolved);
      inconsistent = true;
    }
  }
  // Two found copies of the same version id (an overwritten null version, or a record updated in place, when
  // k == m): keep the newest, and of two revisions of one version (same time), the later revision.
  versions.sort(
    (a, b) => compareVersions(a.version, b.version) || (b.version.revision ?? 0) - (a.version.revision ?? 0),
  );
  const seen = new Set<string>();
  const unique = versions.filter((r) => {
    if (seen.has(r.version.versionId)) {
      gone.add(r.signature);
      return false;
    }
    seen.add(r.version.versionId);
    return true;
  });
  return { versions: unique, undecided, gone, answered, inconsistent };
}

/** The committed form of a record. */
function normalise(v: ObjectVersion): ObjectVersion {
  if (v.state === 'live' && v.replacedBy === undefined) return v;
  const copy = { ...v, state: 'live' as const };
  delete copy.replacedBy;
  return copy;
}
