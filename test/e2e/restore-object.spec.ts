/**
 * End to end: RestoreObject (`POST /bucket/key?restore`) on a running gateway (2-second lifecycle days) with two
 * tiers on our S3 test server (signatures checked, storage classes and Glacier restore semantics kept):
 * - WARM (STANDARD_IA, readable in place): an object transitions, its shards leave the drives; RestoreObject
 *   answers 202, then 409 RestoreAlreadyInProgress while the copy-back runs (kept running by a tier outage it
 *   retries through), with `x-amz-restore: ongoing-request="true"` on HEAD; once done, 200 moves the expiry (an
 *   RFC 1123 date on a lifecycle-day boundary) later; HEAD and GET show it, GET returns the bytes from the local
 *   copy with no request reaching the tier and the storage class still WARM; after the expiry the version is
 *   remote again, its data dirs are gone from every drive, and GET reads the intact remote object through the tier;
 *   no DELETE ever reached the tier outside the registry's probe;
 * - ICE (GLACIER): GET is 403 InvalidObjectState before a restore; RestoreObject starts the cloud-side restore
 *   (202, then 409 while the cloud restores), after which the object reads, until its expiry;
 * - listings (v1, v2, versions) report each entry's RestoreStatus when `x-amz-optional-object-attributes` asks for
 *   it: none before a restore, in progress, then done with the expiry HEAD names; an unknown attribute is
 *   InvalidArgument;
 * - bad requests: MalformedXML, InvalidArgument, InvalidObjectState for a version that is not in a tier, NoSuchKey,
 *   NoSuchVersion, and a delete marker.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectVersionsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type OptionalObjectAttributes,
  type RestoreStatus,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  type TransitionStorageClass,
} from '@aws-sdk/client-s3';
import type { ObjectLayer } from '../../src/storage/object-layer';
import { OBJECT_LAYER } from '../../src/storage/storage.module';
import { startS3ArchiveServer, type S3ArchiveServer } from '../fixtures/cloud/s3-archive-server';
import {
  parseErrorXml,
  s3Failure,
  startGateway,
  versionedBucket,
  walkFiles,
  type TestGateway,
} from './harness';
import { until } from '../fixtures/poll';

const DAY_SECONDS = 2;
const CLOUD_BUCKET = 'cloud';
const AK = 'AKIARESTORETEST';
const SECRET = 'restore-test-secret-0123456789';

/** Shard files of `bucket/key` (in its data dirs) on every drive. */
async function dataFiles(gateway: TestGateway, bucket: string, key: string): Promise<string[]> {
  const all = (await Promise.all(gateway.drives.map((d) => walkFiles(`${d}/${bucket}/${key}`)))).flat();
  return all.filter((f) => f.includes('/%d.'));
}

describe('RestoreObject on a running gateway with tiers on an S3 server', { timeout: 240_000 }, () => {
  let gateway: TestGateway;
  let cloud: S3ArchiveServer;
  let s3: S3Client;
  let layer: ObjectLayer;

  const addTier = async (name: string, storageClass: string): Promise<void> => {
    const res = await gateway.signed({
      method: 'PUT',
      path: '/tiergate/admin/v1/tiers',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        type: 's3',
        endpoint: cloud.endpoint,
        region: 'us-east-1',
        bucket: CLOUD_BUCKET,
        prefix: `${name.toLowerCase()}/`,
        storageClass,
        accessKey: AK,
        secretKey: SECRET,
      }),
    });
    assert.equal(res.status, 201, res.text);
  };

  /** A versioned bucket whose objects (any size) go to `tier` at the next lifecycle-day boundary. */
  const tieredBucket = async (bucket: string, tier: string): Promise<void> => {
    await versionedBucket(s3, bucket);
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'cold',
              Status: 'Enabled',
              Filter: { ObjectSizeLessThan: 1024 * 1024 * 1024 },
              Transitions: [{ Days: 0, StorageClass: tier as TransitionStorageClass }],
            },
          ],
        },
      }),
    );
  };

  /** Puts `body` and waits until its version is only in the tier. */
  const putAndTransition = async (bucket: string, key: string, body: Buffer): Promise<string> => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const versionId = put.VersionId!;
    await until(`${bucket}/${key} to transition`, async () =>
      (await layer.getObjectInfo(bucket, key, { versionId })).remote ? true : undefined,
    );
    return versionId;
  };

  const restore = (bucket: string, key: string, days: number, versionId?: string) =>
    s3.send(
      new RestoreObjectCommand({
        Bucket: bucket,
        Key: key,
        VersionId: versionId,
        RestoreRequest: { Days: days, GlacierJobParameters: { Tier: 'Standard' } },
      }),
    );
  /**
   * The RestoreStatus each listing (v1, v2, versions) reports for `key` when asked for it; also checks that none is
   * reported unasked. All three must agree; returns theirs.
   */
  const listedRestore = async (bucket: string, key: string): Promise<RestoreStatus | undefined> => {
    const asked = { OptionalObjectAttributes: ['RestoreStatus' as OptionalObjectAttributes] };
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, ...asked }));
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket, Prefix: key, ...asked }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, ...asked }));
    const plain = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key }));
    const entry = v2.Contents?.find((o) => o.Key === key);
    assert.ok(entry, `${key} is listed`);
    assert.equal(plain.Contents?.find((o) => o.Key === key)?.RestoreStatus, undefined, 'only when asked');
    assert.deepEqual(v1.Contents?.find((o) => o.Key === key)?.RestoreStatus, entry.RestoreStatus, 'v1');
    const latest = versions.Versions?.find((v) => v.Key === key && v.IsLatest);
    assert.deepEqual(latest?.RestoreStatus, entry.RestoreStatus, 'ListObjectVersions');
    return entry.RestoreStatus;
  };
  const head = (bucket: string, key: string): Promise<HeadObjectCommandOutput> =>
    s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const read = async (bucket: string, key: string): Promise<{ bytes: Buffer; restore?: string }> => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { bytes: Buffer.from(await out.Body!.transformToByteArray()), restore: out.Restore };
  };
  const tierRequests = (since: number, method?: string) =>
    cloud.tap.log.slice(since).filter((r) => (method ? r.method === method : true));

  before(async () => {
    cloud = await startS3ArchiveServer({
      buckets: [CLOUD_BUCKET],
      credentials: { [AK]: SECRET },
      restoreMs: 1500,
    });
    gateway = await startGateway({
      env: {
        TIERGATE_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS),
        TIERGATE_SCANNER_INTERVAL_SECONDS: '3600',
      },
    });
    s3 = gateway.client();
    layer = gateway.app.get<ObjectLayer>(OBJECT_LAYER);
    await addTier('WARM', 'STANDARD_IA');
    await addTier('ICE', 'GLACIER');
    await tieredBucket('warm', 'WARM');
    await tieredBucket('ice', 'ICE');
    await versionedBucket(s3, 'plain'); // no lifecycle rules: its objects stay STANDARD
  });
  after(async () => {
    await gateway?.close();
    await cloud?.close();
  });

  it('restores for Days: 202, 409 while running, 200 extends; local reads; expiry frees only the local copy', async () => {
    const bytes = randomBytes(1024 * 1024 + 17);
    const versionId = await putAndTransition('warm', 'big', bytes);
    assert.deepEqual(await dataFiles(gateway, 'warm', 'big'), [], 'the shards left the drives');
    assert.equal((await head('warm', 'big')).StorageClass, 'WARM');
    assert.equal((await head('warm', 'big')).Restore, undefined);
    assert.equal(await listedRestore('warm', 'big'), undefined, 'never restored: no RestoreStatus');

    // The tier answers 503 for a while: the copy-back fails and retries, so the restore is observably running.
    await cloud.tap.outage('503');
    const mark = cloud.tap.log.length;
    const first = await restore('warm', 'big', 1, versionId);
    assert.equal(first.$metadata.httpStatusCode, 202);
    assert.deepEqual(await s3Failure(restore('warm', 'big', 1)), {
      code: 'RestoreAlreadyInProgress',
      status: 409,
    });
    assert.equal((await head('warm', 'big')).Restore, 'ongoing-request="true"');
    assert.deepEqual(await listedRestore('warm', 'big'), { IsRestoreInProgress: true });
    await until('the copy-back to meet the outage', async () =>
      tierRequests(mark).some((r) => r.status === 503) ? true : undefined,
    );
    assert.deepEqual(await s3Failure(restore('warm', 'big', 1)), {
      code: 'RestoreAlreadyInProgress',
      status: 409,
    });
    assert.equal(
      (await layer.getObjectInfo('warm', 'big')).remote,
      true,
      'still remote and readable meanwhile',
    );
    await cloud.tap.outage('none');

    // The retry completes: the version has a local copy until the expiry the header names.
    const restored = await until('the copy-back to complete', async () => {
      const h = await head('warm', 'big');
      return h.Restore?.startsWith('ongoing-request="false"') ? h : undefined;
    });
    assert.equal(restored.StorageClass, 'WARM', 'a restored version keeps its tier as storage class');
    const expiryOf = (header: string | undefined): number => {
      const m = /^ongoing-request="false", expiry-date="([^"]+)"$/.exec(header ?? '');
      assert.ok(m, `x-amz-restore: ${header}`);
      assert.match(m[1], /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      return Date.parse(m[1]);
    };
    const expiry1 = expiryOf(restored.Restore);
    assert.deepEqual(await listedRestore('warm', 'big'), {
      IsRestoreInProgress: false,
      RestoreExpiryDate: new Date(expiry1),
    });
    assert.equal(expiry1 % (DAY_SECONDS * 1000), 0, 'the expiry is a lifecycle-day boundary ("midnight")');
    assert.ok((await dataFiles(gateway, 'warm', 'big')).length > 0, 'the local copy is on the drives');

    // Again once restored: 200, and the expiry moves to Days (2) from now.
    const again = await restore('warm', 'big', 2);
    assert.equal(again.$metadata.httpStatusCode, 200);
    const expiry2 = expiryOf((await head('warm', 'big')).Restore);
    assert.ok(
      expiry2 > expiry1,
      `extended: ${new Date(expiry1).toISOString()} -> ${new Date(expiry2).toISOString()}`,
    );

    // GET serves the local copy: identical bytes, the restore header, and nothing sent to the tier.
    const beforeGet = cloud.tap.log.length;
    const got = await read('warm', 'big');
    assert.ok(got.bytes.equals(bytes));
    assert.equal(expiryOf(got.restore), expiry2);
    assert.deepEqual(tierRequests(beforeGet), [], 'no request reached the tier');

    // After the (extended) expiry: remote again, the local data gone, the remote copy intact and read through.
    await until(
      'the restored copy to expire',
      async () => ((await layer.getObjectInfo('warm', 'big')).remote ? true : undefined),
      30_000,
    );
    assert.ok(Date.now() >= expiry2, 'not released before its expiry');
    assert.deepEqual(await dataFiles(gateway, 'warm', 'big'), []);
    const h = await head('warm', 'big');
    assert.equal(h.Restore, undefined);
    assert.equal(h.StorageClass, 'WARM');
    const beforeRead = cloud.tap.log.length;
    assert.ok((await read('warm', 'big')).bytes.equals(bytes), 'read through from the tier');
    assert.ok(tierRequests(beforeRead, 'GET').length > 0, 'the GET went to the tier');
    const deletes = cloud.tap.log.filter((r) => r.method === 'DELETE' && !r.path.includes('.tiergate-probe'));
    assert.deepEqual(deletes, [], 'restore and its expiry never delete anything in the tier');
  });

  it('restores from an archive class: 403 before, the cloud-side restore first, then the object reads', async () => {
    const bytes = randomBytes(300 * 1024);
    await putAndTransition('ice', 'frozen', bytes);
    assert.deepEqual(await s3Failure(read('ice', 'frozen')), { code: 'InvalidObjectState', status: 403 });
    const mark = cloud.tap.log.length;
    assert.equal((await restore('ice', 'frozen', 1)).$metadata.httpStatusCode, 202);
    assert.deepEqual(await s3Failure(restore('ice', 'frozen', 1)), {
      code: 'RestoreAlreadyInProgress',
      status: 409,
    });
    assert.equal((await head('ice', 'frozen')).Restore, 'ongoing-request="true"');
    await until('the cloud-side restore to be asked for', async () =>
      tierRequests(mark, 'POST').some((r) => 'restore' in r.query) ? true : undefined,
    );
    await until('the archive restore to complete', async () =>
      (await head('ice', 'frozen')).Restore?.startsWith('ongoing-request="false"') ? true : undefined,
    );
    const got = await read('ice', 'frozen');
    assert.ok(got.bytes.equals(bytes));
    assert.equal((await head('ice', 'frozen')).StorageClass, 'ICE');
    // The expiry (1 day of 2 s) releases the local copy: the archive object is unreadable again.
    await until(
      'the restored copy to expire',
      async () => ((await layer.getObjectInfo('ice', 'frozen')).remote ? true : undefined),
      30_000,
    );
    assert.deepEqual(await s3Failure(read('ice', 'frozen')), { code: 'InvalidObjectState', status: 403 });
  });

  it('refuses bad bodies, versions not in a tier, missing keys and versions, and delete markers', async () => {
    const post = (path: string, body: string) => gateway.signed({ method: 'POST', path, body });
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'bad', Body: 'x' }));
    const cases: [string, number, string][] = [
      ['not xml', 400, 'MalformedXML'],
      ['', 400, 'MalformedXML'],
      ['<RestoreRequest><Days>two</Days></RestoreRequest>', 400, 'MalformedXML'],
      ['<RestoreRequest></RestoreRequest>', 400, 'MalformedXML'],
      ['<Other><Days>1</Days></Other>', 400, 'MalformedXML'],
      [
        '<RestoreRequest><Days>1</Days><GlacierJobParameters><Tier>Fast</Tier></GlacierJobParameters></RestoreRequest>',
        400,
        'MalformedXML',
      ],
      ['<RestoreRequest><Days>0</Days></RestoreRequest>', 400, 'InvalidArgument'],
      ['<RestoreRequest><Days>-3</Days></RestoreRequest>', 400, 'InvalidArgument'],
    ];
    for (const [body, status, code] of cases) {
      const res = await post('/plain/bad?restore', body);
      assert.equal(res.status, status, `${body}: ${res.text}`);
      assert.equal(parseErrorXml(res.text).Code, code, body);
    }
    // A STANDARD object (not transitioned, it has a local copy): AWS answers 403 InvalidObjectState.
    assert.deepEqual(await s3Failure(restore('plain', 'bad', 1)), {
      code: 'InvalidObjectState',
      status: 403,
    });
    assert.deepEqual(await s3Failure(restore('plain', 'absent', 1)), { code: 'NoSuchKey', status: 404 });
    assert.deepEqual(await s3Failure(restore('plain', 'bad', 1, '0190a7e1-0000-7000-8000-000000000000')), {
      code: 'NoSuchVersion',
      status: 404,
    });
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: 'plain', Key: 'bad' }));
    assert.deepEqual(await s3Failure(restore('plain', 'bad', 1)), { code: 'NoSuchKey', status: 404 });
    assert.deepEqual(await s3Failure(restore('plain', 'bad', 1, marker.VersionId)), {
      code: 'MethodNotAllowed',
      status: 405,
    });
    assert.deepEqual(await s3Failure(restore('nobucket', 'k', 1)), { code: 'NoSuchBucket', status: 404 });

    // A listing asked for an optional attribute AWS does not define.
    for (const path of ['/plain?list-type=2', '/plain', '/plain?versions']) {
      for (const value of ['Bogus', 'RestoreStatus,Bogus']) {
        const res = await gateway.signed({
          method: 'GET',
          path,
          headers: { 'x-amz-optional-object-attributes': value },
        });
        assert.equal(res.status, 400, `${path} ${value}: ${res.text}`);
        assert.equal(parseErrorXml(res.text).Code, 'InvalidArgument');
      }
    }
  });
});
