/**
 * Listing across the pool: each set's merged walk (set-listing.ts) is merged again across sets, then S3's
 * delimiter, marker and max-keys rules are applied. Keys live in exactly one set; common prefixes can come from
 * several and are reported once.
 */
import type { ErasureSet } from './erasure-set';
import { isStorageError } from './errors';
import { compareKeys } from './layout';
import { toObjectInfo } from './object-info';
import type {
  ListObjectsOptions,
  ListObjectsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ListVersionsOptions,
  ListVersionsResult,
  ObjectInfo,
} from './object-layer';
import type { Resolution } from './meta/quorum';
import { walkSet, type SetEntry } from './set-listing';
import type { MetaWant } from './set-meta';
import { listSetUploads } from './set-multipart';

/** One listing item after S3's delimiter roll-up: a common prefix, or a key with its resolved versions. */
type Rolled = { prefix: string } | { key: string; res: Resolution };

/**
 * The merged walk of every set from after `marker`, with keys under a common prefix rolled up into that prefix
 * (reported once, and never at or before the marker).
 */
async function* rolledUp(
  sets: ErasureSet[],
  bucket: string,
  prefix: string,
  delimiter: string,
  marker: string,
  want: MetaWant = {},
): AsyncGenerator<Rolled> {
  const walkOpts = { prefix, marker, recursive: delimiter !== '/' };
  let lastPrefix: string | undefined;
  for await (const entry of mergeSets(sets.map((s) => walkSet(s, bucket, walkOpts, s.k, want)))) {
    let cp: string | undefined;
    if (entry.prefix) cp = entry.key;
    else if (delimiter !== '') {
      const at = entry.key.indexOf(delimiter, prefix.length);
      if (at >= 0) cp = entry.key.slice(0, at + delimiter.length);
    }
    if (cp === undefined) {
      yield { key: entry.key, res: entry.res! };
    } else if (cp !== lastPrefix && (marker === '' || compareKeys(cp, marker) > 0)) {
      lastPrefix = cp;
      yield { prefix: cp };
    }
  }
}

/** max-keys as S3 takes it: 1000 when absent, never more than 1000. */
function pageSize(maxKeys: number | undefined): number {
  return Math.max(0, Math.min(maxKeys ?? 1000, 1000));
}

/** ListObjects over all sets: merged walks, quorum-resolved entries, delimiter roll-up, marker and max-keys. */
export async function listPoolObjects(
  sets: ErasureSet[],
  bucket: string,
  opts: ListObjectsOptions = {},
): Promise<ListObjectsResult> {
  const maxKeys = pageSize(opts.maxKeys);
  const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys === 0) return result;
  let count = 0;
  for await (const item of rolledUp(
    sets,
    bucket,
    opts.prefix ?? '',
    opts.delimiter ?? '',
    opts.marker ?? '',
  )) {
    let info: ObjectInfo | undefined;
    if ('key' in item) {
      const latest = item.res.versions[0];
      const newerUndecided = item.res.undecided.some(
        (u) => !latest || u.version.modTime > latest.version.modTime,
      );
      // A key whose latest version is a delete marker is not listed (nor one whose latest is undecided).
      if (!latest || newerUndecided || latest.version.type === 'delete-marker') continue;
      info = toObjectInfo(bucket, item.key, latest.version, true);
    }
    if (count === maxKeys) {
      result.isTruncated = true;
      break;
    }
    count++;
    if (info) {
      result.objects.push(info);
      result.nextMarker = info.key;
    } else if ('prefix' in item) {
      result.commonPrefixes.push(item.prefix);
      result.nextMarker = item.prefix;
    }
  }
  return result;
}

/**
 * ListObjectVersions over all sets: every version and delete marker a read by version id would find, keys in byte
 * order and each key's versions newest first, with S3's delimiter roll-up. A page ends after max-keys versions and
 * prefixes; the next one starts after (key-marker, version-id-marker), that is inside the key where this one
 * stopped. A version-id-marker that names no version of key-marker (deleted since) resumes at the next key.
 */
export async function listPoolVersions(
  sets: ErasureSet[],
  setFor: (key: string) => ErasureSet,
  bucket: string,
  opts: ListVersionsOptions = {},
): Promise<ListVersionsResult> {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const keyMarker = opts.keyMarker ?? '';
  const versionIdMarker = keyMarker === '' ? '' : (opts.versionIdMarker ?? '');
  const maxKeys = pageSize(opts.maxKeys);
  const result: ListVersionsResult = { versions: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys === 0) return result;
  let count = 0;
  /** Adds the versions of one key after `after` (a version id); false once the page is full. */
  const addKey = (key: string, res: Resolution, after?: string): boolean => {
    let from = 0;
    if (after !== undefined) {
      const at = res.versions.findIndex((r) => r.version.versionId === after);
      if (at < 0) return true;
      from = at + 1;
    }
    for (let i = from; i < res.versions.length; i++) {
      if (count === maxKeys) {
        result.isTruncated = true;
        return false;
      }
      count++;
      const v = res.versions[i].version;
      result.versions.push(toObjectInfo(bucket, key, v, i === 0));
      result.nextKeyMarker = key;
      result.nextVersionIdMarker = v.versionId;
    }
    return true;
  };

  const inPrefix = keyMarker.startsWith(prefix);
  const rolled = delimiter !== '' && keyMarker.indexOf(delimiter, prefix.length) >= 0;
  if (versionIdMarker !== '' && inPrefix && !rolled) {
    let res: Resolution | undefined;
    try {
      res = (await setFor(keyMarker).state(bucket, keyMarker, { all: true })).res;
    } catch (err) {
      // A marker that cannot name an object has no versions to resume in.
      if (!isStorageError(err, 'InvalidObjectName', 'ObjectNameTooLong')) throw err;
    }
    if (res && !addKey(keyMarker, res, versionIdMarker)) return finishVersions(result);
  }
  for await (const item of rolledUp(sets, bucket, prefix, delimiter, keyMarker, { all: true })) {
    if ('key' in item) {
      if (!addKey(item.key, item.res)) break;
      continue;
    }
    if (count === maxKeys) {
      result.isTruncated = true;
      break;
    }
    count++;
    result.commonPrefixes.push(item.prefix);
    result.nextKeyMarker = item.prefix;
    result.nextVersionIdMarker = undefined;
  }
  return finishVersions(result);
}

/** Next markers are only for truncated pages. */
function finishVersions(result: ListVersionsResult): ListVersionsResult {
  if (!result.isTruncated) {
    delete result.nextKeyMarker;
    delete result.nextVersionIdMarker;
  }
  return result;
}

/** ListMultipartUploads over all sets, in key then upload id order. */
export async function listPoolUploads(
  sets: ErasureSet[],
  bucket: string,
  opts: ListUploadsOptions = {},
): Promise<ListUploadsResult> {
  const prefix = opts.prefix ?? '';
  const keyMarker = opts.keyMarker ?? '';
  const idMarker = opts.uploadIdMarker ?? '';
  const max = Math.max(0, Math.min(opts.maxUploads ?? 1000, 1000));
  const all = (await Promise.all(sets.map((s) => listSetUploads(s, bucket))))
    .flat()
    .filter((u) => u.key.startsWith(prefix))
    .filter((u) => {
      const c = compareKeys(u.key, keyMarker);
      return keyMarker === '' || c > 0 || (c === 0 && idMarker !== '' && u.uploadId > idMarker);
    })
    // Upload ids are UUIDv7, so within a key their text order is initiation order, as S3 lists them.
    .sort(
      (a, b) => compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0),
    );
  const page = all.slice(0, max);
  const last = page[page.length - 1];
  return {
    uploads: page,
    isTruncated: all.length > max,
    nextKeyMarker: all.length > max ? last?.key : undefined,
    nextUploadIdMarker: all.length > max ? last?.uploadId : undefined,
  };
}

/** Merges the sorted entry streams of several sets (keys never repeat across sets; prefixes may). */
async function* mergeSets(streams: AsyncGenerator<SetEntry>[]): AsyncGenerator<SetEntry> {
  if (streams.length === 1) {
    yield* streams[0];
    return;
  }
  const heads = await Promise.all(streams.map((s) => s.next()));
  try {
    for (;;) {
      let min = -1;
      for (let i = 0; i < heads.length; i++) {
        if (heads[i].done) continue;
        if (min < 0 || compareKeys((heads[i].value as SetEntry).key, (heads[min].value as SetEntry).key) < 0)
          min = i;
      }
      if (min < 0) return;
      const entry = heads[min].value as SetEntry;
      yield entry;
      // The same common prefix can come from several sets: advance all of them past it.
      for (let i = 0; i < heads.length; i++) {
        if (!heads[i].done && (heads[i].value as SetEntry).key === entry.key)
          heads[i] = await streams[i].next();
      }
    }
  } finally {
    await Promise.all(streams.map((s) => s.return(undefined)));
  }
}
