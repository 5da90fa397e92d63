/**
 * Credential rotation of a tier in use, end to end (issue 6: "works without downtime"): a gateway with an OSS tier
 * (the OSS test server checks V4 signatures exactly, so requests signed with revoked keys fail) has one object
 * transitioned and a 64 MiB transition in flight; the tier's keys are rotated through the admin API while its parts
 * are going up. Then:
 * - the in-flight transition finishes on its first attempt (one multipart upload, never restarted: the old backend
 *   stays leased to it), and the object reads back identical;
 * - a client reading the other transitioned object every 20 ms throughout sees no failure;
 * - no request reached the tier unauthenticated (no 403 in the server's log);
 * - once the old keys are revoked at the cloud, both objects still read through: the gateway uses the new keys.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  type S3Client,
  type TransitionStorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startOssServer, type OssCredential, type OssServer } from '../fixtures/cloud/oss-server';
import { patternSha256, patternStream, streamSha256 } from '../fixtures/pattern-bytes';
import { startGateway, type TestGateway } from './harness';
import { until as pollUntil } from '../fixtures/poll';

const MiB = 1024 * 1024;
const CLOUD_BUCKET = 'rotation-tier';
const AK1 = 'LTAI5tRotationOne';
const SECRET1 = 'rotation-secret-one-0123456789';
const AK2 = 'LTAI5tRotationTwo';
const SECRET2 = 'rotation-secret-two-9876543210';
const BIG = 64 * MiB;

const until = <T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> =>
  pollUntil(what, check, ms, 20);

describe('rotating the keys of a tier in use', { timeout: 240_000 }, () => {
  const credentials: Record<string, OssCredential> = { [AK1]: { secret: SECRET1 } };
  let oss: OssServer;
  let gateway: TestGateway;
  let s3: S3Client;
  const tier = (accessKey: string, secretKey: string): string =>
    JSON.stringify({
      name: 'COLD',
      type: 'oss',
      endpoint: oss.endpoint,
      region: 'cn-hangzhou',
      bucket: CLOUD_BUCKET,
      prefix: 'gw/',
      storageClass: 'Standard',
      accessKey,
      secretKey,
    });
  const putTier = (body: string) =>
    gateway.signed({
      method: 'PUT',
      path: '/tiergate/admin/v1/tiers',
      body,
      headers: { 'content-type': 'application/json' },
    });
  const inTier = (key: string) => async () => {
    const h = await s3.send(new HeadObjectCommand({ Bucket: 'rot', Key: key }));
    return (h.StorageClass as string | undefined) === 'COLD' ? true : undefined;
  };
  const readsBack = async (key: string, seed: number, size: number): Promise<boolean> => {
    const out = await s3.send(new GetObjectCommand({ Bucket: 'rot', Key: key }));
    return (await streamSha256(out.Body as AsyncIterable<Buffer>)) === (await patternSha256(seed, size));
  };

  before(async () => {
    oss = await startOssServer({ buckets: [CLOUD_BUCKET], credentials });
    gateway = await startGateway({ env: { TIERGATE_LIFECYCLE_DAY_SECONDS: '2' } });
    s3 = gateway.client();
    const added = await putTier(tier(AK1, SECRET1));
    assert.equal(added.status, 201, added.text);
    await s3.send(new CreateBucketCommand({ Bucket: 'rot' }));
    await s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'rot',
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'cold',
              Status: 'Enabled',
              Filter: { ObjectSizeGreaterThan: 1 },
              Transitions: [{ Days: 1, StorageClass: 'COLD' as TransitionStorageClass }],
            },
          ],
        },
      }),
    );
  });
  after(async () => {
    await gateway?.close();
    await oss?.close();
  });

  it('finishes the transition in flight, serves reads throughout, then uses only the new keys', async () => {
    await new Upload({
      client: s3,
      params: { Bucket: 'rot', Key: 'ready', Body: patternStream(1, 256 * 1024) },
    }).done();
    await until('ready in the tier', inTier('ready'));

    // A reader that must never fail, from before the rotation until after the big transition.
    let reading = true;
    let reads = 0;
    const failures: string[] = [];
    const reader = (async () => {
      while (reading) {
        try {
          if (!(await readsBack('ready', 1, 256 * 1024))) failures.push('wrong bytes');
          reads++;
        } catch (err) {
          failures.push(String(err));
        }
        await delay(20);
      }
    })();

    const mark = oss.tap.log.length;
    await new Upload({
      client: s3,
      params: { Bucket: 'rot', Key: 'big', Body: patternStream(2, BIG) },
      partSize: 16 * MiB,
    }).done();
    // Rotate while the transition's parts are going up.
    await until('the big transition to be uploading parts', async () =>
      oss.tap.log
        .slice(mark)
        .some((r) => r.method === 'PUT' && r.query.uploadId !== undefined && r.status === 200)
        ? true
        : undefined,
    );
    credentials[AK2] = { secret: SECRET2 };
    const rotated = await putTier(tier(AK2, SECRET2));
    assert.equal(rotated.status, 200, rotated.text);
    const uploadsAtRotation = oss.tap.log
      .slice(mark)
      .filter((r) => r.method === 'PUT' && r.query.uploadId !== undefined).length;
    assert.ok(uploadsAtRotation < BIG / (8 * MiB), 'the rotation happened while parts remained to upload');

    await until('big in the tier', inTier('big'), 120_000);
    reading = false;
    await reader;
    assert.deepEqual(failures, [], 'reads never failed during the rotation');
    assert.ok(reads > 0);
    const initiations = oss.tap.log
      .slice(mark)
      .filter((r) => r.method === 'POST' && r.query.uploads !== undefined);
    assert.equal(initiations.length, 1, 'the in-flight transition was never restarted');
    assert.deepEqual(
      oss.tap.log.slice(mark).filter((r) => r.status === 403),
      [],
      'no request was refused by the cloud',
    );
    assert.ok(await readsBack('big', 2, BIG), 'big reads back identical');

    // The old keys are revoked at the cloud: everything still reads, so the gateway signs with the new ones.
    delete credentials[AK1];
    assert.ok(await readsBack('big', 2, BIG));
    assert.ok(await readsBack('ready', 1, 256 * 1024));
  });
});
