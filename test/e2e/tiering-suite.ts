/**
 * The tiering acceptance run, end to end, shared by one spec file per cloud (each with both KMS providers): a
 * gateway in-process with a 2-second lifecycle day, a tier added through the admin API on one of our offline cloud
 * servers (the OSS server that checks V4 signatures exactly, or our S3 server that checks SigV4 and decodes
 * aws-chunked bodies), and the local KMS or the AWS KMS stand-in. Through the real AWS SDK:
 * - objects of 0 B, 200 KiB, 5 MiB and 200 MiB under a Transition rule are transitioned within 10 s of their due
 *   time (due time computed by the engine's own day rounding; the lag is printed);
 * - HEAD shows the tier as the storage class, with the object's size and ETag unchanged;
 * - an upload of one PutObject is verified by its ETag (the MD5 of the bytes sent), a multipart one by a HEAD;
 * - their data directories are gone from every drive, and the drives hold a few KiB where 205 MiB were;
 * - the bytes stored in the cloud contain no 64-byte run of the plaintext (exact search, fixtures/plaintext-leak.ts);
 * - GET returns identical bytes; a 1 MiB range of the 200 MiB object is one ranged request to the cloud of at most
 *   1 MiB plus two envelope packages (the server's request log);
 * - RestoreObject answers 202, then 409 while the copy-back runs (held by a 503 outage of the cloud), then 200; the
 *   restored object reads without the cloud; after its expiry the local copy is gone and the remote one intact;
 * - DELETE of each object removes its remote copy: the tier ends empty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stat } from 'node:fs/promises';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketLifecycleConfigurationCommand,
  DeleteObjectCommand,
  RestoreObjectCommand,
  type S3Client,
  type TransitionStorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PACKAGE_SIZE, TAG_LENGTH } from '../../src/kms/envelope/envelope-format';
import { dueAfterDays } from '../../src/lifecycle/rules/lifecycle-days';
import type { ObjectLayer } from '../../src/storage/object-layer';
import { OBJECT_LAYER } from '../../src/storage/storage.module';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import type { TierBackend } from '../../src/tiers/tier-backend';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { tierRecordOf } from '../../src/tiers/tier-state';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { startS3ArchiveServer, type S3ArchiveServer } from '../fixtures/cloud/s3-archive-server';
import type { WireTap } from '../fixtures/cloud/wire-tap';
import { TestKmsServer } from '../fixtures/kms-server';
import { patternBytes, patternSha256, patternStream, readAll, streamSha256 } from '../fixtures/pattern-bytes';
import { findPlaintextLeak } from '../fixtures/plaintext-leak';
import { s3Failure, startGateway, walkFiles, type TestGateway } from './harness';
import { until } from '../fixtures/poll';

const KiB = 1024;
const MiB = 1024 * KiB;
const DAY_SECONDS = 2;
const TIER = 'COLD';
const CLOUD_BUCKET = 'tiergate-cold';
const AK = 'LTAI5tTieringE2E';
const SECRET = 'tiering-e2e-secret-0123456789';
export const SIZES = [0, 200 * KiB, 5 * MiB, 200 * MiB] as const;
const BIG = 200 * MiB;

export type Cloud = 'oss' | 's3';
export type KmsKind = 'local' | 'aws';

/** The cloud server for one run, with the definition the admin API gets for it. */
interface CloudSide {
  tap: WireTap;
  definition: TierDefinition;
  close(): Promise<void>;
}

async function startCloud(cloud: Cloud): Promise<CloudSide> {
  if (cloud === 'oss') {
    const oss: OssServer = await startOssServer({
      buckets: [CLOUD_BUCKET],
      credentials: { [AK]: { secret: SECRET } },
    });
    return {
      tap: oss.tap,
      definition: {
        name: TIER,
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'cn-hangzhou',
        bucket: CLOUD_BUCKET,
        prefix: 'gw/',
        storageClass: 'Standard',
        accessKey: AK,
        secretKey: SECRET,
      },
      close: () => oss.close(),
    };
  }
  const s3: S3ArchiveServer = await startS3ArchiveServer({
    buckets: [CLOUD_BUCKET],
    credentials: { [AK]: SECRET },
  });
  return {
    tap: s3.tap,
    definition: {
      name: TIER,
      type: 's3',
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: CLOUD_BUCKET,
      prefix: 'gw/',
      storageClass: 'STANDARD',
      accessKey: AK,
      secretKey: SECRET,
    },
    close: () => s3.close(),
  };
}

const keyOf = (size: number): string => `cold/obj-${size}`;
const seedOf = (size: number): number => 1000 + (size % 997);

/** Registers the acceptance run for `cloud` with each KMS provider. */
export function tieringSuite(cloud: Cloud): void {
  for (const kms of ['local', 'aws'] as const) {
    describe(`tiering to ${cloud} with the ${kms} KMS, end to end`, { timeout: 280_000 }, () => {
      let side: CloudSide;
      let kmsServer: TestKmsServer | undefined;
      let gateway: TestGateway;
      let s3: S3Client;
      let layer: ObjectLayer;
      let backend: TierBackend;
      const savedEnv = { ...process.env };
      const createdAt = new Map<number, number>();
      const etags = new Map<number, string>();

      before(async () => {
        side = await startCloud(cloud);
        const env: Record<string, string> = { TIERGATE_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS) };
        if (kms === 'aws') {
          kmsServer = await TestKmsServer.start({ region: 'eu-west-1' });
          const key = kmsServer.createKey('alias/tiergate');
          Object.assign(env, {
            TIERGATE_KMS: 'aws',
            TIERGATE_KMS_KEY_ID: key.arn,
            TIERGATE_KMS_ENDPOINT: kmsServer.endpoint,
          });
          // The aws provider takes the SDK's default credential chain: the environment, here.
          process.env.AWS_ACCESS_KEY_ID = kmsServer.credentials.accessKeyId;
          process.env.AWS_SECRET_ACCESS_KEY = kmsServer.credentials.secretAccessKey;
        }
        gateway = await startGateway({ env });
        s3 = gateway.client();
        layer = gateway.app.get<ObjectLayer>(OBJECT_LAYER);
        const added = await gateway.signed({
          method: 'PUT',
          path: '/tiergate/admin/v1/tiers',
          body: JSON.stringify(side.definition),
          headers: { 'content-type': 'application/json' },
        });
        assert.equal(added.status, 201, added.text);
        backend = createTierBackend(side.definition);
      });
      after(async () => {
        backend?.close();
        await gateway?.close();
        await side?.close();
        await kmsServer?.stop();
        for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
          if (savedEnv[name] === undefined) delete process.env[name];
          else process.env[name] = savedEnv[name];
        }
      });

      it('transitions 0 B to 200 MiB objects within 10 s of due, and frees their shards', async () => {
        await s3.send(new CreateBucketCommand({ Bucket: 'archive' }));
        await s3.send(
          new PutBucketLifecycleConfigurationCommand({
            Bucket: 'archive',
            LifecycleConfiguration: {
              Rules: [
                {
                  ID: 'cold',
                  Status: 'Enabled',
                  // A size filter, so objects under 128 KiB go too (as on AWS).
                  Filter: { And: { Prefix: 'cold/', ObjectSizeLessThan: 1024 * MiB } },
                  Transitions: [{ Days: 1, StorageClass: TIER as TransitionStorageClass }],
                },
              ],
            },
          }),
        );
        for (const size of SIZES) {
          const upload = new Upload({
            client: s3,
            params: { Bucket: 'archive', Key: keyOf(size), Body: patternStream(seedOf(size), size) },
            partSize: 16 * MiB,
            queueSize: 2,
          });
          await upload.done();
          const head = await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: keyOf(size) }));
          createdAt.set(size, head.LastModified!.getTime());
          etags.set(size, head.ETag!);
        }
        const lags: string[] = [];
        for (const size of SIZES) {
          const head = await until(
            `${keyOf(size)} in the tier`,
            async () => {
              const h = await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: keyOf(size) }));
              return (h.StorageClass as string | undefined) === TIER ? h : undefined;
            },
            60_000,
          );
          // LastModified has whole seconds; the engine counts from the exact time, at most 1 s later.
          const due = dueAfterDays(createdAt.get(size)! + 999, 1, DAY_SECONDS);
          const lag = Date.now() - due;
          lags.push(`${size} B: ${(lag / 1000).toFixed(1)} s`);
          assert.ok(lag <= 10_000, `${keyOf(size)} transitioned ${lag} ms after its due time`);
          assert.equal(head.ContentLength, size);
          assert.equal(head.ETag, etags.get(size));
        }
        console.log(`# ${cloud}/${kms}: transitioned after due (seen by polling): ${lags.join(', ')}`);

        // Verified by the upload's own answer when it was one PutObject (its ETag is the MD5 of the bytes sent):
        // no HEAD. The 200 MiB object went multipart (an ETag that is no MD5): a HEAD checked it.
        for (const size of SIZES) {
          const remoteKey = tierRecordOf(await layer.getObjectInfo('archive', keyOf(size)))!.remoteKey;
          const methods = side.tap.log.filter((r) => r.path.endsWith(remoteKey)).map((r) => r.method);
          const heads = methods.filter((m) => m === 'HEAD').length;
          if (size === BIG) assert.equal(heads, 1, `${size} B: ${methods.join(' ')}`);
          else assert.deepEqual(methods, ['PUT'], `${size} B: one PutObject, verified by its ETag`);
        }

        const files = (await Promise.all(gateway.drives.map((d) => walkFiles(d)))).flat();
        assert.deepEqual(
          files.filter((f) => f.includes('obj-') && f.includes('%d.')),
          [],
          'no drive keeps a data directory of a transitioned object',
        );
        const sizes = await Promise.all(
          files.filter((f) => f.includes('obj-')).map(async (f) => (await stat(f)).size),
        );
        const kept = sizes.reduce((a, b) => a + b, 0);
        assert.ok(kept < 64 * KiB, `the drives still hold ${kept} bytes of the transitioned objects`);
      });

      it('stores ciphertext only: no 64-byte run of any plaintext in the cloud', async () => {
        for (const size of SIZES) {
          const info = await layer.getObjectInfo('archive', keyOf(size));
          const record = tierRecordOf(info);
          assert.equal(record?.status, 'transitioned');
          assert.equal(info.remote, true);
          const cipher = await readAll(await backend.get(record.remoteKey));
          assert.ok(cipher.length > size, 'the cloud object is the envelope: header, packages and tags');
          const leak = findPlaintextLeak(cipher, size, (at, n) => patternBytes(seedOf(size), at, n));
          assert.equal(leak, undefined, `plaintext of ${keyOf(size)} in the cloud: ${JSON.stringify(leak)}`);
          assert.ok(!record.remoteKey.includes('obj-'), 'the remote key does not name the object');
        }
      });

      it('reads back identical bytes through the tier, whole and ranged', async () => {
        for (const size of SIZES) {
          const out = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: keyOf(size) }));
          assert.equal(out.StorageClass, TIER);
          assert.equal(
            await streamSha256(out.Body as AsyncIterable<Buffer>),
            await patternSha256(seedOf(size), size),
            `${keyOf(size)} reads back identical`,
          );
        }
        if (kmsServer) {
          // The data keys really came from the AWS KMS stand-in (bound to each version), and were unsealed there.
          const ok = (op: string) =>
            kmsServer!.requests.filter((r) => r.operation === op && r.status === 200).length;
          assert.ok(ok('GenerateDataKey') >= SIZES.length, 'a data key per transitioned version');
          assert.ok(ok('Decrypt') >= 1, 'reads unseal their data key with the KMS');
        }
        const start = 77 * MiB + 12_345;
        const mark = side.tap.log.length;
        const ranged = await s3.send(
          new GetObjectCommand({
            Bucket: 'archive',
            Key: keyOf(BIG),
            Range: `bytes=${start}-${start + MiB - 1}`,
          }),
        );
        assert.equal(ranged.ContentLength, MiB);
        const part = await readAll(ranged.Body as AsyncIterable<Buffer>);
        assert.ok(part.equals(patternBytes(seedOf(BIG), start, MiB)), 'the range is the right bytes');
        // Object GETs only: the periodic reconciler may list the tier meanwhile.
        const bigKey = tierRecordOf(await layer.getObjectInfo('archive', keyOf(BIG)))!.remoteKey;
        const gets = side.tap.log.slice(mark).filter((r) => r.method === 'GET' && r.path.endsWith(bigKey));
        assert.equal(gets.length, 1, `one request reached the tier: ${JSON.stringify(gets)}`);
        assert.ok(gets[0].range, 'and it was ranged');
        assert.ok(
          gets[0].bytesOut <= MiB + 2 * (PACKAGE_SIZE + TAG_LENGTH),
          `fetched ${gets[0].bytesOut} bytes for a 1 MiB range`,
        );
      });
      it('restores: 202, 409 while running, 200 once restored; expiry drops only the local copy', async () => {
        const key = keyOf(5 * MiB);
        const restore = () =>
          s3.send(new RestoreObjectCommand({ Bucket: 'archive', Key: key, RestoreRequest: { Days: 1 } }));
        // The cloud answers 503 for a while: the copy-back retries, so the restore is observably running.
        await side.tap.outage('503');
        assert.equal((await restore()).$metadata.httpStatusCode, 202);
        assert.deepEqual(await s3Failure(restore()), { code: 'RestoreAlreadyInProgress', status: 409 });
        assert.equal(
          (await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: key }))).Restore,
          'ongoing-request="true"',
        );
        // Meanwhile a read through the unavailable cloud is a 503 to retry, never an internal error or bytes.
        assert.deepEqual(
          await s3Failure(s3.send(new GetObjectCommand({ Bucket: 'archive', Key: keyOf(200 * KiB) }))),
          { code: 'ServiceUnavailable', status: 503 },
        );
        await side.tap.outage('none');
        await until(
          'the copy-back to complete',
          async () => {
            const h = await s3.send(new HeadObjectCommand({ Bucket: 'archive', Key: key }));
            return h.Restore?.startsWith('ongoing-request="false"') ? true : undefined;
          },
          60_000,
        );
        assert.equal((await restore()).$metadata.httpStatusCode, 200, 'restored: 200, expiry extended');
        assert.equal((await layer.getObjectInfo('archive', key)).remote, undefined, 'a local copy serves it');
        const mark = side.tap.log.length;
        const local = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: key }));
        assert.equal(
          await streamSha256(local.Body as AsyncIterable<Buffer>),
          await patternSha256(seedOf(5 * MiB), 5 * MiB),
        );
        const remoteKey = tierRecordOf(await layer.getObjectInfo('archive', key))!.remoteKey;
        assert.deepEqual(
          side.tap.log.slice(mark).filter((r) => r.path.endsWith(remoteKey)),
          [],
          'a restored object is read without the cloud',
        );
        await until(
          'the restore to expire',
          async () => ((await layer.getObjectInfo('archive', key)).remote ? true : undefined),
          60_000,
        );
        assert.ok(await backend.head(remoteKey), 'the expiry kept the remote copy');
        const again = await s3.send(new GetObjectCommand({ Bucket: 'archive', Key: key }));
        assert.equal(
          await streamSha256(again.Body as AsyncIterable<Buffer>),
          await patternSha256(seedOf(5 * MiB), 5 * MiB),
          'read through again after the expiry',
        );
      });

      it('DELETE of a transitioned object removes its remote copy', async () => {
        const gone: string[] = [];
        for (const size of SIZES) {
          gone.push(tierRecordOf(await layer.getObjectInfo('archive', keyOf(size)))!.remoteKey);
          await s3.send(new DeleteObjectCommand({ Bucket: 'archive', Key: keyOf(size) }));
        }
        for (const remoteKey of gone) {
          await until(
            `the remote delete of ${remoteKey}`,
            async () => ((await backend.head(remoteKey)) === null ? true : undefined),
            60_000,
          );
        }
        const left: string[] = [];
        for await (const entry of backend.list('')) left.push(entry.key);
        assert.deepEqual(left, [], 'nothing is left in the tier (the probe deletes its own object)');
      });
    });
  }
}
