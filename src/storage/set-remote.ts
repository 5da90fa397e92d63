/**
 * Versions whose data lives in a cloud tier: releasing a version's local data (the last step of a transition) and
 * restoring a local copy (RestoreObject), with the same commit discipline as every other write (erasure-set.ts).
 *
 * A version record is in one of two data states:
 *   - local:  `remote` absent. Data in a data dir or inline frames, as always. `tier` may be set (a transition's
 *             intent, or a restored copy of a transitioned version).
 *   - remote: `remote: true`, `inline: false`, `dataDir` a fresh id naming nothing on disk. `tier` (the caller's)
 *             says where the bytes are. Reads go through the RemoteReader the layer above registers.
 *
 * Release (local L -> remote R), under the object's write lock:
 *   0. a stage mark without data is written, so boot recovery heals the object if the process dies meanwhile;
 *   1. R (same id and time, revision + 1) is committed to the drives holding L, with L kept pending-delete and
 *      replaced by R (phase 2 of a commit; fewer than writeQuorum: rolled back, WriteQuorum);
 *   2. acknowledged: L's records are dropped (its inline frames go with them), then its data dir is deleted.
 * A crash before R has quorum resolves to L with its data (R's copies are leftovers heal purges); after that, to R
 * (L pending-delete by a found replacement counts as absent), and L's data dir is an orphan heal removes. Data is
 * removed only after the record that stops referencing it has quorum, so a found record never points at deleted
 * shards. (With k == m both may be found after a crash; the later revision, R, wins: meta/quorum.ts.)
 *
 * Restore (remote R -> local L'): the body is staged like a PUT (bitrot-framed shards in tmp, or inline frames when
 * the version is small and single-part), part by part along the version's part sizes so multipart versions keep
 * their layout, and checked against the version: exact size, each part's MD5 against the part's ETag, the whole
 * MD5 against a single-part ETag, and a multipart ETag against the md5-of-md5s of the part ETags. Under the lock it
 * is committed like a PUT replacing R (R pending-delete until L' has quorum): a crash resolves to R or L'.
 */
import { createHash, randomUUID } from 'node:crypto';
import { storageError } from './errors';
import { encodeInline, encodeStream, type ShardSink } from './erasure/encoder';
import type { CommitData, ErasureSet } from './erasure-set';
import { objectPathComponents } from './layout';
import type { ErasureInfo, ObjectVersion, PartRecord } from './meta/version';
import { toObjectInfo } from './object-info';
import type { ObjectInfo, VersionUpdate } from './object-layer';
import { Stage } from './stage';
import { sameRecord } from './util/same-record';

/** Releases a version's local data (see the file comment). */
export async function releaseVersion(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string,
  update: VersionUpdate,
): Promise<ObjectInfo> {
  objectPathComponents(key);
  // No data is staged: the mark alone lets boot recovery heal (purge leftovers of) an interrupted release.
  const marker = await Stage.create(set.drives, bucket, key);
  try {
    return await set.locks.withWrite(`${bucket}/${key}`, async () => {
      const state = await set.state(bucket, key, { ids: [versionId] });
      const found = set.pick(state.res, versionId);
      const cur = found.version;
      if (cur.type !== 'object')
        throw storageError('InvalidArgument', 'a delete marker has no data to release');
      const next = update(structuredClone(cur));
      if (next === null) throw refused();
      checkIdentity(cur, next);
      if (!next.tier) throw storageError('InvalidArgument', 'a released version must carry its tier state');
      next.remote = true;
      next.inline = false;
      // A fresh id: the record names no data, and L's data dir (or inline frame key) is never shared with it.
      next.dataDir = cur.remote ? cur.dataDir : randomUUID();
      next.erasure = cur.erasure;
      settle(cur, next);
      await set.commitLocked(bucket, state, next, { remote: true });
      return toObjectInfo(bucket, key, next, found === state.res.versions[0]);
    });
  } finally {
    await marker.discard();
  }
}

/** Restores a local copy of a remote version from `body` (see the file comment). */
export async function restoreVersion(
  set: ErasureSet,
  bucket: string,
  key: string,
  versionId: string,
  body: AsyncIterable<Buffer | string>,
  update: VersionUpdate,
): Promise<ObjectInfo> {
  objectPathComponents(key);
  const { res } = await set.locks.withRead(`${bucket}/${key}`, () =>
    set.state(bucket, key, { ids: [versionId] }),
  );
  const before = set.pick(res, versionId).version;
  if (before.type !== 'object')
    throw storageError('InvalidArgument', 'a delete marker has no data to restore');
  if (!before.remote) throw storageError('PreconditionFailed', 'the version already has local data');
  const copy = await stageCopy(set, bucket, key, body, before);
  try {
    return await set.locks.withWrite(`${bucket}/${key}`, async () => {
      const state = await set.state(bucket, key, { ids: [versionId] });
      const found = set.pick(state.res, versionId);
      const cur = found.version;
      if (!cur.remote || !sameIdentity(before, cur)) {
        throw storageError('PreconditionFailed', 'the version changed while its copy was staged');
      }
      const next = update(structuredClone(cur));
      if (next === null) throw refused();
      checkIdentity(cur, next);
      delete next.remote;
      next.inline = copy.inline;
      next.dataDir = copy.dataDir;
      next.erasure = copy.erasure;
      settle(cur, next);
      await set.commitLocked(bucket, state, next, copy.data);
      return toObjectInfo(bucket, key, next, found === state.res.versions[0]);
    });
  } finally {
    await copy.data.stage?.discard();
  }
}

function refused(): Error {
  return storageError('PreconditionFailed', 'the version update refused the change');
}

/** Fields the storage engine owns on a record written in place: committed, one revision later. */
function settle(cur: ObjectVersion, next: ObjectVersion): void {
  next.state = 'live';
  delete next.replacedBy;
  next.revision = (cur.revision ?? 0) + 1;
}

/** Throws InvalidArgument when an update changed what identifies the version's content. */
function checkIdentity(cur: ObjectVersion, next: ObjectVersion): void {
  if (!sameIdentity(cur, next)) {
    throw storageError('InvalidArgument', "moving a version's data cannot change the version's identity");
  }
}

/** Same version, same content: id, type, time, size, ETag, parts, content headers, user metadata, checksums. */
export function sameIdentity(a: ObjectVersion, b: ObjectVersion): boolean {
  return (
    a.versionId === b.versionId &&
    a.type === b.type &&
    a.modTime === b.modTime &&
    a.size === b.size &&
    a.etag === b.etag &&
    a.parts.length === b.parts.length &&
    a.parts.every(
      (p, i) => p.number === b.parts[i].number && p.size === b.parts[i].size && p.etag === b.parts[i].etag,
    ) &&
    a.contentType === b.contentType &&
    a.contentEncoding === b.contentEncoding &&
    a.contentDisposition === b.contentDisposition &&
    a.contentLanguage === b.contentLanguage &&
    a.cacheControl === b.cacheControl &&
    a.expires === b.expires &&
    sameRecord(a.userMetadata, b.userMetadata) &&
    sameRecord(a.checksums, b.checksums)
  );
}

/** A restored copy, staged and verified, ready to commit. */
interface StagedCopy {
  data: CommitData;
  inline: boolean;
  dataDir: string;
  erasure: ErasureInfo;
}

/** Stages `body` as the data of `target`, part by part, and verifies it (see the file comment). */
async function stageCopy(
  set: ErasureSet,
  bucket: string,
  key: string,
  body: AsyncIterable<Buffer | string>,
  target: ObjectVersion,
): Promise<StagedCopy> {
  const { k, m } = set;
  const { blockSize, inlineThreshold } = set.config;
  const distribution = set.distribution(key);
  const erasure: ErasureInfo = { k, m, blockSize, distribution };
  const parts: PartRecord[] =
    target.parts.length > 0 ? target.parts : [{ number: 1, size: target.size, etag: target.etag }];
  const source = new PartSplitter(body);
  if (parts.length === 1 && target.size <= inlineThreshold) {
    const chunks: Buffer[] = [];
    for await (const c of source.take(target.size)) chunks.push(c);
    await source.end();
    const bytes = Buffer.concat(chunks);
    verifyCopy(target, parts, [createHash('md5').update(bytes).digest('hex')]);
    const streams = await encodeInline(bytes, k, m, blockSize);
    const data = { inline: distribution.map((s) => streams[s]) };
    return { data, inline: true, dataDir: randomUUID(), erasure };
  }
  const stage = await Stage.create(set.drives, bucket, key);
  try {
    const md5s: string[] = [];
    for (const part of parts) {
      const byPosition = await stage.openPart(part.number);
      const sinks: (ShardSink | null)[] = new Array<ShardSink | null>(set.n).fill(null);
      distribution.forEach((s, p) => (sinks[s] = byPosition[p]));
      const hash = set.config.md5.open();
      try {
        await encodeStream(source.take(part.size), {
          k,
          m,
          blockSize,
          sinks,
          writeQuorum: set.writeQuorum,
          md5: hash,
          expectedSize: part.size,
        });
      } catch (err) {
        hash.drop();
        throw err;
      }
      md5s.push(await hash.digest());
      await stage.closePart();
    }
    await source.end();
    if (stage.okCount < set.writeQuorum) {
      throw storageError(
        'WriteQuorum',
        `only ${stage.okCount} drives stored the data, need ${set.writeQuorum}`,
      );
    }
    verifyCopy(target, parts, md5s);
    return { data: { stage }, inline: false, dataDir: randomUUID(), erasure };
  } catch (err) {
    await stage.discard();
    throw err;
  }
}

const MD5_HEX = /^[0-9a-f]{32}$/;

/**
 * Checks a staged copy's MD5s (one per part) against the version: each part whose ETag is an MD5, the whole
 * object's ETag when it is a plain MD5, and a multipart ETag (`md5-of-md5s-N`) against the part ETags.
 */
function verifyCopy(target: ObjectVersion, parts: PartRecord[], md5s: string[]): void {
  const bad = (): Error => storageError('BadDigest', "the restored data does not match the version's ETag");
  parts.forEach((p, i) => {
    if (MD5_HEX.test(p.etag) && md5s[i] !== p.etag) throw bad();
  });
  const etag = target.etag.replace(/"/g, '');
  if (MD5_HEX.test(etag)) {
    if (parts.length !== 1 || md5s[0] !== etag) throw bad();
    return;
  }
  const multipart = /^([0-9a-f]{32})-(\d+)$/.exec(etag);
  if (!multipart || Number(multipart[2]) !== parts.length || !parts.every((p) => MD5_HEX.test(p.etag))) {
    throw bad();
  }
  const md5 = createHash('md5');
  for (const p of parts) md5.update(Buffer.from(p.etag, 'hex'));
  if (md5.digest('hex') !== multipart[1]) throw bad();
}

/** Cuts one byte stream into consecutive pieces of exact sizes (a version's parts). */
class PartSplitter {
  private readonly it: AsyncIterator<Buffer | string>;
  private rest: Buffer | null = null;

  constructor(source: AsyncIterable<Buffer | string>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async next(): Promise<Buffer | null> {
    if (this.rest) {
      const r = this.rest;
      this.rest = null;
      return r;
    }
    const n = await this.it.next();
    if (n.done) return null;
    return typeof n.value === 'string' ? Buffer.from(n.value) : n.value;
  }

  /** Exactly the next `size` bytes; IncompleteBody when the source ends first. */
  async *take(size: number): AsyncGenerator<Buffer> {
    let left = size;
    while (left > 0) {
      const chunk = await this.next();
      if (chunk === null) {
        throw storageError('IncompleteBody', `the body ended ${left} bytes short of the version's data`);
      }
      if (chunk.length > left) {
        this.rest = chunk.subarray(left);
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      if (chunk.length > 0) yield chunk;
    }
  }

  /** Checks the source has nothing left. */
  async end(): Promise<void> {
    for (let chunk = await this.next(); chunk !== null; chunk = await this.next()) {
      if (chunk.length > 0)
        throw storageError('InvalidArgument', "the body is longer than the version's data");
    }
  }
}
