/**
 * The pool: all erasure sets of this deployment behind the ObjectLayer interface.
 *
 * An object lives in exactly one set, chosen by xxh64(`bucket/key`) seeded with the deployment id, modulo the number
 * of sets: deterministic, no lookup table, and different per deployment. Buckets exist on every drive of every set.
 * Boot: drives are formatted or checked (format.ts), writes a crash interrupted are found from their staging
 * records and healed, temp staging is wiped, and replaced drives are healed in the background.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { xxh64 } from '@node-rs/xxhash';
import type { Drive } from './drive/drive';
import { LocalDrive } from './drive/local-drive';
import { isStorageError, storageError } from './errors';
import { defaultParity, MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from './erasure/codec';
import { Md5Hasher } from './erasure/md5-hasher';
import { NsLock } from './ns-lock';
import { eachDriveQuiet } from './util/each-drive';
import { ErasureSet } from './erasure-set';
import { HEALING_FILE, loadLayout, type Layout } from './format';
import {
  BUCKETS_DIR,
  checkBucketName,
  compareKeys,
  MULTIPART_DIR,
  objectPathComponents,
  SYS_VOLUME,
  TMP_DIR,
} from './layout';
import { toObjectInfo } from './object-info';
import type {
  BucketInfo,
  CompletePart,
  DeleteObjectOptions,
  DeleteObjectResult,
  GetObjectOptions,
  GetObjectResult,
  HealResult,
  HealSetReport,
  ListObjectsOptions,
  ListObjectsResult,
  ListPartsResult,
  ListUploadsOptions,
  ListUploadsResult,
  ObjectInfo,
  ObjectLayer,
  PartInfo,
  PutObjectOptions,
  StorageStatus,
  VersionUpdate,
} from './object-layer';
import { healObject, healSet } from './set-heal';
import { walkSet, type SetEntry } from './set-listing';
import { abortUpload, completeUpload, listParts, listSetUploads, newUpload, putPart } from './set-multipart';
import { deleteVersion, updateVersion } from './set-versions';
import type { StageTarget } from './stage';
import type { StorageOptions } from './storage-options';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

const BUCKET_CACHE_MS = 2000;
const CONFIG_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Picks the set size: the largest divisor of the drive count in 2..16 that keeps sets as large as possible. */
export function chooseSetDriveCount(drives: number): number {
  if (drives <= 16) return drives;
  for (let size = 16; size >= 2; size--) if (drives % size === 0) return size;
  throw storageError('InvalidArgument', `${drives} drives cannot be split into equal sets of 2 to 16`);
}

/** Opens (formatting on first use) the storage engine on local drive directories. */
export async function openObjectLayer(options: StorageOptions): Promise<ErasurePool> {
  const drives = options.drives.map((p) => new LocalDrive(p, options.fsync ?? true));
  await Promise.all(
    drives.map((d) => import('node:fs/promises').then((fs) => fs.mkdir(d.endpoint, { recursive: true }))),
  );
  return openPool(drives, options);
}

/** Opens the pool on any drives (tests pass fault-injecting wrappers). */
export async function openPool(
  drives: Drive[],
  options: Omit<StorageOptions, 'drives'>,
): Promise<ErasurePool> {
  const log: Log = options.log ?? (() => undefined);
  if (drives.length < 2) throw storageError('InvalidArgument', 'at least 2 drives are required');
  const setDriveCount = options.setDriveCount ?? chooseSetDriveCount(drives.length);
  if (setDriveCount < 2 || setDriveCount > 16)
    throw storageError('InvalidArgument', 'sets must have 2 to 16 drives');
  const parity = options.parity ?? defaultParity(setDriveCount);
  if (
    parity < 1 ||
    parity > setDriveCount / 2 ||
    parity > MAX_PARITY_SHARDS ||
    setDriveCount - parity > MAX_DATA_SHARDS
  ) {
    throw storageError(
      'InvalidArgument',
      `parity ${parity} is not valid for sets of ${setDriveCount} drives`,
    );
  }
  const layout = await loadLayout(drives, setDriveCount, parity, log);
  const pool = new ErasurePool(layout, options, log);
  await pool.recover();
  return pool;
}

/** The ObjectLayer over a pool of erasure sets. */
export class ErasurePool implements ObjectLayer {
  readonly sets: ErasureSet[];
  readonly deploymentId: string;
  private readonly seed: bigint;
  private readonly bucketCache = new Map<string, number>();
  private readonly healQueue = new Map<string, { bucket: string; key: string }>();
  private healing: Promise<void> | null = null;
  private closed = false;
  private readonly md5 = new Md5Hasher();
  /** Serialises bucket creation and removal within this process. */
  private readonly bucketLocks = new NsLock();

  constructor(
    private readonly layout: Layout,
    options: Omit<StorageOptions, 'drives'>,
    private readonly log: Log,
  ) {
    this.deploymentId = layout.deploymentId;
    this.seed = createHash('sha256').update(layout.deploymentId).digest().readBigUInt64LE(0);
    this.sets = layout.sets.map(
      (drives, index) =>
        new ErasureSet({
          index,
          drives,
          parity: layout.parity,
          blockSize: options.blockSize ?? 1024 * 1024,
          inlineThreshold: options.inlineThreshold ?? 128 * 1024,
          log,
          requestHeal: (bucket, key) => this.requestHeal(bucket, key),
          md5: this.md5,
        }),
    );
  }

  /** The set an object lives in. */
  setFor(bucket: string, key: string): ErasureSet {
    return this.sets[Number(xxh64(`${bucket}/${key}`, this.seed) % BigInt(this.sets.length))];
  }

  private drives(): Drive[] {
    return this.sets.flatMap((s) => s.drives.filter((d): d is Drive => d !== null));
  }

  private get totalDrives(): number {
    return this.sets.reduce((n, s) => n + s.n, 0);
  }

  /** Boot recovery: heal what interrupted writes left, wipe temp staging, start healing replaced drives. */
  async recover(): Promise<void> {
    const targets = new Map<string, StageTarget>();
    await Promise.all(
      this.drives().map(async (d) => {
        let stages: string[];
        try {
          stages = await d.list(SYS_VOLUME, TMP_DIR);
        } catch {
          return;
        }
        for (const s of stages) {
          try {
            const t = JSON.parse(
              (await d.readFile(SYS_VOLUME, `${TMP_DIR}/${s.replace(/\/$/, '')}/target`)).toString(),
            ) as StageTarget;
            if (t.format === 'tiergate.stage') targets.set(`${t.bucket}/${t.key}`, t);
          } catch {
            // a temp file, not a staging directory
          }
        }
        await d.delete(SYS_VOLUME, TMP_DIR, { recursive: true }).catch(() => undefined);
      }),
    );
    for (const t of targets.values()) {
      try {
        const r = await this.healObject(t.bucket, t.key);
        this.log(
          'info',
          `recovered interrupted write of ${t.bucket}/${t.key} (${r.danglingRemoved.length} leftover versions, ${r.orphansRemoved} orphaned data dirs removed)`,
        );
      } catch (err) {
        this.log('warn', `recovery of ${t.bucket}/${t.key}: ${(err as Error).message}`);
      }
    }
    this.layout.healing.forEach((drives, setIndex) => {
      if (!drives.some(Boolean)) return;
      void this.healAll({ setIndex }).then(
        async (reports) => {
          const failures = reports.reduce((n, r) => n + r.failures.length, 0);
          if (failures > 0) {
            this.log(
              'warn',
              `set ${setIndex}: heal of replaced drives finished with ${failures} failures; will retry at next boot`,
            );
            return;
          }
          await eachDriveQuiet(this.sets[setIndex].drives, (d, p) =>
            drives[p] ? d.delete(SYS_VOLUME, HEALING_FILE) : Promise.resolve(),
          );
          drives.fill(false);
          this.log('info', `set ${setIndex}: replaced drives healed`);
        },
        (err: unknown) => this.log('error', `set ${setIndex}: heal failed: ${(err as Error).message}`),
      );
    });
  }

  // ----- buckets -----------------------------------------------------------------------------------------------

  async makeBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.bucketLocks.withWrite(bucket, () => this.makeBucketLocked(bucket));
  }

  private async makeBucketLocked(bucket: string): Promise<void> {
    const exists = await this.bucketExists(bucket);
    if (exists) throw storageError('BucketExists', 'the requested bucket name is not available');
    const record = Buffer.from(
      JSON.stringify({ format: 'tiergate.bucket', version: 1, name: bucket, created: Date.now() }),
    );
    const results = await Promise.all(
      this.sets.map((set) =>
        Promise.all(
          set.drives.map(async (d) => {
            if (!d) return false;
            try {
              await d.makeVolume(bucket);
              await d.writeFileAtomic(SYS_VOLUME, `${BUCKETS_DIR}/${bucket}/bucket.json`, record);
              return true;
            } catch {
              return false;
            }
          }),
        ),
      ),
    );
    if (results.some((r, i) => r.filter(Boolean).length < this.sets[i].writeQuorum)) {
      await this.removeBucketEverywhere(bucket);
      throw storageError('WriteQuorum', 'could not create the bucket on enough drives');
    }
    this.bucketCache.set(bucket, Date.now() + BUCKET_CACHE_MS);
  }

  /** True / false by quorum; throws ReadQuorum when the drives cannot decide. */
  private async bucketExists(bucket: string): Promise<boolean> {
    let found = 0;
    let absent = 0;
    await Promise.all(
      this.drives().map(async (d) => {
        try {
          await d.readFile(SYS_VOLUME, `${BUCKETS_DIR}/${bucket}/bucket.json`);
          found++;
        } catch (err) {
          if (isStorageError(err, 'FileNotFound')) absent++;
        }
      }),
    );
    const readQuorum = this.sets.reduce((n, s) => n + s.k, 0);
    if (found >= readQuorum) return true;
    if (absent > this.sets.reduce((n, s) => n + s.n - s.writeQuorum, 0)) return false;
    if (found > 0 && found >= absent) return true;
    throw storageError('ReadQuorum', 'not enough drives answered for the bucket');
  }

  private async requireBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    const until = this.bucketCache.get(bucket);
    if (until !== undefined && until > Date.now()) return;
    if (!(await this.bucketExists(bucket)))
      throw storageError('BucketNotFound', 'the specified bucket does not exist');
    this.bucketCache.set(bucket, Date.now() + BUCKET_CACHE_MS);
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    checkBucketName(bucket);
    if (!(await this.bucketExists(bucket)))
      throw storageError('BucketNotFound', 'the specified bucket does not exist');
    for (const d of this.drives()) {
      try {
        const r = JSON.parse(
          (await d.readFile(SYS_VOLUME, `${BUCKETS_DIR}/${bucket}/bucket.json`)).toString(),
        ) as { created: number };
        return { name: bucket, created: new Date(r.created) };
      } catch {
        // try the next drive
      }
    }
    throw storageError('ReadQuorum', 'bucket record unreadable');
  }

  async listBuckets(): Promise<BucketInfo[]> {
    const counts = new Map<string, number>();
    await Promise.all(
      this.drives().map(async (d) => {
        try {
          for (const name of await d.list(SYS_VOLUME, BUCKETS_DIR)) {
            const b = name.replace(/\/$/, '');
            counts.set(b, (counts.get(b) ?? 0) + 1);
          }
        } catch {
          // drive without buckets
        }
      }),
    );
    const readQuorum = this.sets.reduce((n, s) => n + s.k, 0);
    const names = [...counts]
      .filter(([, c]) => c >= readQuorum)
      .map(([b]) => b)
      .sort();
    const out: BucketInfo[] = [];
    for (const name of names) {
      try {
        out.push(await this.headBucket(name));
      } catch {
        // vanished or undecidable: leave it out
      }
    }
    return out;
  }

  async deleteBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.bucketLocks.withWrite(bucket, () => this.deleteBucketLocked(bucket));
  }

  private async deleteBucketLocked(bucket: string): Promise<void> {
    this.bucketCache.delete(bucket);
    await this.requireBucket(bucket);
    for (const set of this.sets) {
      for await (const e of walkSet(set, bucket, { recursive: true }, 1)) {
        if (e.res && (e.res.versions.length > 0 || e.res.undecided.length > 0)) {
          throw storageError('BucketNotEmpty', 'the bucket you tried to delete is not empty');
        }
      }
    }
    this.bucketCache.delete(bucket);
    await this.removeBucketEverywhere(bucket);
  }

  private async removeBucketEverywhere(bucket: string): Promise<void> {
    await Promise.all(
      this.drives().map(async (d) => {
        await d.delete(SYS_VOLUME, `${BUCKETS_DIR}/${bucket}`, { recursive: true }).catch(() => undefined);
        await d.delete(SYS_VOLUME, `${MULTIPART_DIR}/${bucket}`, { recursive: true }).catch(() => undefined);
        await d.delete(bucket, '', { recursive: true }).catch(() => undefined);
      }),
    );
  }

  async getBucketConfig(bucket: string, name: string): Promise<Buffer | null> {
    await this.requireBucket(bucket);
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    const tally = new Map<string, { data: Buffer | null; count: number }>();
    await Promise.all(
      this.drives().map(async (d) => {
        let data: Buffer | null;
        try {
          data = await d.readFile(SYS_VOLUME, `${BUCKETS_DIR}/${bucket}/config/${name}`);
        } catch (err) {
          if (!isStorageError(err, 'FileNotFound')) return;
          data = null;
        }
        const id = data ? createHash('sha256').update(data).digest('hex') : '';
        const t = tally.get(id) ?? { data, count: 0 };
        t.count++;
        tally.set(id, t);
      }),
    );
    const best = [...tally.values()].sort((a, b) => b.count - a.count)[0];
    if (!best || best.count < Math.ceil(this.totalDrives / 2))
      throw storageError('ReadQuorum', 'bucket config undecidable');
    return best.data;
  }

  async putBucketConfig(bucket: string, name: string, data: Buffer | null): Promise<void> {
    await this.requireBucket(bucket);
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    const path = `${BUCKETS_DIR}/${bucket}/config/${name}`;
    const ok = await Promise.all(
      this.drives().map((d) =>
        (data ? d.writeFileAtomic(SYS_VOLUME, path, data) : d.delete(SYS_VOLUME, path)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (ok.filter(Boolean).length < Math.ceil(this.totalDrives / 2) + (this.totalDrives % 2 === 0 ? 1 : 0)) {
      throw storageError('WriteQuorum', 'could not store the bucket config on enough drives');
    }
  }

  // ----- objects -----------------------------------------------------------------------------------------------

  async putObject(
    bucket: string,
    key: string,
    body: Readable,
    opts: PutObjectOptions = {},
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    objectPathComponents(key);
    return this.setFor(bucket, key).putObject(bucket, key, body, opts);
  }

  async getObjectInfo(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    return this.setFor(bucket, key).getObjectInfo(bucket, key, opts.versionId);
  }

  async getObject(bucket: string, key: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    await this.requireBucket(bucket);
    return this.setFor(bucket, key).getObject(bucket, key, opts.versionId, opts.range);
  }

  async deleteObject(
    bucket: string,
    key: string,
    opts: DeleteObjectOptions = {},
  ): Promise<DeleteObjectResult> {
    await this.requireBucket(bucket);
    return deleteVersion(this.setFor(bucket, key), bucket, key, opts.versionId);
  }

  async updateObjectVersion(
    bucket: string,
    key: string,
    versionId: string,
    update: VersionUpdate,
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    return updateVersion(this.setFor(bucket, key), bucket, key, versionId, update);
  }

  async listObjects(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const delimiter = opts.delimiter ?? '';
    const marker = opts.marker ?? '';
    const maxKeys = Math.max(0, Math.min(opts.maxKeys ?? 1000, 1000));
    const result: ListObjectsResult = { objects: [], commonPrefixes: [], isTruncated: false };
    if (maxKeys === 0) return result;
    const walkOpts = { prefix, marker, recursive: delimiter !== '/' };
    let lastPrefix: string | undefined;
    let count = 0;
    for await (const entry of mergeSets(this.sets.map((s) => walkSet(s, bucket, walkOpts)))) {
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

  // ----- multipart ---------------------------------------------------------------------------------------------

  async newMultipartUpload(bucket: string, key: string, opts: PutObjectOptions = {}): Promise<string> {
    await this.requireBucket(bucket);
    return newUpload(this.setFor(bucket, key), bucket, key, opts);
  }

  async putObjectPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    opts: { size?: number; expectedMd5?: string } = {},
  ): Promise<PartInfo> {
    await this.requireBucket(bucket);
    objectPathComponents(key);
    return putPart(this.setFor(bucket, key), bucket, key, uploadId, partNumber, body, opts);
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { partNumberMarker?: number; maxParts?: number } = {},
  ): Promise<ListPartsResult> {
    await this.requireBucket(bucket);
    return listParts(this.setFor(bucket, key), bucket, key, uploadId, opts);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    await this.requireBucket(bucket);
    await abortUpload(this.setFor(bucket, key), bucket, key, uploadId);
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    return completeUpload(this.setFor(bucket, key), bucket, key, uploadId, parts);
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    await this.requireBucket(bucket);
    const prefix = opts.prefix ?? '';
    const keyMarker = opts.keyMarker ?? '';
    const idMarker = opts.uploadIdMarker ?? '';
    const max = Math.max(0, Math.min(opts.maxUploads ?? 1000, 1000));
    const all = (await Promise.all(this.sets.map((s) => listSetUploads(s, bucket))))
      .flat()
      .filter((u) => u.key.startsWith(prefix))
      .filter((u) => {
        const c = compareKeys(u.key, keyMarker);
        return keyMarker === '' || c > 0 || (c === 0 && idMarker !== '' && u.uploadId > idMarker);
      })
      // Upload ids are UUIDv7, so within a key their text order is initiation order, as S3 lists them.
      .sort(
        (a, b) =>
          compareKeys(a.key, b.key) || (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0),
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

  // ----- healing -----------------------------------------------------------------------------------------------

  async healObject(bucket: string, key: string): Promise<HealResult> {
    checkBucketName(bucket);
    return healObject(this.setFor(bucket, key), bucket, key);
  }

  async healAll(opts: { setIndex?: number } = {}): Promise<HealSetReport[]> {
    const buckets = new Set<string>();
    for (const d of this.drives()) {
      try {
        for (const b of await d.list(SYS_VOLUME, BUCKETS_DIR)) buckets.add(b.replace(/\/$/, ''));
      } catch {
        // drive without buckets
      }
    }
    const live: string[] = [];
    for (const b of [...buckets].sort()) {
      try {
        if (await this.bucketExists(b)) live.push(b);
      } catch {
        // undecidable: skip this round
      }
    }
    await this.healBucketRecords(live);
    const sets = opts.setIndex === undefined ? this.sets : [this.sets[opts.setIndex]];
    const reports: HealSetReport[] = [];
    for (const set of sets) reports.push(await healSet(set, live));
    return reports;
  }

  /** Copies bucket records to drives that miss them (replaced drives). */
  private async healBucketRecords(buckets: string[]): Promise<void> {
    for (const bucket of buckets) {
      const path = `${BUCKETS_DIR}/${bucket}/bucket.json`;
      let record: Buffer | undefined;
      for (const d of this.drives()) {
        record = await d.readFile(SYS_VOLUME, path).catch(() => undefined);
        if (record) break;
      }
      if (!record) continue;
      const rec = record;
      await Promise.all(
        this.drives().map(async (d) => {
          try {
            await d.readFile(SYS_VOLUME, path);
          } catch (err) {
            if (!isStorageError(err, 'FileNotFound')) return;
            await d.makeVolume(bucket).catch(() => undefined);
            await d.writeFileAtomic(SYS_VOLUME, path, rec).catch(() => undefined);
          }
        }),
      );
    }
  }

  /** Queues a background heal of one object (deduplicated). */
  requestHeal(bucket: string, key: string): void {
    if (this.closed) return;
    this.healQueue.set(`${bucket}/${key}`, { bucket, key });
    this.healing ??= this.drainHeals().finally(() => (this.healing = null));
  }

  private async drainHeals(): Promise<void> {
    while (this.healQueue.size > 0 && !this.closed) {
      const [id, { bucket, key }] = this.healQueue.entries().next().value as [
        string,
        { bucket: string; key: string },
      ];
      this.healQueue.delete(id);
      try {
        const r = await this.healObject(bucket, key);
        if (r.healedDrives.length > 0)
          this.log('info', `healed ${bucket}/${key} on ${r.healedDrives.length} drive(s)`);
      } catch (err) {
        if (!isStorageError(err, 'ObjectNotFound'))
          this.log('warn', `heal ${bucket}/${key}: ${(err as Error).message}`);
      }
    }
  }

  /** Resolves when queued background heals are done (tests and shutdown). */
  async drainHealQueue(): Promise<void> {
    while (this.healing) await this.healing;
  }

  async status(): Promise<StorageStatus> {
    return {
      deploymentId: this.deploymentId,
      sets: await Promise.all(
        this.sets.map(async (set, index) => {
          const drives = await Promise.all(
            set.drives.map(async (d, p) => {
              const base = { endpoint: d?.endpoint ?? '(missing)', setIndex: index, driveIndex: p };
              if (!d) return { ...base, state: 'offline' as const };
              try {
                const info = await d.info();
                const state = this.layout.healing[index][p] ? ('healing' as const) : ('ok' as const);
                return { ...base, state, totalBytes: info.totalBytes, freeBytes: info.freeBytes };
              } catch {
                return { ...base, state: 'faulty' as const };
              }
            }),
          );
          const ok = drives.filter((d) => d.state === 'ok' || d.state === 'healing').length;
          return {
            index,
            dataShards: set.k,
            parityShards: set.m,
            drives,
            readQuorum: ok >= set.k,
            writeQuorum: ok >= set.writeQuorum,
          };
        }),
      ),
    };
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    await this.drainHealQueue();
    await this.md5.close();
  }
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
