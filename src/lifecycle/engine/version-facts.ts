/**
 * From stored versions to the facts rule evaluation needs (rules/evaluate.ts VersionFacts).
 *
 * A key's versions, newest first, say everything: version 0 is current; version i > 0 became noncurrent when
 * version i-1 was written (its modification time), and i-1 noncurrent versions are newer than it (delete markers
 * count: they are versions). A current delete marker is "expired" when it is the key's only version.
 */
import type { ObjectInfo } from '../../storage/object-layer';
import { sameRecord } from '../../storage/util/same-record';
import type { VersionFacts } from '../rules/evaluate';

/** The facts of version `i` of `versions` (one key, newest first, complete). */
export function factsAt(versions: readonly ObjectInfo[], i: number): VersionFacts {
  const v = versions[i];
  return {
    key: v.key,
    size: v.deleteMarker ? 0 : v.size,
    tags: v.tags,
    modTime: v.modTime.getTime(),
    isLatest: i === 0,
    isDeleteMarker: v.deleteMarker,
    ...(i > 0 ? { noncurrentSince: versions[i - 1].modTime.getTime(), newerNoncurrentVersions: i - 1 } : {}),
    ...(i === 0 && v.deleteMarker ? { isOnlyVersion: versions.length === 1 } : {}),
    storageClass: v.storageClass,
  };
}

/** The facts of the current version `latest` alone (enough for every action on a current object version). */
export function latestFacts(latest: ObjectInfo): VersionFacts {
  const facts = factsAt([latest], 0);
  delete facts.isOnlyVersion; // unknown without the other versions: no marker removal from this view
  return facts;
}

/**
 * True when two states of the same version give rule evaluation the same facts: an in-place update that changed
 * none of them (a transition's intent, a restore's state) cannot change what the rules plan for the key, since the
 * facts of the key's other versions depend only on versions' times and order, which no update changes.
 */
export function sameRuleFacts(a: ObjectInfo, b: ObjectInfo): boolean {
  if (
    a.key !== b.key ||
    a.versionId !== b.versionId ||
    a.deleteMarker !== b.deleteMarker ||
    a.size !== b.size ||
    a.modTime.getTime() !== b.modTime.getTime() ||
    a.storageClass !== b.storageClass
  )
    return false;
  return sameRecord(a.tags, b.tags);
}
