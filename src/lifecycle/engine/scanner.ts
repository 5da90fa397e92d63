/**
 * The scanner: the backstop that finds any action the write path did not schedule (a gateway killed between a
 * commit and its scheduling, Redis unreachable at the time, a rule added after the objects were written, jobs of
 * an older configuration). It walks every version of every bucket that has lifecycle rules, and every incomplete
 * multipart upload, and schedules what is due through the same deterministic job ids, so a scan re-adding
 * scheduled work changes nothing.
 *
 * Cost: one ListObjectVersions pass per bucket with rules (1000 entries per request), and the jobs of each page
 * are added together: the keys' adds are asked for without waiting for one another, so they leave in one BullMQ
 * bulk add per kind (job-queues.ts batches the adds of one event-loop turn) instead of one round trip, and one
 * pipeline, per key. Memory is bounded by one listing page, its jobs, and the versions of one key.
 */
import type { ObjectInfo, ObjectLayer } from '../../storage/object-layer';
import type { LifecycleConfiguration } from '../rules/lifecycle-config';
import type { BucketRules } from './bucket-rules';
import type { LifecycleScheduler } from './scheduler';

/** What one scan saw and scheduled. */
export interface ScanReport {
  /** Buckets with lifecycle rules that were walked. */
  buckets: number;
  /** Object versions and delete markers evaluated. */
  versions: number;
  /** Incomplete multipart uploads evaluated. */
  uploads: number;
  /** Jobs asked for (existing ones included: adding a scheduled job again is a no-op). */
  scheduled: number;
}

/** Walks the namespace and schedules lifecycle actions. */
export class LifecycleScanner {
  constructor(
    private readonly layer: ObjectLayer,
    private readonly rules: BucketRules,
    private readonly scheduler: LifecycleScheduler,
  ) {}

  /** Scans every bucket, or only `bucket`. */
  async scan(bucket?: string): Promise<ScanReport> {
    const report: ScanReport = { buckets: 0, versions: 0, uploads: 0, scheduled: 0 };
    const names = bucket !== undefined ? [bucket] : (await this.layer.listBuckets()).map((b) => b.name);
    for (const name of names) {
      const config = await this.rules.of(name);
      if (!config) continue;
      report.buckets++;
      await this.scanVersions(name, config, report);
      await this.scanUploads(name, config, report);
    }
    return report;
  }

  private async scanVersions(
    bucket: string,
    config: LifecycleConfiguration,
    report: ScanReport,
  ): Promise<void> {
    let group: ObjectInfo[] = [];
    let adds: Promise<number>[] = [];
    /** Plans the key in `group` and asks for its jobs (not waited for here: see the file comment). */
    const flush = (): void => {
      if (group.length === 0) return;
      const now = Date.now();
      const planned = this.scheduler.plan(config, group, now);
      adds.push(this.scheduler.enqueue(bucket, group[0].key, planned, now));
      group = [];
    };
    /** Waits for the adds asked for so far (a failure fails the scan, as before). */
    const settle = async (): Promise<void> => {
      const counts = await Promise.all(adds);
      adds = [];
      for (const n of counts) report.scheduled += n;
    };
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await this.layer.listObjectVersions(bucket, { keyMarker, versionIdMarker, maxKeys: 1000 });
      try {
        for (const v of page.versions) {
          if (group.length > 0 && group[0].key !== v.key) flush();
          group.push(v);
          report.versions++;
        }
        // The page's last key may go on in the next page: it goes with that page's jobs, unless this is the last.
        if (!page.isTruncated) flush();
      } catch (err) {
        await Promise.allSettled(adds); // the adds already asked for are not left unobserved
        throw err;
      }
      await settle();
      if (!page.isTruncated) break;
      ({ nextKeyMarker: keyMarker, nextVersionIdMarker: versionIdMarker } = page);
    }
  }

  private async scanUploads(
    bucket: string,
    config: LifecycleConfiguration,
    report: ScanReport,
  ): Promise<void> {
    if (!config.rules.some((r) => r.status === 'Enabled' && r.abortIncompleteMultipartUpload)) return;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.layer.listMultipartUploads(bucket, {
        keyMarker,
        uploadIdMarker,
        maxUploads: 1000,
      });
      const now = Date.now();
      const adds = page.uploads.map((u) =>
        this.scheduler.enqueueAbort(config, bucket, u.key, u.uploadId, u.initiated, now),
      );
      report.uploads += page.uploads.length;
      for (const n of await Promise.all(adds)) report.scheduled += n;
      if (!page.isTruncated) break;
      ({ nextKeyMarker: keyMarker, nextUploadIdMarker: uploadIdMarker } = page);
    }
  }
}
