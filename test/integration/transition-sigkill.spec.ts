/**
 * Acceptance of the transition protocol's crash safety: the gateway, a child process, is killed with SIGKILL at
 * points spread over a 200 MiB transition, ten times, and restarted on the same drives and Redis each time.
 * Why: transition.ts promises a crash anywhere leaves the version readable and the retry finishing the job with the
 * intent's remote key; only a real kill -9 of the real process tests that (no shutdown hook runs, no upload is
 * aborted, the job's locks are left to expire).
 *
 * Setup: the OSS test server (the tier, 8 MiB parts: 26 parts per object) and the AWS KMS test server run in this
 * process, so the test sees every request the gateway makes; the gateway uses `TIERGATE_KMS=aws` against it, a
 * tier added through the admin API, a 1-second lifecycle day and TIERGATE_LOCK_SECONDS=2 (a killed gateway's jobs
 * run again seconds after the restart instead of BullMQ's 30 to 60).
 *
 * Each trial: PUT `obj/<n>` (200 MiB, acknowledged), wait for its kill point, SIGKILL, restart at once on the same
 * port. Kill points, one per trial: the data key requested (the intent is committed, no byte sent); the multipart
 * upload initiated; after 1, 5, 12 and 20 part PUTs and a seeded random count; the completion requested; the verify
 * HEAD; a seeded random delay after it (during the release commit). Then, every trial:
 * - the transition completes (HEAD reports the tier's storage class) and GET reads the object back identical;
 * - the GET is served by exactly one remote object (read from the tier's request log), the one the version
 *   references. Other remote objects of that version (an interrupted attempt's upload: every attempt takes a
 *   fresh remote key) are collected as leftovers; after all trials a reconcile through the admin API removes
 *   exactly those and leaves one remote object per version;
 * - after all trials, the tier's open multipart uploads are exactly the ones cut short by a kill (nothing aborts an
 *   upload whose process died; a resumed transition leaves none of its own open), and that reconcile aborts exactly
 *   those (no version references their keys: each retry took a fresh one), leaving no upload open in the tier.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  type TransitionStorageClass,
} from '@aws-sdk/client-s3';
import type { ReconcileReport } from '../../src/lifecycle/engine/tier-reconciler';
import { SOURCE_METADATA_KEY } from '../../src/tiers/tier-state';
import { crashClient, startGateway, type GatewayProcess } from '../e2e/gateway-process';
import { sendSigned } from '../e2e/harness';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import type { WireRecord } from '../fixtures/cloud/wire-tap';
import { TestKmsServer } from '../fixtures/kms-server';
import {
  ROOT_CREDENTIALS,
  clientFor,
  eventually,
  putRules,
  secs,
  tempDrives,
} from '../fixtures/lifecycle-load';
import { patternSha256, patternStream, streamSha256 } from '../fixtures/pattern-bytes';
import { randomInt, seededRandom } from '../fixtures/prng';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
const BUCKET = 'big';
const TIER_BUCKET = 'tier-bucket';
const TIER_PREFIX = 'gw/';
const AK = 'LTAI5tSigkillTest';
const SECRET = 'oss-sigkill-secret-0123456789ab';
const SEED = Number(process.env.TRANSITION_SIGKILL_SEED ?? 20261121);
/** Hang guards, not speed requirements. */
const KILL_POINT_TIMEOUT_MS = 90_000;
const COMPLETE_TIMEOUT_MS = 120_000;

/** What the test sees of the gateway's work: the tier's and the KMS's request logs. */
interface Seen {
  tier: WireRecord[];
  kms: { operation: string; context: Record<string, string> }[];
}

/** A kill point: a name for the diagnostics and the moment it is reached. */
interface KillPoint {
  name: string;
  reached(seen: Seen): boolean;
  /** Extra wait once reached (ms). */
  after?: number;
}

const isPart = (r: WireRecord) => r.method === 'PUT' && 'partNumber' in r.query;
const partsDone = (seen: Seen) => seen.tier.filter((r) => isPart(r) && r.status === 200).length;
const completion = (r: WireRecord) => r.method === 'POST' && 'uploadId' in r.query;

function killPoints(rand: () => number): KillPoint[] {
  const afterParts = (n: number): KillPoint => ({
    name: `after ${n} part PUTs`,
    reached: (seen) => partsDone(seen) >= n,
  });
  const dataKey: KillPoint = {
    name: 'data key requested (intent committed, nothing sent)',
    reached: (seen) => seen.kms.some((r) => r.operation === 'GenerateDataKey'),
  };
  return [
    dataKey,
    { name: 'upload initiated', reached: (seen) => seen.tier.some((r) => 'uploads' in r.query) },
    afterParts(1),
    afterParts(5),
    afterParts(12),
    afterParts(20),
    afterParts(randomInt(rand, 2, 25)),
    { name: 'completion requested', reached: (seen) => seen.tier.some(completion) },
    { name: 'verify HEAD sent', reached: (seen) => seen.tier.some((r) => r.method === 'HEAD') },
    {
      name: 'shortly after the verify HEAD',
      reached: (seen) => seen.tier.some((r) => r.method === 'HEAD' && r.status !== 0),
      after: randomInt(rand, 0, 40),
    },
  ];
}

describe('SIGKILL of the gateway during a 200 MiB transition', { timeout: 600_000 }, () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let base: string | undefined;
  let drives: string;
  let oss: OssServer;
  let kmsServer: TestKmsServer;
  let keyArn: string;
  const children: GatewayProcess[] = [];
  const clients: S3Client[] = [];
  const prefix = uniquePrefix('transition-kill');

  before(async () => {
    redis = await startRedis({ appendOnly: true });
    ({ base, drives } = await tempDrives('transition-kill'));
    oss = await startOssServer({ buckets: [TIER_BUCKET], credentials: { [AK]: { secret: SECRET } } });
    kmsServer = await TestKmsServer.start();
    keyArn = kmsServer.createKey('alias/tiergate-sigkill').arn;
  });
  after(async () => {
    for (const s3 of clients) s3.destroy();
    for (const child of children) await child.stop();
    await redis?.remove();
    await oss?.close();
    await kmsServer?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const start = async (port?: number): Promise<GatewayProcess> => {
    const child = await startGateway({
      cwd: base!,
      drives,
      ...(port !== undefined ? { port } : {}),
      env: {
        TIERGATE_REDIS_URL: redis!.redis.url,
        TIERGATE_QUEUE_PREFIX: prefix,
        TIERGATE_LIFECYCLE_DAY_SECONDS: '1',
        TIERGATE_SCANNER_INTERVAL_SECONDS: '3600',
        TIERGATE_LOCK_SECONDS: '2',
        TIERGATE_TIER_ORPHAN_GRACE_SECONDS: '1',
        TIERGATE_KMS: 'aws',
        TIERGATE_KMS_KEY_ID: keyArn,
        TIERGATE_KMS_REGION: kmsServer.region,
        TIERGATE_KMS_ENDPOINT: kmsServer.endpoint,
        AWS_ACCESS_KEY_ID: kmsServer.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: kmsServer.credentials.secretAccessKey,
      },
    });
    children.push(child);
    return child;
  };

  /** Remote objects of the tier whose source is `key`, by remote key. */
  const remoteObjectsOf = (key: string): string[] =>
    oss.store
      .list(TIER_BUCKET, TIER_PREFIX, '', 100_000)
      .objects.filter((o) => {
        const raw = o.metadata[SOURCE_METADATA_KEY];
        if (raw === undefined) return false;
        return (JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { key: string }).key === key;
      })
      .map((o) => o.key.slice(TIER_PREFIX.length));

  /**
   * Multipart uploads `log` initiated and did not complete or abort. A completion counts once it arrived: the
   * server finishes it even when the gateway dies before the answer (its status is then never recorded).
   */
  const leftOpen = (log: readonly WireRecord[]): number =>
    log.filter((r) => r.method === 'POST' && 'uploads' in r.query).length -
    log.filter((r) => completion(r) && (r.status === 200 || r.status === 0)).length -
    log.filter((r) => r.method === 'DELETE' && 'uploadId' in r.query).length;

  it(
    'after each kill and restart, the object reads back identical and its transition completes',
    { timeout: 540_000 },
    async (t) => {
      let gateway = await start();
      const port = gateway.port;
      let s3 = crashClient(gateway.url);
      clients.push(s3);
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const tier = JSON.stringify({
        name: 'COLD',
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'cn-hangzhou',
        bucket: TIER_BUCKET,
        prefix: TIER_PREFIX,
        storageClass: 'Standard',
        accessKey: AK,
        secretKey: SECRET,
      });
      const added = await sendSigned(
        '127.0.0.1',
        port,
        {
          method: 'PUT',
          path: '/tiergate/admin/v1/tiers',
          body: tier,
          headers: { 'content-type': 'application/json' },
        },
        { credentials: ROOT_CREDENTIALS },
      );
      assert.ok(
        added.status === 200 || added.status === 201,
        `adding the tier: ${added.status} ${added.text}`,
      );
      await putRules(s3, BUCKET, [
        {
          ID: 'cold',
          Status: 'Enabled',
          Filter: { Prefix: 'obj/' },
          Transitions: [{ Days: 1, StorageClass: 'COLD' as TransitionStorageClass }],
        },
      ]);

      const points = killPoints(seededRandom(SEED));
      t.diagnostic(`seed ${SEED}`);
      let cutShort = 0;
      const leftovers: { key: string; remoteKeys: string[] }[] = [];
      for (const [n, point] of points.entries()) {
        const key = `obj/${n}`;
        const trialStart = Date.now();
        const tierMark = oss.tap.log.length;
        const kmsMark = kmsServer.requests.length;
        const seen = (): Seen => ({
          tier: oss.tap.log.slice(tierMark),
          kms: kmsServer.requests.slice(kmsMark).map((r) => ({
            operation: r.operation,
            context: (r.body.EncryptionContext ?? {}) as Record<string, string>,
          })),
        });
        await s3.send(
          new PutObjectCommand({
            Bucket: BUCKET,
            Key: key,
            Body: patternStream(n, SIZE),
            ContentLength: SIZE,
          }),
        );
        const putDone = Date.now();

        // Kill point: poll the logs of the servers in this process.
        const deadline = Date.now() + KILL_POINT_TIMEOUT_MS;
        while (!point.reached(seen())) {
          if (Date.now() > deadline)
            assert.fail(`${key}: kill point "${point.name}" not reached\n${gateway.output().slice(-2_000)}`);
          await delay(2);
        }
        if (point.after) await delay(point.after);
        await gateway.kill();
        const atKill = seen();
        const killedAt = Date.now();
        const restartMark = oss.tap.log.length;

        gateway = await start(port);
        s3 = clientFor(gateway.url);
        clients.push(s3);
        await eventually(
          `${key}'s transition to complete after the restart`,
          COMPLETE_TIMEOUT_MS,
          async () => {
            const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
            return (head.StorageClass as string | undefined) === 'COLD' ? true : undefined;
          },
          { describe: async () => gateway.output().slice(-2_000) },
        );
        const completedAt = Date.now();
        // Uploads of the killed gateway stay open; the resumed transition leaves none of its own.
        cutShort += leftOpen(oss.tap.log.slice(tierMark, restartMark));
        assert.equal(leftOpen(oss.tap.log.slice(restartMark)), 0, `${key}: the resumed upload is closed`);

        const getMark = oss.tap.log.length;
        const res = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        assert.equal(res.ContentLength, SIZE);
        assert.equal(
          await streamSha256(res.Body as Readable),
          await patternSha256(n, SIZE),
          `${key} reads back identical`,
        );
        const served = new Set(
          oss.tap.log
            .slice(getMark)
            .filter((r) => r.method === 'GET')
            .map((r) => decodeURIComponent(r.path).split(TIER_PREFIX)[1]),
        );
        assert.equal(served.size, 1, `${key} is served by one remote object: ${[...served].join(', ')}`);
        const [referenced] = served;
        const remote = remoteObjectsOf(key);
        assert.ok(remote.includes(referenced), `${key}: the referenced remote object is in the tier`);
        const extra = remote.filter((k) => k !== referenced);
        leftovers.push({ key, remoteKeys: extra });
        t.diagnostic(
          `${key}: killed at "${point.name}" (${partsDone(atKill)} parts stored, ${secs(killedAt - putDone)} after ` +
            `the PUT's answer); transitioned ${secs(completedAt - killedAt)} after the kill; ` +
            `${extra.length} leftover remote object(s); trial ${secs(Date.now() - trialStart)}`,
        );
      }

      // Every attempt uploads under a fresh remote key, so a kill after an upload leaves that object unreferenced, and
      // a kill during one its open multipart upload: the reconciler (grace 1 s here) must remove and abort exactly
      // those, and keep every referenced object.
      const planted = leftovers.flatMap((l) => l.remoteKeys);
      t.diagnostic(
        `open multipart uploads in the tier: ${oss.store.openUploads()} (cut short by a kill: ${cutShort})`,
      );
      assert.equal(
        oss.store.openUploads(),
        cutShort,
        'the only open multipart uploads are the ones a kill cut short',
      );
      await delay(1_100);
      const reconciled = await sendSigned(
        '127.0.0.1',
        port,
        { method: 'POST', path: '/tiergate/admin/v1/tiers/COLD/reconcile' },
        { credentials: ROOT_CREDENTIALS },
      );
      assert.equal(reconciled.status, 200, reconciled.text);
      const report = JSON.parse(reconciled.text) as ReconcileReport;
      t.diagnostic(`reconcile: ${reconciled.text.slice(0, 300)}`);
      assert.equal(
        report.referenced,
        points.length,
        'every transitioned version references its remote object',
      );
      assert.equal(report.removed, planted.length, 'the reconciler removed exactly the leftovers');
      for (const [n] of points.entries()) {
        assert.equal(remoteObjectsOf(`obj/${n}`).length, 1, `obj/${n} has exactly one remote object left`);
      }
      assert.deepEqual(
        [report.uploadsListed, report.uploadsReferenced, report.uploadsStale, report.uploadsAborted],
        [cutShort, 0, cutShort, cutShort],
        'the reconciler aborted exactly the uploads a kill cut short',
      );
      assert.equal(oss.store.openUploads(), 0, 'no multipart upload is left open in the tier');
    },
  );
});
