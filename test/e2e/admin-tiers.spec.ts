/**
 * End to end: /tiergate/admin/v1/tiers on a running gateway with a tier on the OSS test server (exact V4
 * signatures). Root-signed requests only, with the body's SHA-256 signed (unsigned, UNSIGNED-PAYLOAD, a hash
 * mismatch and oversized bodies refused); JSON and validation errors; a probe failure naming its step without the
 * secret; add, list, get (no secret key anywhere), rotation, If-Match; lifecycle Transitions accepted for the tier
 * and still InvalidStorageClass for unknown classes; removal refused while a version references the tier.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import {
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ObjectLayer } from '../../src/storage/object-layer';
import { OBJECT_LAYER } from '../../src/storage/storage.module';
import { startOssServer, type OssCredential, type OssServer } from '../fixtures/cloud/oss-server';
import {
  s3Failure,
  sha256Hex,
  startGateway,
  versionedBucket,
  type RawResponse,
  type TestGateway,
} from './harness';

const TIERS = '/tiergate/admin/v1/tiers';
const BUCKET = 'oss-tier';
const AK1 = 'LTAI5tAdminOne';
const SECRET1 = 'admin-secret-one-0123456789ab';
const AK2 = 'LTAI5tAdminTwo';
const SECRET2 = 'admin-secret-two-ba9876543210';

interface ErrorBody {
  code: string;
  message: string;
  step?: string;
  cause?: string;
}

function json<T>(res: RawResponse): T {
  return JSON.parse(res.text) as T;
}

describe('/tiergate/admin/v1/tiers', () => {
  let gateway: TestGateway;
  let oss: OssServer;
  let s3: S3Client;
  const credentials: Record<string, OssCredential> = { [AK1]: { secret: SECRET1 } };
  const tier = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    name: 'WARM',
    type: 'oss',
    endpoint: oss.endpoint,
    region: 'cn-hangzhou',
    bucket: BUCKET,
    prefix: 'gw/',
    storageClass: 'IA',
    accessKey: AK1,
    secretKey: SECRET1,
    ...over,
  });
  const put = (body: unknown, headers: Record<string, string> = {}): Promise<RawResponse> =>
    gateway.signed({
      method: 'PUT',
      path: TIERS,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
  const lifecycle = (storageClass: string) =>
    s3.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: 'photos',
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'cold',
              Status: 'Enabled',
              Filter: { Prefix: '' },
              Transitions: [{ Days: 30, StorageClass: storageClass }],
            } as LifecycleRule,
          ],
        },
      }),
    );

  before(async () => {
    oss = await startOssServer({ buckets: [BUCKET], credentials });
    gateway = await startGateway();
    s3 = gateway.client();
    await versionedBucket(s3, 'photos');
  });
  after(async () => {
    await gateway?.close();
    await oss?.close();
  });

  it('refuses unsigned requests and bodies whose hash is not signed', async () => {
    const body = JSON.stringify(tier());
    const unsigned = await gateway.unsigned({ method: 'PUT', path: TIERS, body });
    assert.equal(unsigned.status, 403, unsigned.text);
    assert.equal(json<ErrorBody>(unsigned).code, 'AccessDenied');
    assert.equal((await gateway.unsigned({ method: 'GET', path: TIERS })).status, 403);
    const mismatch = await gateway.signed(
      { method: 'PUT', path: TIERS, body },
      { payloadHash: sha256Hex(JSON.stringify(tier({ bucket: 'other-bucket' }))) },
    );
    assert.equal(mismatch.status, 400, mismatch.text);
    assert.equal(json<ErrorBody>(mismatch).code, 'XAmzContentSHA256Mismatch');
    const unsignedPayload = await gateway.signed(
      { method: 'PUT', path: TIERS, body },
      { payloadHash: 'UNSIGNED-PAYLOAD' },
    );
    assert.equal(unsignedPayload.status, 400, unsignedPayload.text);
    assert.match(json<ErrorBody>(unsignedPayload).message, /must sign their body/);
    const big = await put(JSON.stringify({ ...tier(), pad: 'x'.repeat(70 * 1024) }));
    assert.equal(big.status, 413, big.text);
    assert.equal(json<ErrorBody>(big).code, 'EntityTooLarge');
    assert.equal(oss.tap.log.length, 0, 'nothing reached the tier');
  });

  it('answers JSON and validation errors with 400 and a clear message', async () => {
    const cases: [unknown, string, RegExp][] = [
      ['{"name": ', 'MalformedJSON', /not valid JSON/],
      ['[1]', 'MalformedJSON', /JSON object/],
      [tier({ secretkey: 'typo' }), 'InvalidArgument', /unknown field "secretkey"/],
      [tier({ prefix: 7 }), 'InvalidArgument', /"prefix" must be a string/],
      [tier({ name: 'warm' }), 'InvalidArgument', /upper-case/],
      [tier({ storageClass: 'GLACIER' }), 'InvalidArgument', /storage class "GLACIER"/],
      [tier({ secretKey: '' }), 'InvalidArgument', /both accessKey and secretKey/],
    ];
    for (const [body, code, message] of cases) {
      const res = await put(body);
      assert.equal(res.status, 400, res.text);
      assert.equal(json<ErrorBody>(res).code, code);
      assert.match(json<ErrorBody>(res).message, message);
    }
  });

  it('refuses a tier whose probe fails, naming the step and never the secret', async () => {
    const res = await put(tier({ secretKey: 'not-the-oss-secret-at-all' }));
    assert.equal(res.status, 400, res.text);
    const err = json<ErrorBody>(res);
    assert.equal(err.code, 'TierProbeFailed');
    assert.equal(err.step, 'put');
    assert.equal(err.cause, 'AccessDenied');
    assert.ok(!res.text.includes('not-the-oss-secret-at-all'));
    const missing = await gateway.signed({ method: 'GET', path: `${TIERS}/WARM` });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(json<ErrorBody>(missing).code, 'NoSuchTier');
  });

  it('refuses a Transition to a storage class no tier has', async () => {
    assert.deepEqual(await s3Failure(lifecycle('WARM')), { code: 'InvalidStorageClass', status: 400 });
  });

  it('adds a tier after probing it, and shows it without its secret key', async () => {
    const res = await put(tier());
    assert.equal(res.status, 201, res.text);
    assert.ok(!res.text.includes(SECRET1));
    const view = json<Record<string, unknown>>(res);
    assert.deepEqual(
      { ...view, updated: undefined },
      {
        name: 'WARM',
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'cn-hangzhou',
        bucket: BUCKET,
        prefix: 'gw/',
        storageClass: 'IA',
        credentials: 'static',
        accessKey: AK1,
        generation: 1,
        state: 'active',
        updated: undefined,
      },
    );
    assert.ok(oss.tap.log.some((r) => r.method === 'DELETE' && r.path.includes('gw/.tiergate-probe/')));
    const one = await gateway.signed({ method: 'GET', path: `${TIERS}/WARM` });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.headers.etag, '"1"');
    assert.deepEqual(json(one), view);
    const list = await gateway.signed({ method: 'GET', path: TIERS });
    assert.deepEqual(json(list), { tiers: [view], unavailable: [] });
    for (const r of [one, list]) assert.ok(!r.text.includes(SECRET1));
  });

  it('accepts a Transition to the tier; unknown classes are still InvalidStorageClass', async () => {
    await lifecycle('WARM');
    assert.deepEqual(await s3Failure(lifecycle('GLACIER')), { code: 'InvalidStorageClass', status: 400 });
  });

  it('the same PUT again changes nothing; a rotation probes the new keys and switches', async () => {
    const from = oss.tap.log.length;
    const same = await put(tier());
    assert.equal(same.status, 200, same.text);
    assert.equal(json<{ generation: number }>(same).generation, 1);
    assert.equal(oss.tap.log.length, from, 'an unchanged tier is not probed again');

    const refused = await put(tier({ accessKey: AK2, secretKey: SECRET2 }));
    assert.equal(refused.status, 400, refused.text);
    assert.equal(json<ErrorBody>(refused).code, 'TierProbeFailed');

    credentials[AK2] = { secret: SECRET2 };
    const stale = await put(tier({ accessKey: AK2, secretKey: SECRET2 }), { 'if-match': '"7"' });
    assert.equal(stale.status, 412, stale.text);
    const rotated = await put(tier({ accessKey: AK2, secretKey: SECRET2 }), { 'if-match': '"1"' });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(json<{ accessKey: string }>(rotated).accessKey, AK2);
    assert.ok(oss.tap.log.slice(from).some((r) => r.method === 'PUT' && r.path.includes('.tiergate-probe/')));
    delete credentials[AK1];
    const shown = json<{ accessKey: string; generation: number }>(
      await gateway.signed({ method: 'GET', path: `${TIERS}/WARM` }),
    );
    assert.equal(shown.accessKey, AK2);
    assert.ok(shown.generation > 1);

    const moved = await put(tier({ accessKey: AK2, secretKey: SECRET2, bucket: 'another-bucket' }));
    assert.equal(moved.status, 400, moved.text);
    assert.match(json<ErrorBody>(moved).message, /bucket cannot change/);
  });

  it('refuses to remove a tier a version references, removes it once none does', async () => {
    const layer = gateway.app.get<symbol, ObjectLayer>(OBJECT_LAYER);
    const v = await layer.putObject('photos', 'cold.bin', Readable.from([Buffer.from('cold')]), { size: 4 });
    await layer.updateObjectVersion('photos', 'cold.bin', v.versionId, (rec) => ({
      ...rec,
      tier: { tier: 'WARM', status: 'transitioned', remoteKey: 'opaque' },
    }));
    const inUse = await gateway.signed({ method: 'DELETE', path: `${TIERS}/WARM` });
    assert.equal(inUse.status, 409, inUse.text);
    assert.equal(json<ErrorBody>(inUse).code, 'TierInUse');
    assert.match(json<ErrorBody>(inUse).message, /photos\/cold\.bin/);
    assert.equal((await gateway.signed({ method: 'GET', path: `${TIERS}/WARM` })).status, 200);
    await lifecycle('WARM');

    await layer.deleteObject('photos', 'cold.bin', { versionId: v.versionId });
    const removed = await gateway.signed({ method: 'DELETE', path: `${TIERS}/WARM` });
    assert.equal(removed.status, 204, removed.text);
    assert.equal((await gateway.signed({ method: 'GET', path: `${TIERS}/WARM` })).status, 404);
    const again = await gateway.signed({ method: 'DELETE', path: `${TIERS}/WARM` });
    assert.equal(again.status, 404, again.text);
    assert.equal(json<ErrorBody>(again).code, 'NoSuchTier');
    assert.deepEqual(await s3Failure(lifecycle('WARM')), { code: 'InvalidStorageClass', status: 400 });
  });
});
