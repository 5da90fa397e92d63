/**
 * Whether any object version still references a tier: the check behind "a tier in use cannot be removed".
 *
 * Referenced means any version, current or noncurrent, in any bucket, whose tier state names the tier, whatever its
 * status (`transitioned`, or an intent a transition or its clean-up has not finished). The check walks the whole
 * namespace (every bucket, every version page): O(number of versions). It runs only when an administrator removes
 * a tier, never on a data path, so no index is kept for it.
 */
import { isStorageError } from '../storage/errors';
import type { ObjectLayer, ListVersionsResult } from '../storage/object-layer';

/** A version that references a tier. */
export interface TierReference {
  bucket: string;
  key: string;
  versionId: string;
}

/** The first version found that references `tier`, or undefined when none does. */
export async function tierReferences(layer: ObjectLayer, tier: string): Promise<TierReference | undefined> {
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
      const hit = page.versions.find((v) => v.tier?.tier === tier);
      if (hit) return { bucket, key: hit.key, versionId: hit.versionId };
      if (!page.isTruncated) break;
      keyMarker = page.nextKeyMarker;
      versionIdMarker = page.nextVersionIdMarker;
    }
  }
  return undefined;
}
