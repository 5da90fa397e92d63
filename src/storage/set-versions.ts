/**
 * Removing and changing single versions of an object in an erasure set, with the same two-phase discipline as
 * writes: a deleted version is first marked pending-delete on its drives (so a crash leaves it decidable), and only
 * dropped, with its data, once the mark has write quorum.
 */
import { storageError } from './errors';
import { hasDataDir, type ObjectVersion } from './meta/version';
import type { ErasureSet } from './erasure-set';
import { toObjectInfo } from './object-info';
import type {
  DeleteGuardView,
  DeleteObjectOptions,
  DeleteObjectResult,
  ObjectInfo,
  VersioningStatus,
  VersionUpdate,
} from './object-layer';
import { uuid7 } from './util/uuid7';

/** A delete's guard (DeleteObjectOptions.guard). */
export type DeleteGuard = (view: DeleteGuardView) => boolean;

function guardFailed(): Error {
  return storageError('PreconditionFailed', 'the version changed: the guarded delete no longer applies');
}

/**
 * DeleteObject in one set: the version `opts.versionId` names, or without one what the bucket's `versioning` makes
 * of a plain DELETE (a new marker when Enabled, the null marker when Suspended, the null version when unversioned).
 * `latest` is null when the key is left without versions (the unversioned case), undefined when not known here.
 */
export async function deleteObjectAs(
  set: ErasureSet,
  bucket: string,
  key: string,
  opts: DeleteObjectOptions,
  versioning: VersioningStatus | undefined,
): Promise<{ result: DeleteObjectResult; latest?: null }> {
  const { versionId, guard } = opts;
  if (versionId !== undefined) return { result: await deleteVersion(set, bucket, key, versionId, guard) };
  switch (versioning) {
    case 'Enabled':
      return { result: await addDeleteMarker(set, bucket, key, uuid7(), guard) };
    case 'Suspended':
      return { result: await addDeleteMarker(set, bucket, key, 'null', guard) };
    default:
      // The null version was the key's only one.
      return { result: await deleteVersion(set, bucket, key, 'null', guard), latest: null };
  }
}

/**
 * Deletes one version by id. With a guard, every version of the key is read (pages included: the guard may need a
 * version's successor) and the guard decides under the lock.
 */
export async function deleteVersion(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string,
  guard?: DeleteGuard,
): Promise<DeleteObjectResult> {
  return set.locks.withWrite(`${bucket}/${key}`, async () => {
    const state = await set.state(bucket, key, guard ? { all: true } : { ids: [versionId] });
    const { dir, metas, res } = state;
    const target = set.pick(res, versionId);
    if (guard) {
      const versions = res.versions.map((r, i) => toObjectInfo(bucket, key, r.version, i === 0));
      if (!guard({ target: versions[res.versions.indexOf(target)], versions })) throw guardFailed();
    }
    const holders = target.holders.map((h, p) => h && set.drives[p] !== null);
    const marked = await set.writeMetas(bucket, state, holders, (p) =>
      set.metaFor(res, metas, p, { pending: { signature: target.signature } }),
    );
    // Drives that answered without the version already count as absent.
    const absent = metas.filter((m, p) => !(m instanceof Error) && !target.holders[p]).length;
    if (absent + marked.filter(Boolean).length < set.writeQuorum) {
      await set.writeMetas(bucket, state, marked, (p) => set.metaFor(res, metas, p));
      throw storageError('WriteQuorum', 'could not mark the version deleted on enough drives');
    }
    await set.writeMetas(bucket, state, marked, (p) =>
      set.metaFor(res, metas, p, { drop: target.signature }),
    );
    if (hasDataDir(target.version)) await set.deleteDataDir(bucket, dir, target.version.dataDir, marked);
    if (res.inconsistent || marked.some((ok, p) => !ok && holders[p])) set.config.requestHeal(bucket, key);
    return {
      versionId: target.version.versionId,
      deleteMarker: target.version.type === 'delete-marker',
      ...removedTier(bucket, key, target.version),
    };
  });
}

/**
 * Adds a delete marker with id `versionId` on top of the key's versions (replacing a version with the same id, as a
 * `null` marker replaces the `null` version in a Suspended bucket). The key need not exist: S3 adds the marker anyway.
 */
export async function addDeleteMarker(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string,
  guard?: DeleteGuard,
): Promise<DeleteObjectResult> {
  const marker = set.newVersion({}, versionId, set.distribution(key), 0, '', true);
  marker.type = 'delete-marker';
  marker.parts = [];
  const check =
    guard &&
    ((latest: ObjectVersion | undefined): void => {
      if (!guard({ target: latest && toObjectInfo(bucket, key, latest, true) })) throw guardFailed();
    });
  const { replaced } = await set.commit(bucket, key, marker, {}, check);
  return { versionId, deleteMarker: true, ...(replaced ? removedTier(bucket, key, replaced) : {}) };
}

/** The fields of a DeleteObjectResult that report a removed version's tier state (none without one). */
function removedTier(
  bucket: string,
  key: string,
  removed: ObjectVersion,
): Pick<DeleteObjectResult, 'tier' | 'removed'> {
  if (!removed.tier) return {};
  return { tier: removed.tier, removed: toObjectInfo(bucket, key, removed, false) };
}

/**
 * Compare-and-swap on one version's record: `update` sees the current record under the write lock and returns the
 * new one (or null for no change). The data is kept; the version's identity (id, data, time) cannot change, nor
 * where its data lives (local or remote: set-remote.ts moves it). Returns the version after, and as it was before
 * (null when `update` refused: nothing was written).
 */
export async function updateVersion(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string,
  update: VersionUpdate,
): Promise<{ info: ObjectInfo; before: ObjectInfo | null }> {
  return set.locks.withWrite(`${bucket}/${key}`, async () => {
    const state = await set.state(bucket, key, { ids: [versionId] });
    const found = set.pick(state.res, versionId);
    const isLatest = found === state.res.versions[0];
    const next = update(structuredClone(found.version));
    const before = toObjectInfo(bucket, key, found.version, isLatest);
    if (next === null) return { info: before, before: null };
    const cur = found.version;
    if (
      next.versionId !== cur.versionId ||
      next.dataDir !== cur.dataDir ||
      next.modTime !== cur.modTime ||
      next.inline !== cur.inline ||
      (next.remote === true) !== (cur.remote === true) ||
      next.size !== cur.size
    ) {
      throw storageError('InvalidArgument', "a version update cannot change the version's identity or data");
    }
    next.state = 'live';
    delete next.replacedBy;
    next.revision = (cur.revision ?? 0) + 1;
    await set.commitLocked(bucket, state, next, { reuse: true });
    return { info: toObjectInfo(bucket, key, next, isLatest), before };
  });
}
