/**
 * Which object versions reference a tier: the check behind "a tier in use cannot be removed", and the walk that
 * tells the reconciler which remote objects are still needed.
 *
 * Referenced means any version, current or noncurrent, in any bucket, whose tier state names the tier, whatever its
 * status (`transitioned`, or an intent a transition or its clean-up has not finished). The walk covers the whole
 * namespace (every bucket, every version page): O(number of versions). It runs only when an administrator removes
 * a tier and when the reconciler runs, never on a data path, so no index is kept for it.
 */
import { isStorageError } from '../storage/errors';
import type { ObjectInfo, ObjectLayer, ListVersionsResult } from '../storage/object-layer';

/** A version that references a tier. */
export interface TierReference {
  bucket: string;
  key: string;
  versionId: string;
}

/** Every version and delete marker of every bucket, page by page (a bucket deleted meanwhile yields no more). */
export async function* allVersions(layer: ObjectLayer): AsyncGenerator<ObjectInfo> {
  for (const { name: bucket } of await layer.listBuckets()) {
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      let page: ListVersionsResult;
      try {
        page = await layer.listObjectVersions(bucket, { keyMarker, versionIdMarker, maxKeys: 1000 });
      } catch (err) {
        // A bucket deleted during the walk references nothing any more.
        if (isStorageError(err, 'BucketNotFound')) break;
        throw err;
      }
      yield* page.versions;
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
  }
}

/** The first version found that references `tier`, or undefined when none does. */
export async function tierReferences(layer: ObjectLayer, tier: string): Promise<TierReference | undefined> {
  for await (const v of allVersions(layer)) {
    if (v.tier?.tier === tier) return { bucket: v.bucket, key: v.key, versionId: v.versionId };
  }
  return undefined;
}
