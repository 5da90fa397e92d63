/** Turns a version record into the ObjectInfo callers see. */
import type { ObjectVersion } from './meta/version';
import type { ObjectInfo } from './object-layer';

/** Public view of a version. */
export function toObjectInfo(bucket: string, key: string, v: ObjectVersion, isLatest: boolean): ObjectInfo {
  return {
    bucket,
    key,
    versionId: v.versionId,
    isLatest,
    deleteMarker: v.type === 'delete-marker',
    size: v.size,
    etag: v.etag,
    modTime: new Date(v.modTime),
    contentType: v.contentType,
    contentEncoding: v.contentEncoding,
    contentDisposition: v.contentDisposition,
    contentLanguage: v.contentLanguage,
    cacheControl: v.cacheControl,
    expires: v.expires,
    userMetadata: { ...v.userMetadata },
    tags: { ...v.tags },
    checksums: { ...v.checksums },
    // A version reports its tier as its storage class once its bytes are there (not while only an intent is).
    storageClass: v.tier && v.tier.status !== 'transitioning' ? v.tier.tier : v.storageClass,
    parts: v.parts.map((p) => ({ number: p.number, size: p.size, etag: p.etag })),
    tier: v.tier,
    ...(v.remote === true ? { remote: true as const } : {}),
  };
}
