/**
 * Transitions under faults, through the lifecycle engine over a real pool, a real redis-server, the AWS KMS provider
 * against the KMS test server and the OSS tier against the OSS test server (exact V4 signatures), without HTTP.
 * Why: a transition spans three services (drives, tier, KMS) and may meet any of them down; the promise is that an
 * outage only delays it, never loses or exposes data.
 *
 * - Tier down (connection refused, then 503 answers): transition jobs fail and are retried with the queues' real
 *   job options (the transition queue's attempts; only the backoff is shortened), attemptsMade grows and no job is failed for
 *   good, the objects read back identical from the drives meanwhile, the failures are counted in
 *   `tiergate_lifecycle_jobs_total`, and once the tier is back every object transitions and reads back identical.
 * - KMS down (refused, then 503): the same; and nothing is uploaded without a data key.
 * - Wrong context: a sealed data key opened under another version's context is a loud InvalidCiphertext KmsError
 *   (local and AWS providers); a transitioned version whose tier record is tampered with (another version's sealed
 *   key, another version's remote object, or both) fails its GET and yields no byte at all: ciphertext (or another
 *   object's data) is never served as this object's data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { GatewayMetrics } from '../../src/admin/metrics.service';
import { AwsKms } from '../../src/kms/aws-kms';
import { EnvelopeError } from '../../src/kms/envelope/envelope-format';
import { KmsError, type KmsProvider } from '../../src/kms/kms-provider';
import { LocalKms } from '../../src/kms/local-kms';
import { LifecycleEngine } from '../../src/lifecycle/engine/lifecycle-engine';
import { JOB_DEFAULTS, JobQueues, KIND_JOB_DEFAULTS } from '../../src/lifecycle/queues/job-queues';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import type { ObjectInfo } from '../../src/storage/object-layer';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import { fixedTiers } from '../../src/tiers/read-through';
import type { TierBackend } from '../../src/tiers/tier-backend';
import { tierRecordOf, type TransitionedState } from '../../src/tiers/tier-state';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { TestKmsServer } from '../fixtures/kms-server';
import { doc, parse, rule } from '../fixtures/lifecycle-docs';
import { metricValue } from '../fixtures/lifecycle-load';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';
import { tempDrives } from '../fixtures/temp-drives';
import { until as pollUntil } from '../fixtures/poll';

/** The attempts a transition job gets (its queue's own, else the defaults). */
const TRANSITION_ATTEMPTS = KIND_JOB_DEFAULTS.transition?.attempts ?? JOB_DEFAULTS.attempts!;
const KiB = 1024;
const MiB = 1024 * KiB;
const BUCKET = 'tier-bucket';
const AK = 'LTAI5tFaultTest';
const SECRET = 'oss-fault-secret-0123456789abcd';
/** Parts of 256 KiB, so a 1 MiB object goes up as a multipart upload. */
const PART_SIZE = 256 * KiB;
/** Hang guard of every wait (not a speed requirement). */
const WAIT_MS = 90_000;

const until = <T>(what: string, check: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T> =>
  pollUntil(what, check, ms, 50);

/** Bytes a stream gave before it ended or failed, and its error. */
async function drain(stream: AsyncIterable<Buffer>): Promise<{ bytes: number; error?: Error }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += chunk.length;
    return { bytes };
  } catch (err) {
    return { bytes, error: err as Error };
  }
}

describe('transitions under tier and KMS outages', { timeout: 300_000 }, () => {
  const tmp = tempDrives(4, 'transition-faults');
  let pool: ErasurePool;
  let redis: Redis;
  let queues: JobQueues;
  let engine: LifecycleEngine;
  let backend: TierBackend;
  let oss: OssServer;
  let kmsServer: TestKmsServer;
  let kms: AwsKms;
  const metrics = new GatewayMetrics();
  const failedOf = () =>
    metricValue(metrics.render(undefined), 'tiergate_lifecycle_jobs_total', {
      queue: 'transition',
      action: 'transition',
      outcome: 'failed',
    });
  // Seed of each object's bytes, by key.
  const seeds = new Map<string, { seed: number; size: number }>();

  const put = async (key: string, size: number): Promise<void> => {
    const seed = seeds.size + 11;
    seeds.set(key, { seed, size });
    await pool.putObject('data', key, patternStream(seed, size), { size });
  };
  const expected = (key: string): Buffer => {
    const { seed, size } = seeds.get(key)!;
    return patternBytes(seed, 0, size);
  };
  const readsBackIdentical = async (key: string): Promise<void> => {
    const got = await readAll((await pool.getObject('data', key)).stream);
    assert.ok(got.equals(expected(key)), `${key} reads back identical`);
  };
  /** The transition jobs of `keys` (every state). */
  const jobsOf = async (keys: readonly string[]): Promise<Job[]> => {
    const all = await queues
      .queue('transition')
      .getJobs(['waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed']);
    return all.filter((j) => keys.includes((j.data as { key: string }).key));
  };
  /** Waits until every key's job has made at least `attempts` attempts; none may be failed for good. */
  const attemptsReach = async (keys: readonly string[], attempts: number): Promise<Job[]> =>
    until(`${attempts} attempts of the transitions of ${keys.join(', ')}`, async () => {
      const jobs = await jobsOf(keys);
      for (const j of jobs) {
        assert.equal(j.finishedOn, undefined, `job ${j.id} finished: ${j.failedReason ?? 'completed'}`);
      }
      return jobs.length === keys.length && jobs.every((j) => j.attemptsMade >= attempts) ? jobs : undefined;
    });
  /** Waits until every key's job has completed (it completes a moment after its version commits). */
  const jobsComplete = async (keys: readonly string[]): Promise<void> => {
    await until(`the transition jobs of ${keys.join(', ')} to complete`, async () => {
      const states = await Promise.all((await jobsOf(keys)).map((j) => j.getState()));
      assert.ok(!states.includes('failed'), 'no job failed for good');
      return states.length === keys.length && states.every((s) => s === 'completed') ? true : undefined;
    });
  };
  const transitioned = (key: string): Promise<ObjectInfo> =>
    until(`${key} in the tier`, async () => {
      const info = await pool.getObjectInfo('data', key);
      return info.remote ? info : undefined;
    });
  const stillLocal = async (keys: readonly string[]): Promise<void> => {
    for (const key of keys) {
      const info = await pool.getObjectInfo('data', key);
      assert.equal(info.remote, undefined, `${key} is still local`);
      assert.notEqual(tierRecordOf(info)?.status, 'transitioned');
      await readsBackIdentical(key);
    }
  };

  before(async () => {
    oss = await startOssServer({ buckets: [BUCKET], credentials: { [AK]: { secret: SECRET } } });
    backend = createTierBackend(
      {
        name: 'COLD',
        type: 'oss',
        endpoint: oss.endpoint,
        region: 'oss-cn-hangzhou',
        bucket: BUCKET,
        prefix: 'tiergate/',
        storageClass: 'Standard',
        accessKey: AK,
        secretKey: SECRET,
      },
      { oss: { partSize: PART_SIZE, timeoutMs: 10_000 } },
    );
    kmsServer = await TestKmsServer.start();
    const { arn } = kmsServer.createKey('alias/tiergate-faults');
    kms = new AwsKms({
      keyId: arn,
      region: kmsServer.region,
      endpoint: kmsServer.endpoint,
      credentials: kmsServer.credentials,
      maxAttempts: 1,
      connectionTimeoutMs: 2_000,
      requestTimeoutMs: 5_000,
    });
    pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
    redis = redisClient((await sharedRedis()).port);
    const prefix = uniquePrefix('transition-faults');
    // The production attempts and backoff shape; only the first delay is shorter (250 ms: 8 attempts span ~30 s).
    queues = new JobQueues({
      connection: redis,
      prefix,
      jobDefaults: { backoff: { type: 'exponential', delay: 250 } },
    });
    engine = new LifecycleEngine(
      pool,
      queues,
      redis,
      { daySeconds: 1, scannerIntervalSeconds: 3600, prefix },
      (queue, action, outcome) => metrics.lifecycleJob(queue, action, outcome),
      { tiers: fixedTiers({ COLD: backend }), kms },
    );
    engine.start();
    await pool.makeBucket('data');
    const config = parse(
      doc(
        rule(
          '<ID>cold</ID><Filter><ObjectSizeLessThan>1073741824</ObjectSizeLessThan></Filter>' +
            '<Status>Enabled</Status><Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>',
        ),
      ),
      { isKnownStorageClass: (n) => n === 'COLD' },
    );
    await pool.putBucketLifecycle('data', encodeLifecycle(config));
  });
  after(async () => {
    await engine?.close();
    await queues?.close();
    redis?.disconnect();
    backend?.close();
    kms?.close();
    await pool?.shutdown();
    await oss?.close();
    await kmsServer?.stop();
    tmp.cleanup();
  });

  it('backs off while the tier refuses connections, then answers 503, and completes once it is back', async () => {
    assert.ok(TRANSITION_ATTEMPTS >= 8, 'the attempts this test budgets for');
    const keys = ['tier-down/a', 'tier-down/b', 'tier-down/c'];
    const failedBefore = failedOf();
    await oss.tap.outage('refuse');
    await put(keys[0], 300 * KiB);
    await put(keys[1], MiB);
    await put(keys[2], 3 * MiB + 17);

    await attemptsReach(keys, 2);
    await stillLocal(keys);
    assert.ok(failedOf() - failedBefore >= 2 * keys.length, 'the refused attempts are counted as failed');

    const mark = oss.tap.log.length;
    const attempts = new Map((await jobsOf(keys)).map((j) => [j.id, j.attemptsMade]));
    await oss.tap.outage('503');
    await until('the tier to answer 503 and every job to fail again', async () => {
      const jobs = await jobsOf(keys);
      const grown = jobs.every((j) => j.attemptsMade > attempts.get(j.id)!);
      return grown && oss.tap.log.slice(mark).some((r) => r.status === 503) ? true : undefined;
    });
    const during = await attemptsReach(keys, 3);
    await stillLocal(keys);
    assert.ok(
      during.every((j) => j.attemptsMade < TRANSITION_ATTEMPTS),
      'attempts remain when the tier returns',
    );
    assert.equal(oss.store.openUploads(), 0, 'no multipart upload was left open by a refused initiation');

    await oss.tap.outage('none');
    for (const key of keys) {
      const info = await transitioned(key);
      assert.equal(info.storageClass, 'COLD');
      await readsBackIdentical(key);
    }
    await jobsComplete(keys);
    assert.equal(oss.store.openUploads(), 0, 'no multipart upload left open');
    assert.ok(failedOf() - failedBefore >= 3 * keys.length);
  });

  it('backs off while the KMS refuses connections, then answers 503, and completes once it is back', async () => {
    const keys = ['kms-down/a', 'kms-down/b'];
    const failedBefore = failedOf();
    const mark = oss.tap.log.length;
    await kmsServer.outage('refuse');
    await put(keys[0], 200 * KiB);
    await put(keys[1], 2 * MiB);

    await attemptsReach(keys, 2);
    await stillLocal(keys);
    // A transitioned version cannot be read without the KMS either: it fails loudly, with no byte served.
    await assert.rejects(
      pool.getObject('data', 'tier-down/a'),
      (err: unknown) => err instanceof KmsError && err.code === 'Unavailable',
    );
    const kmsMark = kmsServer.requests.length;
    const attempts = new Map((await jobsOf(keys)).map((j) => [j.id, j.attemptsMade]));
    await kmsServer.outage('http-503');
    await until('the KMS to answer 503 and every job to fail again', async () => {
      const jobs = await jobsOf(keys);
      const grown = jobs.every((j) => j.attemptsMade > attempts.get(j.id)!);
      const answered503 = kmsServer.requests
        .slice(kmsMark)
        .some((r) => r.operation === 'GenerateDataKey' && r.status === 503);
      return grown && answered503 ? true : undefined;
    });
    const during = await attemptsReach(keys, 3);
    await stillLocal(keys);
    assert.ok(
      during.every((j) => j.attemptsMade < TRANSITION_ATTEMPTS),
      'attempts remain',
    );
    assert.ok(failedOf() - failedBefore >= 3 * keys.length, 'the failed attempts are counted');
    assert.deepEqual(
      oss.tap.log.slice(mark).filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
      [],
      'nothing was uploaded without a data key',
    );

    await kmsServer.outage(undefined);
    for (const key of keys) {
      const info = await transitioned(key);
      assert.equal(info.storageClass, 'COLD');
      await readsBackIdentical(key);
    }
    await jobsComplete(keys);
    await readsBackIdentical('tier-down/a');
    assert.equal(oss.store.openUploads(), 0, 'no multipart upload left open');
  });

  it('opens a sealed key only under its own context and never serves a tampered record', async () => {
    const ctx = { bucket: 'data', key: 'k', version: 'v1' };
    const providers: KmsProvider[] = [LocalKms.fromMasterKey(Buffer.alloc(32, 9)), kms];
    for (const provider of providers) {
      const key = await provider.generateDataKey(ctx);
      await assert.rejects(
        provider.decrypt(key, { ...ctx, version: 'v2' }),
        (err: unknown) => err instanceof KmsError && err.code === 'InvalidCiphertext' && !err.retryable,
        `${provider.name}: another version's context`,
      );
      const again = await provider.decrypt(key, ctx);
      assert.ok(again.plaintext.equals(key.plaintext), `${provider.name}: its own context opens it`);
      key.destroy();
      again.destroy();
    }

    // Two transitioned versions of the same size: a's record gets b's sealed key, b's remote object, or both.
    const keys = ['wrong-ctx/a', 'wrong-ctx/b'];
    await put(keys[0], MiB + 5);
    await put(keys[1], MiB + 5);
    const [a, b] = await Promise.all(keys.map((k) => transitioned(k)));
    await jobsComplete(keys);
    const ra = tierRecordOf(a) as TransitionedState;
    const rb = tierRecordOf(b) as TransitionedState;
    const tamper = (record: TransitionedState) =>
      pool.updateObjectVersion('data', keys[0], a.versionId, (cur) => ({ ...cur, tier: { ...record } }));
    const cases: { what: string; record: TransitionedState; range?: { start: number; end: number } }[] = [
      { what: "another version's sealed key", record: { ...ra, header: rb.header } },
      { what: "another version's remote object", record: { ...ra, remoteKey: rb.remoteKey } },
      {
        what: "a range of another version's remote object",
        record: { ...ra, remoteKey: rb.remoteKey },
        range: { start: 300 * KiB, end: 700 * KiB },
      },
      {
        what: "another version's sealed key and object",
        record: { ...ra, header: rb.header, remoteKey: rb.remoteKey },
      },
    ];
    for (const { what, record, range } of cases) {
      await tamper(record);
      let outcome: { bytes: number; error?: Error };
      try {
        const { stream } = await pool.getObject('data', keys[0], range ? { range } : {});
        outcome = await drain(stream as AsyncIterable<Buffer>);
      } catch (err) {
        outcome = { bytes: 0, error: err as Error };
      }
      assert.ok(outcome.error, `${what}: the GET fails`);
      assert.equal(outcome.bytes, 0, `${what}: no byte is served`);
      const loud =
        (outcome.error instanceof KmsError && outcome.error.code === 'InvalidCiphertext') ||
        (outcome.error instanceof EnvelopeError && outcome.error.code === 'AuthenticationFailed');
      assert.ok(loud, `${what}: ${outcome.error.name}: ${outcome.error.message}`);
    }
    await tamper(ra);
    await readsBackIdentical(keys[0]);
  });
});
