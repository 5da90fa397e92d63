/**
 * End to end: the lifecycle engine acting on a running gateway (in-process, on the test process's redis-server)
 * with a one-second lifecycle day, driven by @aws-sdk/client-s3. Proves each action as AWS documents it:
 * - Expiration Days removes objects of an unversioned bucket, only those the filter matches;
 * - in a versioned bucket it adds a delete marker, NoncurrentVersionExpiration then removes the old version, and
 *   ExpiredObjectDeleteMarker removes the marker left alone, so the key is gone from ListObjectVersions;
 * - NewerNoncurrentVersions keeps the newest N noncurrent versions;
 * - a rule stored after the objects were written applies to them (the rule change queues a scan of the bucket);
 * - AbortIncompleteMultipartUpload removes the upload and its parts from every drive;
 * - a job whose action is no longer due (object overwritten, rule removed) does nothing;
 * - POST /lifecycle/scan and GET /lifecycle/explain, and the lifecycle series of /tiergate/metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketLifecycleCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  type LifecycleRule,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { startGateway, type TestGateway, versionedBucket, walkFiles } from './harness';

/** Polls `check` every 100 ms until it returns true or `ms` pass; returns whether it did. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function keys(s3: S3Client, bucket: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

async function versions(
  s3: S3Client,
  bucket: string,
): Promise<{ key: string; id: string; marker: boolean }[]> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  return [
    ...(out.Versions ?? []).map((v) => ({
      key: v.Key!,
      id: v.VersionId!,
      marker: false,
      at: v.LastModified!,
    })),
    ...(out.DeleteMarkers ?? []).map((v) => ({
      key: v.Key!,
      id: v.VersionId!,
      marker: true,
      at: v.LastModified!,
    })),
  ]
    .sort((a, b) => (a.key === b.key ? b.at.getTime() - a.at.getTime() : a.key < b.key ? -1 : 1))
    .map(({ key, id, marker }) => ({ key, id, marker }));
}

async function putRules(s3: S3Client, bucket: string, rules: LifecycleRule[]): Promise<void> {
  await s3.send(
    new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: rules } }),
  );
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('lifecycle actions on a running gateway (1-second days)', () => {
  let gateway: TestGateway;
  let s3: S3Client;

  before(async () => {
    gateway = await startGateway({
      env: { TIERGATE_LIFECYCLE_DAY_SECONDS: '1', TIERGATE_SCANNER_INTERVAL_SECONDS: '3600' },
    });
    s3 = gateway.client();
  });
  after(async () => {
    await gateway?.close();
  });

  it('expires the objects a rule matches in an unversioned bucket, and only those', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'plain' }));
    await putRules(s3, 'plain', [
      { ID: 'tmp', Status: 'Enabled', Filter: { Prefix: 'tmp/' }, Expiration: { Days: 1 } },
    ]);
    for (let i = 0; i < 10; i++) {
      await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: `tmp/${i}`, Body: `t${i}` }));
      await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: `keep/${i}`, Body: `k${i}` }));
    }
    assert.ok(
      await eventually(async () => (await keys(s3, 'plain')).every((k) => k.startsWith('keep/')), 15_000),
      `left: ${(await keys(s3, 'plain')).join(' ')}`,
    );
    assert.equal((await keys(s3, 'plain')).length, 10);
    // A job's outcome is counted when it returns, a moment after its delete: poll for the tenth.
    const done = async (): Promise<number> =>
      metric(
        (await gateway.unsigned({ method: 'GET', path: '/tiergate/metrics' })).text,
        'tiergate_lifecycle_jobs_total',
        { action: 'expire-current', outcome: 'done' },
      );
    assert.ok(await eventually(async () => (await done()) >= 10, 10_000), `counted ${await done()} done`);
    const metrics = await gateway.unsigned({ method: 'GET', path: '/tiergate/metrics' });
    assert.match(metrics.text, /^tiergate_queue_jobs\{queue="expire",state="completed"\} \d+$/m);
    assert.match(metrics.text, /^tiergate_queue_up 1$/m);
  });

  it('in a versioned bucket: marker, then the noncurrent version, then the expired marker', async () => {
    await versionedBucket(s3, 'chain');
    await s3.send(new PutObjectCommand({ Bucket: 'chain', Key: 'doc', Body: 'v1' }));
    await putRules(s3, 'chain', [
      {
        ID: 'all',
        Status: 'Enabled',
        Filter: {},
        Expiration: { Days: 1 },
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      },
      { ID: 'markers', Status: 'Enabled', Filter: {}, Expiration: { ExpiredObjectDeleteMarker: true } },
    ]);
    // Expiration Days and ExpiredObjectDeleteMarker cannot share a rule; the engine honours both rules.
    const seen = new Set<string>();
    assert.ok(
      await eventually(async () => {
        const v = await versions(s3, 'chain');
        seen.add(v.map((x) => (x.marker ? 'M' : 'V')).join(''));
        return v.length === 0;
      }, 20_000),
      `versions left: ${JSON.stringify(await versions(s3, 'chain'))}`,
    );
    // The states it went through: the object, then a marker on top of it (the object noncurrent), then nothing
    // (the noncurrent version and the lone marker removed; polling may miss the short-lived lone marker).
    assert.ok(seen.has('MV'), `states seen: ${[...seen].join(', ')}`);
  });

  it('keeps the newest NewerNoncurrentVersions noncurrent versions', async () => {
    await versionedBucket(s3, 'keep2');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const out = await s3.send(new PutObjectCommand({ Bucket: 'keep2', Key: 'k', Body: `v${i}` }));
      ids.push(out.VersionId!);
    }
    await putRules(s3, 'keep2', [
      {
        ID: 'nv',
        Status: 'Enabled',
        Filter: {},
        NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 2 },
      },
    ]);
    const want = ids.slice(-3).reverse(); // current + the 2 newest noncurrent
    assert.ok(
      await eventually(async () => (await versions(s3, 'keep2')).length === 3, 15_000),
      JSON.stringify(await versions(s3, 'keep2')),
    );
    assert.deepEqual(
      (await versions(s3, 'keep2')).map((v) => v.id),
      want,
    );
    // Nothing more is due: a rescan keeps them.
    await gateway.signed({ method: 'POST', path: '/tiergate/admin/v1/lifecycle/scan?bucket=keep2' });
    await new Promise((r) => setTimeout(r, 2_500));
    assert.deepEqual(
      (await versions(s3, 'keep2')).map((v) => v.id),
      want,
    );
  });

  it('applies a rule added after the objects were written', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'late' }));
    for (let i = 0; i < 20; i++)
      await s3.send(new PutObjectCommand({ Bucket: 'late', Key: `o${i}`, Body: 'x' }));
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal((await keys(s3, 'late')).length, 20, 'nothing expires without a rule');
    await putRules(s3, 'late', [{ ID: 'e', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);
    assert.ok(
      await eventually(async () => (await keys(s3, 'late')).length === 0, 15_000),
      `left: ${(await keys(s3, 'late')).join(' ')}`,
    );
  });

  it('does nothing for a job that is no longer due: object overwritten, rule removed', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'stale' }));
    await putRules(s3, 'stale', [{ ID: 'e', Status: 'Enabled', Filter: {}, Expiration: { Days: 2 } }]);
    await s3.send(new PutObjectCommand({ Bucket: 'stale', Key: 'gone-rule', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: 'stale', Key: 'tagged', Body: 'a' }));
    await s3.send(new DeleteBucketLifecycleCommand({ Bucket: 'stale' }));
    // Both objects had jobs due in 2-3 s; with the rule gone they must survive them.
    await new Promise((r) => setTimeout(r, 4_500));
    assert.deepEqual((await keys(s3, 'stale')).sort(), ['gone-rule', 'tagged']);
    // A rule with a tag filter: the object written without the tag is not touched, the tagged one is.
    await putRules(s3, 'stale', [
      {
        ID: 't',
        Status: 'Enabled',
        Filter: { Tag: { Key: 'ttl', Value: 'short' } },
        Expiration: { Days: 1 },
      },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: 'stale', Key: 'tagged', Body: 'b', Tagging: 'ttl=short' }));
    assert.ok(
      await eventually(async () => (await keys(s3, 'stale')).join() === 'gone-rule', 15_000),
      `left: ${(await keys(s3, 'stale')).join(' ')}`,
    );
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'stale', Key: 'gone-rule' }));
    assert.deepEqual(tags.TagSet, []);
    await s3.send(new HeadObjectCommand({ Bucket: 'stale', Key: 'gone-rule' }));
  });

  it('aborts incomplete multipart uploads and removes their parts from every drive', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'mpu' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'mpu', Key: 'big' }));
    await s3.send(
      new UploadPartCommand({
        Bucket: 'mpu',
        Key: 'big',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(300_000, 7),
      }),
    );
    const traces = async (): Promise<string[]> =>
      (await Promise.all(gateway.drives.map((d) => walkFiles(d))))
        .flat()
        .filter((f) => f.includes(UploadId!));
    assert.ok((await traces()).length >= gateway.drives.length, 'the upload is on every drive');
    await putRules(s3, 'mpu', [
      { ID: 'a', Status: 'Enabled', Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
    ]);
    assert.ok(
      await eventually(async () => {
        const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'mpu' }));
        return (out.Uploads ?? []).length === 0;
      }, 15_000),
      'the upload was aborted',
    );
    assert.deepEqual(await traces(), [], 'no drive keeps a file of the upload');
  });

  it('explains a key: rule, due time, job state; and scans on demand', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'explain' }));
    await s3.send(new PutObjectCommand({ Bucket: 'explain', Key: 'far', Body: 'x' }));
    await putRules(s3, 'explain', [{ ID: 'year', Status: 'Enabled', Filter: {}, Expiration: { Days: 365 } }]);
    const scan = await gateway.signed({
      method: 'POST',
      path: '/tiergate/admin/v1/lifecycle/scan?bucket=explain',
    });
    assert.equal(scan.status, 200, scan.text);
    const report = JSON.parse(scan.text) as { buckets: number; versions: number; scheduled: number };
    assert.deepEqual({ buckets: report.buckets, versions: report.versions }, { buckets: 1, versions: 1 });
    assert.equal(report.scheduled, 1);
    const res = await gateway.signed({
      method: 'GET',
      path: '/tiergate/admin/v1/lifecycle/explain?bucket=explain&key=far',
    });
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text) as {
      hasRules: boolean;
      versions: {
        next: { action: string; ruleId: string; dueAt: string; due: boolean };
        job: { state: string };
      }[];
    };
    assert.equal(body.hasRules, true);
    assert.equal(body.versions.length, 1);
    const [v] = body.versions;
    assert.equal(v.next.action, 'expire-current');
    assert.equal(v.next.ruleId, 'year');
    assert.equal(v.next.due, false);
    assert.ok(Date.parse(v.next.dueAt) > Date.now() + 360_000);
    assert.equal(v.job.state, 'delayed');

    const missing = await gateway.signed({
      method: 'GET',
      path: '/tiergate/admin/v1/lifecycle/explain?bucket=nope-bucket&key=far',
    });
    assert.equal(missing.status, 404, missing.text);
    assert.equal((JSON.parse(missing.text) as { code: string }).code, 'NoSuchBucket');
    const noKey = await gateway.signed({
      method: 'GET',
      path: '/tiergate/admin/v1/lifecycle/explain?bucket=explain',
    });
    assert.equal(noKey.status, 400, noKey.text);
    const unsigned = await gateway.unsigned({ method: 'POST', path: '/tiergate/admin/v1/lifecycle/scan' });
    assert.equal(unsigned.status, 403, unsigned.text);
  });
});
