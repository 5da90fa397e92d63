/**
 * The pool: all erasure sets of this deployment behind the ObjectLayer interface.
 *
 * An object lives in exactly one set, chosen by xxh64(`bucket/key`) seeded with the deployment id, modulo the number
 * of sets: deterministic, no lookup table, and different per deployment. Buckets exist on every drive of every set.
 * Boot: drives are formatted or checked (format.ts), writes a crash interrupted are found from their staging
 * records and healed, temp staging is wiped, and replaced drives are healed in the background. Shutdown closes them.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { xxh64 } from '@node-rs/xxhash';
import type { Drive } from './drive/drive';
import { DriveOwnership } from './drive/drive-owner';
import { LocalDrive } from './drive/local-drive';
import { openClusterNode, placeDrives } from './remote/cluster-boot';
import { RemoteDrive } from './remote/remote-drive';
import { StorageServer } from './remote/storage-server';
import { isStorageError, storageError } from './errors';
import { defaultParity, MAX_DATA_SHARDS, MAX_PARITY_SHARDS } from './erasure/codec';
import { Md5Hasher } from '../common/md5-hasher';
import { eachDriveQuiet } from './util/each-drive';
import { ErasureSet } from './erasure-set';
import { HEALING_FILE, loadLayout, type Layout } from './format';
import { BUCKETS_DIR, checkBucketName, objectPathComponents, SYS_VOLUME } from './layout';
import type {
  BucketInfo,
  ChangeListener,
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
  ListVersionsOptions,
  ListVersionsResult,
  ObjectChange,
  ObjectInfo,
  ObjectLayer,
  PartInfo,
  PutObjectOptions,
  RemoteReader,
  StorageStatus,
  VersioningStatus,
  VersionUpdate,
} from './object-layer';
import { healObject, healSet } from './set-heal';
import { getObject, getObjectInfo, getObjectVersions } from './set-read';
import { BucketStore } from './bucket-store';
import { recoverInterruptedWrites } from './boot-recovery';
import { listPoolObjects, listPoolUploads, listPoolVersions } from './pool-listing';
import { abortUpload, completeUpload, listParts, newUpload, putPart } from './set-multipart';
import { releaseVersion, restoreVersion } from './set-remote';
import { deleteObjectAs, updateVersion } from './set-versions';
import type { ObjectVersion } from './meta/version';
import { toObjectInfo } from './object-info';
import { uuid7 } from './util/uuid7';
import type { StorageOptions } from './storage-options';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** A change's `latest` when the version written in place is the key's latest (else the listener reads it). */
function latestOf(info: ObjectInfo): { latest?: ObjectInfo } {
  return info.isLatest ? { latest: info } : {};
}

/** Picks the set size: the largest divisor of the drive count in 2..16 that keeps sets as large as possible. */
export function chooseSetDriveCount(drives: number): number {
  if (drives <= 16) return drives;
  for (let size = 16; size >= 2; size--) if (drives % size === 0) return size;
  throw storageError('InvalidArgument', `${drives} drives cannot be split into equal sets of 2 to 16`);
}

/** Opens (formatting on first use) the storage engine: on local drive directories, or as one node of a cluster. */
export async function openObjectLayer(options: StorageOptions): Promise<ErasurePool> {
  const log: Log = options.log ?? (() => undefined);
  const placed = placeDrives(options);
  const locals = placed.filter((p): p is { local: string } => 'local' in p).map((p) => p.local);
  const own = new Map(locals.map((dir) => [dir, new LocalDrive(dir, options.fsync ?? true)]));
  const drives: Drive[] = placed.map((p) =>
    'local' in p ? own.get(p.local)! : new RemoteDrive(p.remote, options.node!.secret),
  );
  await Promise.all(locals.map((dir) => mkdir(dir, { recursive: true })));
  const ownership = await DriveOwnership.take(locals);
  let server: StorageServer | undefined;
  try {
    if (options.node) {
      // Serve this node's drives before forming the pool: the other nodes need them to boot too.
      const url = new URL(options.node.url);
      server = new StorageServer(own, options.node.secret, log);
      await server.listen(url.hostname.replace(/^\[|\]$/g, ''), Number(url.port || 80));
      log('info', `storage API serving ${own.size} drive(s) on ${url.origin}`);
    }
    const pool = options.node
      ? await openClusterNode(drives, options.node.bootWaitMs ?? 120_000, log, (mayFormat) =>
          openPool(drives, { ...options, mayFormat }),
        )
      : await openPool(drives, options);
    const serving = server;
    if (serving) pool.releaseOnShutdown(() => serving.close());
    pool.releaseOnShutdown(() => ownership.release());
    return pool;
  } catch (err) {
    await server?.close();
    await ownership.release();
    throw err;
  }
}

/** Opens the pool on any drives (tests pass fault-injecting wrappers). */
export async function openPool(
  drives: Drive[],
  options: Omit<StorageOptions, 'drives'> & { mayFormat?: boolean },
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
  const layout = await loadLayout(drives, setDriveCount, parity, log, options.mayFormat ?? true);
  const pool = new ErasurePool(layout, options, log);
  await pool.recover();
  return pool;
}

/** The ObjectLayer over a pool of erasure sets. */
export class ErasurePool implements ObjectLayer {
  readonly sets: ErasureSet[];
  readonly deploymentId: string;
  private readonly seed: bigint;
  private readonly healQueue = new Map<string, { bucket: string; key: string }>();
  private healing: Promise<void> | null = null;
  private closed = false;
  private readonly md5 = new Md5Hasher();
  private readonly buckets: BucketStore;
  private readonly listeners = new Set<ChangeListener>();
  private readonly onShutdown: (() => Promise<void>)[] = [];
  private remoteReader: RemoteReader | null = null;

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
          clusterLock: options.clusterLock,
        }),
    );
    this.buckets = new BucketStore(this.sets, options.clusterLock);
  }

  /** The set an object lives in. */
  setFor(bucket: string, key: string): ErasureSet {
    return this.sets[Number(xxh64(`${bucket}/${key}`, this.seed) % BigInt(this.sets.length))];
  }

  private drives(): Drive[] {
    return this.sets.flatMap((s) => s.drives.filter((d): d is Drive => d !== null));
  }

  /**
   * Boot recovery: heal what interrupted writes left, wipe temp staging, start healing replaced drives. In a
   * cluster only this node's own drives: another node's staging may belong to writes it is making right now.
   */
  async recover(): Promise<void> {
    await recoverInterruptedWrites(
      this.drives().filter((d) => !(d instanceof RemoteDrive)),
      (bucket, key) => this.healObject(bucket, key),
      this.log,
    );
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
    return this.buckets.makeBucket(bucket);
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    return this.buckets.headBucket(bucket);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.buckets.listBuckets();
  }

  async deleteBucket(bucket: string): Promise<void> {
    return this.buckets.deleteBucket(bucket);
  }

  async getBucketConfig(bucket: string, name: string): Promise<Buffer | null> {
    return this.buckets.getBucketConfig(bucket, name);
  }

  async putBucketConfig(bucket: string, name: string, data: Buffer | null): Promise<void> {
    return this.buckets.putBucketConfig(bucket, name, data);
  }

  async getSystemConfig(name: string): Promise<Buffer | null> {
    return this.buckets.getSystemConfig(name);
  }

  async putSystemConfig(name: string, data: Buffer | null): Promise<void> {
    return this.buckets.putSystemConfig(name, data);
  }

  async getBucketVersioning(bucket: string): Promise<VersioningStatus> {
    await this.requireBucket(bucket);
    return this.buckets.versioning(bucket);
  }

  async putBucketVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    return this.buckets.setVersioning(bucket, status);
  }

  async getBucketLifecycle(bucket: string): Promise<Buffer | null> {
    await this.requireBucket(bucket);
    return this.buckets.lifecycle(bucket);
  }

  async putBucketLifecycle(bucket: string, doc: Buffer): Promise<void> {
    await this.buckets.setLifecycle(bucket, doc);
    await this.changed({ kind: 'lifecycle', bucket });
  }

  async deleteBucketLifecycle(bucket: string): Promise<void> {
    await this.buckets.setLifecycle(bucket, null);
    await this.changed({ kind: 'lifecycle', bucket });
  }

  private requireBucket(bucket: string): Promise<void> {
    return this.buckets.requireBucket(bucket);
  }

  /** The id a new version written now gets: a fresh one while versioning is Enabled, `null` otherwise. */
  private async newVersionId(bucket: string): Promise<string> {
    return (await this.buckets.versioning(bucket)) === 'Enabled' ? uuid7() : 'null';
  }

  // ----- objects -----------------------------------------------------------------------------------------------

  async putObject(
    bucket: string,
    key: string,
    body: AsyncIterable<Buffer>,
    opts: PutObjectOptions = {},
  ): Promise<ObjectInfo> {
    const { info, replaced } = await this.buckets.writing(bucket, async () =>
      this.setFor(bucket, key).putObject(bucket, key, body, opts, await this.newVersionId(bucket)),
    );
    await this.changed({ kind: 'object', bucket, key, latest: info, ...removedBy(bucket, key, replaced) });
    return info;
  }

  async getObjectInfo(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    return getObjectInfo(this.setFor(bucket, key), bucket, key, opts.versionId);
  }

  async getObjectVersions(bucket: string, key: string): Promise<ObjectInfo[]> {
    await this.requireBucket(bucket);
    return getObjectVersions(this.setFor(bucket, key), bucket, key);
  }

  async getObject(bucket: string, key: string, opts: GetObjectOptions = {}): Promise<GetObjectResult> {
    await this.requireBucket(bucket);
    const set = this.setFor(bucket, key);
    return getObject(set, bucket, key, opts.versionId, opts.range, this.remoteReader);
  }

  async deleteObject(
    bucket: string,
    key: string,
    opts: DeleteObjectOptions = {},
  ): Promise<DeleteObjectResult> {
    const run = async (): Promise<Awaited<ReturnType<typeof deleteObjectAs>>> => {
      const versioning = opts.versionId === undefined ? await this.buckets.versioning(bucket) : undefined;
      return deleteObjectAs(this.setFor(bucket, key), bucket, key, opts, versioning);
    };
    // Only a DELETE without a version id can add (a delete marker): it counts as a write into the bucket.
    const { result, latest } =
      opts.versionId === undefined
        ? await this.buckets.writing(bucket, run)
        : await this.requireBucket(bucket).then(run);
    await this.changed({
      kind: 'object',
      bucket,
      key,
      ...(latest === undefined ? {} : { latest }),
      ...(result.removed ? { removed: [result.removed] } : {}),
    });
    return result;
  }

  async listObjectVersions(bucket: string, opts: ListVersionsOptions = {}): Promise<ListVersionsResult> {
    await this.requireBucket(bucket);
    return listPoolVersions(this.sets, (k) => this.setFor(bucket, k), bucket, opts);
  }

  async updateObjectVersion(
    bucket: string,
    key: string,
    versionId: string,
    update: VersionUpdate,
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    const { info, before } = await updateVersion(this.setFor(bucket, key), bucket, key, versionId, update);
    // A refused update wrote nothing: there is no change to tell.
    if (before)
      await this.changed({
        kind: 'object',
        bucket,
        key,
        ...latestOf(info),
        updated: { before, after: info },
      });
    return info;
  }

  async releaseVersionData(
    bucket: string,
    key: string,
    versionId: string,
    update: VersionUpdate,
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    const info = await releaseVersion(this.setFor(bucket, key), bucket, key, versionId, update);
    await this.changed({ kind: 'object', bucket, key, ...latestOf(info) });
    return info;
  }

  async restoreVersionData(
    bucket: string,
    key: string,
    versionId: string,
    body: Readable,
    update: VersionUpdate,
  ): Promise<ObjectInfo> {
    await this.requireBucket(bucket);
    const info = await restoreVersion(this.setFor(bucket, key), bucket, key, versionId, body, update);
    await this.changed({ kind: 'object', bucket, key, ...latestOf(info) });
    return info;
  }

  setRemoteReader(reader: RemoteReader | null): void {
    this.remoteReader = reader;
  }

  async listObjects(bucket: string, opts: ListObjectsOptions = {}): Promise<ListObjectsResult> {
    await this.requireBucket(bucket);
    return listPoolObjects(this.sets, bucket, opts);
  }

  // ----- multipart ---------------------------------------------------------------------------------------------

  async newMultipartUpload(bucket: string, key: string, opts: PutObjectOptions = {}): Promise<string> {
    const { uploadId, initiated } = await this.buckets.writing(bucket, () =>
      newUpload(this.setFor(bucket, key), bucket, key, opts),
    );
    await this.changed({ kind: 'upload', bucket, key, uploadId, initiated: new Date(initiated) });
    return uploadId;
  }

  async putObjectPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: AsyncIterable<Buffer>,
    opts: { size?: number; expectedMd5?: string } = {},
  ): Promise<PartInfo> {
    return this.buckets.writing(bucket, () => {
      objectPathComponents(key);
      return putPart(this.setFor(bucket, key), bucket, key, uploadId, partNumber, body, opts);
    });
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

  async abortMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    opts: { guard?: (initiated: Date) => boolean } = {},
  ): Promise<void> {
    await this.requireBucket(bucket);
    await abortUpload(this.setFor(bucket, key), bucket, key, uploadId, opts.guard);
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletePart[],
  ): Promise<ObjectInfo> {
    const { info, replaced } = await this.buckets.writing(bucket, async () =>
      completeUpload(this.setFor(bucket, key), bucket, key, uploadId, parts, await this.newVersionId(bucket)),
    );
    await this.changed({ kind: 'object', bucket, key, latest: info, ...removedBy(bucket, key, replaced) });
    return info;
  }

  async listMultipartUploads(bucket: string, opts: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    await this.requireBucket(bucket);
    return listPoolUploads(this.sets, bucket, opts);
  }

  // ----- change listeners --------------------------------------------------------------------------------------

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the listeners about a durable change and waits for them; a listener's failure is logged, not thrown. */
  private async changed(change: ObjectChange): Promise<void> {
    if (this.listeners.size === 0) return;
    const logged = (err: unknown): void =>
      this.log('warn', `change listener on bucket ${change.bucket}: ${(err as Error).message}`);
    if (this.listeners.size === 1) {
      const [only] = this.listeners; // the usual one: the lifecycle engine
      await only(change).catch(logged);
      return;
    }
    await Promise.all([...this.listeners].map((l) => l(change).catch(logged)));
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
        if (await this.buckets.bucketExists(b)) live.push(b);
      } catch {
        // undecidable: skip this round
      }
    }
    const healed = await this.buckets.healBucketRecords(live);
    const sets = opts.setIndex === undefined ? this.sets : [this.sets[opts.setIndex]];
    const reports: HealSetReport[] = [];
    for (const set of sets) reports.push(await healSet(set, healed));
    return reports;
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
    await Promise.all([this.md5.close(), ...this.drives().map((d) => d.close().catch(() => undefined))]);
    for (const release of this.onShutdown.splice(0)) await release();
  }

  /** Runs `release` at shutdown, after the last write (the drives' ownership, drive-owner.ts). */
  releaseOnShutdown(release: () => Promise<void>): void {
    this.onShutdown.push(release);
  }
}

/** ObjectChange.removed for a write that replaced a version: only one with tier state is worth reporting. */
function removedBy(
  bucket: string,
  key: string,
  replaced: ObjectVersion | undefined,
): { removed?: ObjectInfo[] } {
  return replaced?.tier ? { removed: [toObjectInfo(bucket, key, replaced, false)] } : {};
}
