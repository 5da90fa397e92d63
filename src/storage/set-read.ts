/**
 * Reading from an erasure set. The metadata is resolved under a short read lock; the data dir is then pinned (see
 * ErasureSet.acquireData) so an overwrite committing meanwhile defers deleting it, and the body streams without any
 * lock, block by block, verified and reconstructed as needed (erasure/decoder.ts). A version whose data is only in
 * its cloud tier (`remote`) is read through the RemoteReader the layer above registered.
 */
import { Readable } from 'node:stream';
import { isStorageError, storageError } from './errors';
import { Geometry } from './erasure/codec';
import { decodeRange, type ShardSource } from './erasure/decoder';
import { BufferSource, LazyFileSource } from './erasure/sources';
import { inlineOf, type ErasureSet, type ObjectState } from './erasure-set';
import { dataDirName, partFileName } from './layout';
import type { ResolvedVersion } from './meta/quorum';
import { toObjectInfo } from './object-info';
import { hasDataDir } from './meta/version';
import type { ByteRange, GetObjectResult, ObjectInfo, RemoteReader } from './object-layer';
import type { MetaWant } from './set-meta';

/** Resolves one version for reading. */
export async function getObjectInfo(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<ObjectInfo> {
  const { res } = await set.locks.withRead(`${bucket}/${key}`, () =>
    set.state(bucket, key, wantVersion(versionId)),
  );
  if (res.inconsistent) set.config.requestHeal(bucket, key);
  const rv = set.pick(res, versionId);
  return toObjectInfo(bucket, key, rv.version, rv === res.versions[0]);
}

/** Every version of one key, newest first (version pages included); [] when the key has none. */
export async function getObjectVersions(set: ErasureSet, bucket: string, key: string): Promise<ObjectInfo[]> {
  const { res } = await set.locks.withRead(`${bucket}/${key}`, () => set.state(bucket, key, { all: true }));
  if (res.inconsistent) set.config.requestHeal(bucket, key);
  try {
    set.pick(res); // ReadQuorum when drives disagree on what is newest
  } catch (err) {
    if (isStorageError(err, 'ObjectNotFound')) return [];
    throw err;
  }
  return res.versions.map((r, i) => toObjectInfo(bucket, key, r.version, i === 0));
}

/**
 * Opens a version for reading; the stream verifies and, where needed, reconstructs every block. A remote version
 * (no local data) is read through `remote`, or fails with InvalidObjectState without one.
 */
export async function getObject(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string | undefined,
  range?: ByteRange,
  remote?: RemoteReader | null,
): Promise<GetObjectResult> {
  const release = await set.locks.read(`${bucket}/${key}`);
  let state: ObjectState;
  let rv: ResolvedVersion;
  let releaseData: () => void = () => undefined;
  try {
    state = await set.state(bucket, key, wantVersion(versionId));
    rv = set.pick(state.res, versionId);
    if (rv.version.type === 'delete-marker')
      throw storageError('ObjectNotFound', 'the latest version is a delete marker');
    if (hasDataDir(rv.version)) releaseData = set.acquireData(`${bucket}/${state.dir}/${rv.version.dataDir}`);
  } finally {
    release();
  }
  if (state.res.inconsistent) set.config.requestHeal(bucket, key);
  const v = rv.version;
  const start = range?.start ?? 0;
  const end = range?.end ?? v.size - 1;
  if (range && (start < 0 || end < start || end >= v.size)) {
    releaseData();
    throw storageError('InvalidRange', 'the requested range is not satisfiable');
  }
  const info = toObjectInfo(bucket, key, v, rv === state.res.versions[0]);
  if (v.remote) {
    if (!remote) {
      throw storageError(
        'InvalidObjectState',
        `${bucket}/${key} version ${v.versionId} is in tier ${v.tier?.tier}`,
      );
    }
    return { info, stream: await remote(info, range) };
  }
  if (v.inline) {
    // The shards are in memory already (at most the inline threshold): decode now, so the caller can answer with
    // one write, and a read quorum lost to bitrot is an error before any status is sent, not a cut connection.
    const chunks: Buffer[] = [];
    for await (const chunk of readVersion(set, bucket, state, rv, start, end, releaseData))
      chunks.push(chunk);
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    let stream: Readable | undefined;
    return {
      info,
      body,
      get stream() {
        return (stream ??= Readable.from([body]));
      },
    };
  }
  const stream = Readable.from(readVersion(set, bucket, state, rv, start, end, releaseData), {
    highWaterMark: 1,
  });
  // A stream destroyed before its first read never runs the generator's finally: unpin on close too (idempotent).
  stream.once('close', releaseData);
  return { info, stream };
}

/** What a read of one version (the latest when no id) needs resolved. */
function wantVersion(versionId: string | undefined): MetaWant {
  return versionId === undefined ? {} : { ids: [versionId] };
}

/** Yields bytes [start, end] of a version, part by part. */
async function* readVersion(
  set: ErasureSet,
  bucket: string,
  state: ObjectState,
  rv: ResolvedVersion,
  start: number,
  end: number,
  releaseData: () => void,
): AsyncGenerator<Buffer> {
  const v = rv.version;
  let healRequested = false;
  const onBadShard = (shard: number, reason: string): void => {
    set.config.log('warn', `${bucket}/${state.key}: shard ${shard} of ${v.versionId}: ${reason}`);
    if (!healRequested) set.config.requestHeal(bucket, state.key);
    healRequested = true;
  };
  try {
    let partStart = 0;
    for (const part of v.parts) {
      const partEnd = partStart + part.size - 1;
      if (part.size > 0 && partEnd >= start && partStart <= end) {
        const geometry = new Geometry(v.erasure.k, v.erasure.m, v.erasure.blockSize, part.size);
        const { sources, close } = openSources(set, bucket, state, rv, part.number);
        try {
          yield* decodeRange(
            { geometry, sources, onBadShard },
            Math.max(start, partStart) - partStart,
            Math.min(end, partEnd) - partStart,
          );
        } finally {
          await close();
        }
      }
      partStart += part.size;
      if (partStart > end) break;
    }
  } finally {
    releaseData();
  }
}

/** Shard sources by shard index for one part of a resolved version. */
export function openSources(
  set: ErasureSet,
  bucket: string,
  state: ObjectState,
  rv: ResolvedVersion,
  partNumber: number,
): { sources: (ShardSource | null)[]; close: () => Promise<void> } {
  const v = rv.version;
  const sources: (ShardSource | null)[] = new Array<ShardSource | null>(set.n).fill(null);
  const lazies: LazyFileSource[] = [];
  v.erasure.distribution.forEach((shard, p) => {
    const d = set.drives[p];
    if (!d || !rv.holders[p]) return;
    if (v.inline) {
      const frame = inlineOf(state.metas[p], v.dataDir);
      if (frame) sources[shard] = new BufferSource(frame);
      return;
    }
    const src = new LazyFileSource(
      d,
      bucket,
      `${state.dir}/${dataDirName(v.dataDir)}/${partFileName(partNumber)}`,
    );
    lazies.push(src);
    sources[shard] = src;
  });
  return { sources, close: async () => void (await Promise.all(lazies.map((l) => l.close()))) };
}
