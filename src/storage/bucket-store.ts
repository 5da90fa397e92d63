/**
 * Buckets: a bucket is a directory on every drive of every set plus a record (and its configuration documents) in
 * each drive's system volume. Existence is decided by quorum across all drives, like objects within a set.
 */
import { createHash } from 'node:crypto';
import type { Drive } from './drive/drive';
import { isStorageError, storageError } from './errors';
import type { ErasureSet } from './erasure-set';
import { BUCKETS_DIR, checkBucketName, MULTIPART_DIR, SYS_VOLUME, SYSTEM_CONFIG_DIR } from './layout';
import { BucketWrites } from './bucket-writes';
import { objectLocks, type ClusterLock, type ObjectLocks } from './object-locks';
import type { BucketInfo, VersioningStatus } from './object-layer';
import { walkSet } from './set-listing';

const BUCKET_CACHE_MS = 2000;
/** Bucket config document holding `{"status": "Enabled" | "Suspended"}`; absent while the bucket is unversioned. */
const VERSIONING_CONFIG = 'versioning';
/**
 * Bucket config document holding the lifecycle configuration. Opaque bytes here: their format belongs to
 * `lifecycle/rules/stored-lifecycle.ts` (storage imports nothing from the other folders).
 */
const LIFECYCLE_CONFIG = 'lifecycle';

function parseVersioningDoc(doc: Buffer): VersioningStatus {
  try {
    const { status } = JSON.parse(doc.toString()) as { status?: unknown };
    if (status === 'Enabled' || status === 'Suspended') return status;
  } catch {
    // fall through
  }
  throw storageError('FileCorrupt', 'bucket versioning document is unreadable');
}
const CONFIG_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Bucket records and configuration across all drives of the pool. */
export class BucketStore {
  private readonly cache = new Map<string, number>();
  private readonly versioningCache = new Map<string, { status: VersioningStatus; until: number }>();
  private readonly lifecycleCache = new Map<string, { doc: Buffer | null; until: number }>();
  /**
   * Bumped when a bucket's configuration changes or the bucket goes (before and after the write): a read that
   * overlapped a change does not cache what it read, which may be from before the change.
   */
  private readonly configEpoch = new Map<string, number>();
  /** Existence checks in flight: requests that find the cache expired together share one check. */
  private readonly checking = new Map<string, { epoch: number | undefined; answer: Promise<boolean> }>();
  /** Serialises bucket creation and removal (across the cluster when there is one). */
  private readonly locks: ObjectLocks;
  /** Writes into buckets, against their deletion (this process's). */
  private readonly writes = new BucketWrites();

  /**
   * How long a bucket found to exist is taken to exist. Not at all in a cluster: another node may delete it, and
   * a write let through by a stale answer would be acknowledged into a bucket that is gone.
   */
  private readonly existsMs: number;

  constructor(
    private readonly sets: ErasureSet[],
    clusterLock?: ClusterLock,
  ) {
    this.locks = objectLocks(clusterLock, 'bucket');
    this.existsMs = clusterLock ? 0 : BUCKET_CACHE_MS;
  }

  private drives(): Drive[] {
    return this.sets.flatMap((s) => s.drives.filter((d): d is Drive => d !== null));
  }

  private get totalDrives(): number {
    return this.sets.reduce((n, s) => n + s.n, 0);
  }

  /** Creates a bucket on every drive (BucketExists if it is there already). */
  async makeBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.locks.withWrite(bucket, () => this.makeBucketLocked(bucket));
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
    this.cache.set(bucket, Date.now() + this.existsMs);
  }

  /** True / false by quorum; throws ReadQuorum when the drives cannot decide. */
  async bucketExists(bucket: string): Promise<boolean> {
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

  /** Throws BucketNotFound unless the bucket exists (positive answers are cached for a moment). */
  async requireBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    const until = this.cache.get(bucket);
    if (until !== undefined && until > Date.now()) return;
    // A check is shared only by callers of one epoch: one begun before a delete's bump may read drives the delete
    // has not reached yet, and must not answer (nor be cached for) those who came after it.
    const epoch = this.configEpoch.get(bucket);
    let check = this.checking.get(bucket);
    if (!check || check.epoch !== epoch) {
      const started = { epoch, answer: this.bucketExists(bucket) };
      check = started;
      this.checking.set(bucket, started);
      void started.answer
        .finally(() => this.checking.get(bucket) === started && this.checking.delete(bucket))
        .catch(() => undefined);
    }
    if (!(await check.answer)) throw storageError('BucketNotFound', 'the specified bucket does not exist');
    if (this.configEpoch.get(bucket) === epoch && !this.writes.isDeleting(bucket)) {
      this.cache.set(bucket, Date.now() + this.existsMs);
    }
  }

  /** Runs `fn` as a write into `bucket` (it must exist), never racing its deletion (see bucket-writes.ts). */
  writing<T>(bucket: string, fn: () => Promise<T>): Promise<T> {
    return this.writes.write(bucket, () => this.requireBucket(bucket), fn);
  }

  /** The bucket's record. */
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

  /** Buckets known to a read quorum of drives, by name. */
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

  /** Removes an empty bucket (BucketNotEmpty while any version remains). */
  async deleteBucket(bucket: string): Promise<void> {
    checkBucketName(bucket);
    await this.locks.withWrite(bucket, () => this.deleteBucketLocked(bucket));
  }

  private async deleteBucketLocked(bucket: string): Promise<void> {
    this.cache.delete(bucket);
    this.versioningCache.delete(bucket);
    this.lifecycleCache.delete(bucket);
    await this.requireBucket(bucket);
    // Writes into the bucket wait from here on (or, already running, make it BucketNotEmpty): bucket-writes.ts.
    await this.writes.delete(bucket, async () => {
      this.bumpConfig(bucket);
      for (const set of this.sets) {
        for await (const e of walkSet(set, bucket, { recursive: true }, 1)) {
          if (e.res && (e.res.versions.length > 0 || e.res.undecided.length > 0)) {
            throw storageError('BucketNotEmpty', 'the bucket you tried to delete is not empty');
          }
        }
      }
      this.cache.delete(bucket);
      this.bumpConfig(bucket);
      await this.removeBucketEverywhere(bucket);
      this.cache.delete(bucket);
      this.bumpConfig(bucket);
    });
  }

  private bumpConfig(bucket: string): void {
    this.configEpoch.set(bucket, (this.configEpoch.get(bucket) ?? 0) + 1);
    this.versioningCache.delete(bucket);
    this.lifecycleCache.delete(bucket);
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

  /** A configuration document by majority of the drives; null when none is set. */
  async getBucketConfig(bucket: string, name: string): Promise<Buffer | null> {
    await this.requireBucket(bucket);
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    return this.readMajority(`${BUCKETS_DIR}/${bucket}/config/${name}`, 'bucket config');
  }

  /** Stores (or with null removes) a configuration document on every drive. */
  async putBucketConfig(bucket: string, name: string, data: Buffer | null): Promise<void> {
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    await this.writing(bucket, () =>
      this.writeAll(`${BUCKETS_DIR}/${bucket}/config/${name}`, data, 'bucket config'),
    );
  }

  /** A deployment-wide configuration document (e.g. the tier registry) by majority of the drives; null if unset. */
  async getSystemConfig(name: string): Promise<Buffer | null> {
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    return this.readMajority(`${SYSTEM_CONFIG_DIR}/${name}`, 'system config');
  }

  /** Stores (or with null removes) a deployment-wide configuration document on every drive. */
  async putSystemConfig(name: string, data: Buffer | null): Promise<void> {
    if (!CONFIG_NAME_RE.test(name)) throw storageError('InvalidArgument', 'bad config name');
    await this.writeAll(`${SYSTEM_CONFIG_DIR}/${name}`, data, 'system config');
  }

  /** The file at `path` of the system volume as most drives have it (null: most have none). */
  private async readMajority(path: string, what: string): Promise<Buffer | null> {
    const tally = new Map<string, { data: Buffer | null; count: number }>();
    await Promise.all(
      this.drives().map(async (d) => {
        let data: Buffer | null;
        try {
          data = await d.readFile(SYS_VOLUME, path);
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
      throw storageError('ReadQuorum', `${what} undecidable`);
    return best.data;
  }

  /** Writes (or removes) the file at `path` of the system volume on every drive; a strict majority must succeed. */
  private async writeAll(path: string, data: Buffer | null, what: string): Promise<void> {
    const ok = await Promise.all(
      this.drives().map((d) =>
        (data ? d.writeFileAtomic(SYS_VOLUME, path, data) : d.delete(SYS_VOLUME, path)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (ok.filter(Boolean).length < Math.ceil(this.totalDrives / 2) + (this.totalDrives % 2 === 0 ? 1 : 0)) {
      throw storageError('WriteQuorum', `could not store the ${what} on enough drives`);
    }
  }

  /** The bucket's versioning state (cached for a moment, like existence; this process's own changes at once). */
  async versioning(bucket: string): Promise<VersioningStatus> {
    const cached = this.versioningCache.get(bucket);
    if (cached && cached.until > Date.now()) return cached.status;
    const epoch = this.configEpoch.get(bucket);
    const doc = await this.getBucketConfig(bucket, VERSIONING_CONFIG);
    const status = doc ? parseVersioningDoc(doc) : 'Unversioned';
    if (this.configEpoch.get(bucket) === epoch)
      this.versioningCache.set(bucket, { status, until: Date.now() + BUCKET_CACHE_MS });
    return status;
  }

  /** Enables or suspends versioning. */
  async setVersioning(bucket: string, status: 'Enabled' | 'Suspended'): Promise<void> {
    this.bumpConfig(bucket);
    await this.putBucketConfig(bucket, VERSIONING_CONFIG, Buffer.from(JSON.stringify({ status })));
    this.bumpConfig(bucket);
    this.versioningCache.set(bucket, { status, until: Date.now() + BUCKET_CACHE_MS });
  }

  /**
   * The bucket's lifecycle document, or null (cached for a moment like versioning, since the lifecycle engine
   * reads it on every write; this process's own changes are seen at once, other processes' within the TTL).
   */
  async lifecycle(bucket: string): Promise<Buffer | null> {
    const cached = this.lifecycleCache.get(bucket);
    if (cached && cached.until > Date.now()) return cached.doc;
    const epoch = this.configEpoch.get(bucket);
    const doc = await this.getBucketConfig(bucket, LIFECYCLE_CONFIG);
    if (this.configEpoch.get(bucket) === epoch)
      this.lifecycleCache.set(bucket, { doc, until: Date.now() + BUCKET_CACHE_MS });
    return doc;
  }

  /** Stores (or with null removes) the lifecycle document. */
  async setLifecycle(bucket: string, doc: Buffer | null): Promise<void> {
    this.bumpConfig(bucket);
    await this.putBucketConfig(bucket, LIFECYCLE_CONFIG, doc);
    this.bumpConfig(bucket);
    this.lifecycleCache.set(bucket, { doc, until: Date.now() + BUCKET_CACHE_MS });
  }

  /**
   * Copies bucket records to drives that miss them, and makes the bucket's volume on every drive that lacks it
   * (replaced or wiped drives); returns the buckets that still exist, the ones to heal the objects of.
   */
  async healBucketRecords(buckets: string[]): Promise<string[]> {
    const live: string[] = [];
    for (const bucket of buckets) {
      // Under the bucket's lock (cluster-wide), and only if it still exists: a DeleteBucket that ran since the
      // caller listed it must not have its record or an empty volume written back, and one that comes later waits.
      await this.locks.withWrite(bucket, async () => {
        if (!(await this.bucketExists(bucket).catch(() => false))) return;
        await Promise.all(this.drives().map((d) => d.makeVolume(bucket).catch(() => undefined)));
        await this.healBucketRecord(bucket);
        live.push(bucket);
      });
    }
    return live;
  }

  /** Writes a bucket's record back on the drives that lack it (the caller made its volume on every drive). */
  private async healBucketRecord(bucket: string): Promise<void> {
    const path = `${BUCKETS_DIR}/${bucket}/bucket.json`;
    let record: Buffer | undefined;
    for (const d of this.drives()) {
      record = await d.readFile(SYS_VOLUME, path).catch(() => undefined);
      if (record) break;
    }
    if (!record) return;
    const rec = record;
    await Promise.all(
      this.drives().map(async (d) => {
        try {
          await d.readFile(SYS_VOLUME, path);
        } catch (err) {
          if (!isStorageError(err, 'FileNotFound')) return;
          await d.writeFileAtomic(SYS_VOLUME, path, rec).catch(() => undefined);
        }
      }),
    );
  }
}
