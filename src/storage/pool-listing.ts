/**
 * Listing across the pool: each set's merged walk (set-listing.ts) is merged again across sets, then S3's
 * delimiter, marker and max-keys rules are applied. Keys live in exactly one set; common prefixes can come from
 * several and are reported once.
 */
import type { ErasureSet } from './erasure-set';
import { compareKeys } from './layout';
import { toObjectInfo } from './object-info';
import type {
  ListObjectsOptions,
  ListObjectsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ObjectInfo,
} from './object-layer';
import { walkSet, type SetEntry } from './set-listing';
import { listSetUploads } from './set-multipart';

/** ListObjects over all sets: merged walks, quorum-resolved entries, delimiter roll-up, marker and max-keys. */
export async function listPoolObjects(
  sets: ErasureSet[],
  bucket: string,
  opts: ListObjectsOptions = {},
): Promise<ListObjectsResult> {
  const prefix = opts.prefix ?? '';
  const delimiter = opts.delimiter ?? '';
  const marker = opts.marker ?? '';
  const maxKeys = Math.max(0, Math.min(opts.maxKeys ?? 1000, 1000));
  const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated: false };
  if (maxKeys === 0) return result;
  const walkOpts = { prefix, marker, recursive: delimiter !== '/' };
  let lastPrefix: string | undefined;
  let count = 0;
  for await (const entry of mergeSets(sets.map((s) => walkSet(s, bucket, walkOpts)))) {
    let cp: string | undefined;
    if (entry.prefix) cp = entry.key;
    else if (delimiter !== '') {
      const at = entry.key.indexOf(delimiter, prefix.length);
      if (at >= 0) cp = entry.key.slice(0, at + delimiter.length);
    }
    if (cp !== undefined) {
      if (cp === lastPrefix || (marker !== '' && compareKeys(cp, marker) <= 0)) continue;
    }
    let info: ObjectInfo | undefined;
    if (cp === undefined) {
      const latest = entry.res!.versions[0];
      const newerUndecided = entry.res!.undecided.some(
        (u) => !latest || u.version.modTime > latest.version.modTime,
      );
      if (!latest || newerUndecided || latest.version.type === 'delete-marker') continue;
      info = toObjectInfo(bucket, entry.key, latest.version, true);
    }
    if (count === maxKeys) {
      result.isTruncated = true;
      break;
    }
    count++;
    if (cp !== undefined) {
      result.commonPrefixes.push(cp);
      lastPrefix = cp;
      result.nextMarker = cp;
    } else {
      result.objects.push(info!);
      result.nextMarker = entry.key;
    }
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
