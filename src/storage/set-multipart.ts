/**
 * Multipart uploads in an erasure set. An upload lives in the system volume of every drive of the key's set:
 *
 *     multipart/<bucket>/<sha256(key)>/<uploadId>/upload.json        the upload (key, options, distribution)
 *     multipart/<bucket>/<sha256(key)>/<uploadId>/part.N.json        part N's record, naming its shard file
 *     multipart/<bucket>/<sha256(key)>/<uploadId>/part.N.<uuid>      part N's shard file (erasure-coded, framed)
 *
 * A part is staged in tmp and renamed in, then its record is written, so a re-uploaded part replaces the old one
 * atomically. Completion hard-links the chosen parts into a staged data dir and commits it like any PUT: no data is
 * copied, and the upload directory is removed only after the object is committed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isStorageError, storageError } from './errors';
import type { Committed, ErasureSet } from './erasure-set';
import { encodeStream, type ShardSink } from './erasure/encoder';
import {
  MULTIPART_DIR,
  SYS_VOLUME,
  uploadDir,
  uploadKeyHash,
  isValidId,
  objectPathComponents,
} from './layout';
import { toObjectInfo } from './object-info';
import type {
  CompletePart,
  ListPartsResult,
  MultipartUploadInfo,
  PartInfo,
  PutObjectOptions,
} from './object-layer';
import { Stage } from './stage';
import { uuid7 } from './util/uuid7';
import { eachDriveOk, eachDriveQuiet } from './util/each-drive';

/** S3's minimum size of every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part number. */
export const MAX_PART_NUMBER = 10000;

interface UploadRecord {
  format: 'tiergate.upload';
  version: 1;
  bucket: string;
  key: string;
  uploadId: string;
  initiated: number;
  options: PutObjectOptions;
  distribution: number[];
}

interface PartRecord {
  format: 'tiergate.part';
  version: 1;
  number: number;
  size: number;
  etag: string;
  modTime: number;
  file: string;
}

const partRecordName = (n: number): string => `part.${n}.json`;

/** Removes an upload's directory from every drive (best effort). */
function removeUploadDir(set: ErasureSet, dir: string): Promise<void> {
  return eachDriveQuiet(set.drives, (d) => d.delete(SYS_VOLUME, dir, { recursive: true, prune: true }));
}

/** Starts an upload; returns its id and when it was initiated (epoch ms). */
export async function newUpload(
  set: ErasureSet,
  bucket: string,
  key: string,
  opts: PutObjectOptions,
): Promise<{ uploadId: string; initiated: number }> {
  objectPathComponents(key);
  const uploadId = uuid7();
  const options: PutObjectOptions = { ...opts };
  delete options.size;
  delete options.expectedMd5;
  const record: UploadRecord = {
    format: 'tiergate.upload',
    version: 1,
    bucket,
    key,
    uploadId,
    initiated: Date.now(),
    options,
    distribution: set.distribution(key),
  };
  const body = Buffer.from(JSON.stringify(record));
  const dir = uploadDir(bucket, key, uploadId);
  const ok = await eachDriveOk(set.drives, (d) => d.writeFileAtomic(SYS_VOLUME, `${dir}/upload.json`, body));
  if (ok.filter(Boolean).length < set.writeQuorum) {
    await removeUploadDir(set, dir);
    throw storageError('WriteQuorum', 'could not record the upload on enough drives');
  }
  return { uploadId, initiated: record.initiated };
}

/** Reads the upload record by quorum; NoSuchUpload when it is provably gone. */
async function readUpload(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<UploadRecord> {
  if (!isValidId(uploadId)) throw storageError('NoSuchUpload', 'the specified upload does not exist');
  const dir = uploadDir(bucket, key, uploadId);
  let found: UploadRecord | undefined;
  let count = 0;
  let absent = 0;
  await Promise.all(
    set.drives.map(async (d) => {
      if (!d) return;
      try {
        const r = JSON.parse((await d.readFile(SYS_VOLUME, `${dir}/upload.json`)).toString()) as UploadRecord;
        if (r.format === 'tiergate.upload' && r.key === key && r.bucket === bucket) {
          found = r;
          count++;
        }
      } catch (err) {
        if (isStorageError(err, 'FileNotFound')) absent++;
      }
    }),
  );
  if (found && count >= set.k) return found;
  if (absent > set.n - set.writeQuorum || !found)
    throw storageError('NoSuchUpload', 'the specified upload does not exist');
  throw storageError('ReadQuorum', 'not enough drives agree on the upload');
}

/** Stores one part. */
export async function putPart(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
  partNumber: number,
  body: AsyncIterable<Buffer>,
  opts: { size?: number; expectedMd5?: string },
): Promise<PartInfo> {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw storageError('InvalidArgument', `part number must be an integer between 1 and ${MAX_PART_NUMBER}`);
  }
  const upload = await readUpload(set, bucket, key, uploadId);
  const dir = uploadDir(bucket, key, uploadId);
  const hash = set.config.md5.open();
  const stage = await Stage.create(set.drives, bucket, key);
  try {
    const byPosition = await stage.openPart(1);
    const sinks: (ShardSink | null)[] = new Array<ShardSink | null>(set.n).fill(null);
    upload.distribution.forEach((s, p) => (sinks[s] = byPosition[p]));
    const { size } = await encodeStream(body, {
      k: set.k,
      m: set.m,
      blockSize: set.config.blockSize,
      sinks,
      writeQuorum: set.writeQuorum,
      md5: hash,
      expectedSize: opts.size ?? -1,
    });
    await stage.closePart();
    const etag = await hash.digest();
    if (opts.expectedMd5 !== undefined && opts.expectedMd5.toLowerCase() !== etag) {
      throw storageError('BadDigest', 'the Content-MD5 you specified did not match what we received');
    }
    const record: PartRecord = {
      format: 'tiergate.part',
      version: 1,
      number: partNumber,
      size,
      etag,
      modTime: Date.now(),
      file: `part.${partNumber}.${randomUUID()}`,
    };
    await set.locks.withWrite(`${bucket}/${key}#${uploadId}`, async () => {
      await readUpload(set, bucket, key, uploadId); // not aborted or completed meanwhile
      const old = await readParts(set, bucket, key, uploadId);
      const ok = await Promise.all(
        set.drives.map(async (d, p) => {
          if (!d || !stage.ok[p]) return false;
          try {
            await d.rename(SYS_VOLUME, `${stage.dataPath}/part.1`, SYS_VOLUME, `${dir}/${record.file}`);
            await d.writeFileAtomic(
              SYS_VOLUME,
              `${dir}/${partRecordName(partNumber)}`,
              Buffer.from(JSON.stringify(record)),
            );
            return true;
          } catch {
            return false;
          }
        }),
      );
      if (ok.filter(Boolean).length < set.writeQuorum)
        throw storageError('WriteQuorum', 'could not store the part on enough drives');
      const previous = old.get(partNumber);
      if (previous) {
        await eachDriveQuiet(set.drives, (d) => d.delete(SYS_VOLUME, `${dir}/${previous.file}`));
      }
    });
    return { partNumber, etag, size, lastModified: new Date(record.modTime) };
  } catch (err) {
    hash.drop();
    throw err;
  } finally {
    await stage.discard();
  }
}

/** Part records agreed on by at least k drives, by part number. */
async function readParts(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<Map<number, PartRecord>> {
  const dir = uploadDir(bucket, key, uploadId);
  const tally = new Map<string, { record: PartRecord; count: number }>();
  await Promise.all(
    set.drives.map(async (d) => {
      if (!d) return;
      let names: string[];
      try {
        names = await d.list(SYS_VOLUME, dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (!/^part\.\d+\.json$/.test(name)) continue;
        try {
          const r = JSON.parse((await d.readFile(SYS_VOLUME, `${dir}/${name}`)).toString()) as PartRecord;
          const id = `${r.number}|${r.etag}|${r.file}`;
          const t = tally.get(id) ?? { record: r, count: 0 };
          t.count++;
          tally.set(id, t);
        } catch {
          // unreadable copy: others decide
        }
      }
    }),
  );
  const parts = new Map<number, PartRecord>();
  for (const { record, count } of tally.values()) {
    if (count < set.k) continue;
    const have = parts.get(record.number);
    if (!have || record.modTime > have.modTime) parts.set(record.number, record);
  }
  return parts;
}

/** Lists the parts of an upload. */
export async function listParts(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
  opts: { partNumberMarker?: number; maxParts?: number },
): Promise<ListPartsResult> {
  await readUpload(set, bucket, key, uploadId);
  const max = opts.maxParts ?? 1000;
  const all = [...(await readParts(set, bucket, key, uploadId)).values()]
    .filter((r) => r.number > (opts.partNumberMarker ?? 0))
    .sort((a, b) => a.number - b.number);
  const page = all.slice(0, max);
  return {
    parts: page.map((r) => ({
      partNumber: r.number,
      etag: r.etag,
      size: r.size,
      lastModified: new Date(r.modTime),
    })),
    isTruncated: all.length > max,
    nextPartNumberMarker: all.length > max ? (page.at(-1)?.number ?? opts.partNumberMarker ?? 0) : undefined,
  };
}

/**
 * Aborts an upload and removes its parts from every drive. A guard sees when the upload was initiated (epoch ms),
 * under the upload's lock; false fails the abort with PreconditionFailed.
 */
export async function abortUpload(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
  guard?: (initiated: Date) => boolean,
): Promise<void> {
  await set.locks.withWrite(`${bucket}/${key}#${uploadId}`, async () => {
    const record = await readUpload(set, bucket, key, uploadId);
    if (guard && !guard(new Date(record.initiated))) {
      throw storageError('PreconditionFailed', 'the guarded abort no longer applies to this upload');
    }
    const dir = uploadDir(bucket, key, uploadId);
    await removeUploadDir(set, dir);
  });
}

/** Completes an upload: validates the part list and commits the object without copying data. */
export async function completeUpload(
  set: ErasureSet,
  bucket: string,
  key: string,
  uploadId: string,
  parts: CompletePart[],
  versionId: string,
): Promise<Committed> {
  return set.locks.withWrite(`${bucket}/${key}#${uploadId}`, async () => {
    let upload: UploadRecord;
    try {
      upload = await readUpload(set, bucket, key, uploadId);
    } catch (err) {
      // A retried Complete whose first attempt committed answers with the object it made.
      if (isStorageError(err, 'NoSuchUpload')) {
        const { res } = await set.state(bucket, key, { all: true });
        const done = res.versions.find((r) => r.version.uploadId === uploadId);
        if (done) return { info: toObjectInfo(bucket, key, done.version, done === res.versions[0]) };
      }
      throw err;
    }
    if (parts.length === 0) throw storageError('InvalidPart', 'you must specify at least one part');
    const stored = await readParts(set, bucket, key, uploadId);
    const chosen: PartRecord[] = [];
    parts.forEach((p, i) => {
      if (i > 0 && p.partNumber <= parts[i - 1].partNumber) {
        throw storageError('InvalidPartOrder', 'the list of parts was not in ascending order');
      }
      const r = stored.get(p.partNumber);
      if (!r || r.etag !== p.etag.replace(/"/g, '').toLowerCase()) {
        throw storageError(
          'InvalidPart',
          `part ${p.partNumber} could not be found or its ETag does not match`,
        );
      }
      chosen.push(r);
    });
    chosen.forEach((r, i) => {
      if (i < chosen.length - 1 && r.size < MIN_PART_SIZE) {
        throw storageError('EntityTooSmall', `part ${r.number} is smaller than the minimum allowed size`);
      }
    });
    const md5 = createHash('md5');
    for (const r of chosen) md5.update(Buffer.from(r.etag, 'hex'));
    const etag = `${md5.digest('hex')}-${chosen.length}`;
    const size = chosen.reduce((n, r) => n + r.size, 0);
    const dir = uploadDir(bucket, key, uploadId);
    const stage = await Stage.create(set.drives, bucket, key);
    for (let p = 0; p < set.n; p++) {
      for (const r of chosen) await stage.linkPart(p, SYS_VOLUME, `${dir}/${r.file}`, r.number);
    }
    const version = set.newVersion(upload.options, versionId, upload.distribution, size, etag, false);
    version.parts = chosen.map((r) => ({ number: r.number, size: r.size, etag: r.etag }));
    version.uploadId = uploadId;
    if (stage.okCount < set.writeQuorum) {
      await stage.discard();
      throw storageError('WriteQuorum', 'could not stage the parts on enough drives');
    }
    const committed = await set.commit(bucket, key, version, { stage });
    await removeUploadDir(set, dir);
    return committed;
  });
}

/** Every upload of a bucket in this set that at least k drives know. */
export async function listSetUploads(set: ErasureSet, bucket: string): Promise<MultipartUploadInfo[]> {
  const tally = new Map<string, { info: MultipartUploadInfo; count: number }>();
  await Promise.all(
    set.drives.map(async (d) => {
      if (!d) return;
      let keyDirs: string[];
      try {
        keyDirs = await d.list(SYS_VOLUME, `${MULTIPART_DIR}/${bucket}`);
      } catch {
        return;
      }
      for (const kd of keyDirs) {
        let ids: string[];
        try {
          ids = await d.list(SYS_VOLUME, `${MULTIPART_DIR}/${bucket}/${kd.replace(/\/$/, '')}`);
        } catch {
          continue;
        }
        for (const idDir of ids) {
          const id = idDir.replace(/\/$/, '');
          try {
            const r = JSON.parse(
              (
                await d.readFile(
                  SYS_VOLUME,
                  `${MULTIPART_DIR}/${bucket}/${kd.replace(/\/$/, '')}/${id}/upload.json`,
                )
              ).toString(),
            ) as UploadRecord;
            if (uploadKeyHash(r.key) !== kd.replace(/\/$/, '')) continue;
            const t = tally.get(id) ?? {
              info: {
                bucket,
                key: r.key,
                uploadId: id,
                initiated: new Date(r.initiated),
                storageClass: r.options.storageClass ?? 'STANDARD',
              },
              count: 0,
            };
            t.count++;
            tally.set(id, t);
          } catch {
            // half-created or unreadable: not counted
          }
        }
      }
    }),
  );
  return [...tally.values()].filter((t) => t.count >= set.k).map((t) => t.info);
}
