/**
 * Restores through the lifecycle engine over a real pool, a real redis-server, the local KMS and the OSS test
 * server (exact V4 signatures), without HTTP: the crash-safety and retry paths the e2e spec cannot steer.
 * - a copy-back whose tier stream breaks half-way fails that attempt with nothing committed: the version stays
 *   remote and reads through the tier, no staged data is left on the drives, and the retried job completes;
 * - a restore whose job failed for good (its remote object lost) answers `in-progress` only while the job lives:
 *   a new request finds the failed job and starts over (`accepted`), instead of 409 forever;
 * - an expiry job that fires before an extended expiry goes back to the delayed set and releases only then;
 * - a restore whose copy-back job, and then its copy whose expiry job, were lost (Redis lost its data) is finished
 *   and then released by the reconciler's pass, which asks for each job again under its own id.
 * The tier is wrapped only to break one GET mid-stream; storage, Redis, KMS and the cloud server are real.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { LocalKms } from '../../src/kms/local-kms';
import { LifecycleEngine } from '../../src/lifecycle/engine/lifecycle-engine';
import { Restorer } from '../../src/lifecycle/engine/restore';
import { jobId } from '../../src/lifecycle/queues/job-id';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import type { RestoreJob } from '../../src/lifecycle/queues/job-types';
import { RedisLocks } from '../../src/redis/redis-lock';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import { SYS_VOLUME, TMP_DIR } from '../../src/storage/layout';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import { fixedTiers } from '../../src/tiers/read-through';
import type { ByteRange, TierBackend } from '../../src/tiers/tier-backend';
import { restoreStateOf, tierRecordOf } from '../../src/tiers/tier-state';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { doc, parse, rule } from '../fixtures/lifecycle-docs';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import { redisClient, sharedRedis, startRedis, uniquePrefix } from '../fixtures/redis-server';
import { tempDrives } from '../fixtures/temp-drives';
import { until as pollUntil } from '../fixtures/poll';

const KiB = 1024;
const BUCKET = 'tier-bucket';
const AK = 'LTAI5tRestoreTest';
const SECRET = 'oss-restore-secret-0123456789ab';

const until = <T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> =>
  pollUntil(what, check, ms, 50);

/** Every file under `dir` (none when it does not exist). */
function files(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The backend, except that the next `breakGets` GETs stop with an error after 100 KiB. */
function breakable(inner: TierBackend): TierBackend & { breakGets: number } {
  const wrapper = Object.create(inner) as TierBackend & { breakGets: number };
  wrapper.breakGets = 0;
  wrapper.get = async (key: string, range?: ByteRange): Promise<Readable> => {
    const body = await inner.get(key, range);
    if (wrapper.breakGets === 0) return body;
    wrapper.breakGets--;
    const out = new PassThrough();
    let sent = 0;
    body.on('data', (chunk: Buffer) => {
      if (sent >= 100 * KiB) return;
      sent += chunk.length;
      out.write(chunk);
      if (sent >= 100 * KiB) {
        body.destroy();
        out.destroy(new Error('connection reset by the test'));
      }
    });
    return out;
  };
  return wrapper;
}

describe(
  'restores through the engine: broken copy-backs, failed jobs, extended expiries',
  { timeout: 180_000 },
  () => {
    const tmp = tempDrives(4, 'restore-engine');
    let pool: ErasurePool;
    let redis: Redis;
    let queues: JobQueues;
    let engine: LifecycleEngine;
    let oss: OssServer;
    let backend: TierBackend & { breakGets: number };
    const kms = LocalKms.fromMasterKey(Buffer.alloc(32, 9));

    const transitioned = async (key: string, seed: number, size: number): Promise<void> => {
      await pool.putObject('data', key, patternStream(seed, size), { size });
      await until(`${key} in the tier`, async () =>
        (await pool.getObjectInfo('data', key)).remote ? true : undefined,
      );
    };

    before(async () => {
      oss = await startOssServer({ buckets: [BUCKET], credentials: { [AK]: { secret: SECRET } } });
      backend = breakable(
        createTierBackend({
          name: 'COLD',
          type: 'oss',
          endpoint: oss.endpoint,
          region: 'oss-cn-hangzhou',
          bucket: BUCKET,
          prefix: 'tiergate/',
          storageClass: 'Standard',
          accessKey: AK,
          secretKey: SECRET,
        }),
      );
      pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
      redis = redisClient((await sharedRedis()).port);
      const prefix = uniquePrefix('restore');
      // A fixed 1 s backoff and few attempts: the state between two attempts is observable, and a retry and a
      // permanent failure both come within the test.
      queues = new JobQueues({
        connection: redis,
        prefix,
        jobDefaults: { attempts: 3, backoff: { type: 'fixed', delay: 1000 } },
      });
      engine = new LifecycleEngine(
        pool,
        queues,
        redis,
        { daySeconds: 1, scannerIntervalSeconds: 3600, prefix },
        undefined,
        { tiers: fixedTiers({ COLD: backend }), kms },
      );
      engine.start();
      await pool.makeBucket('data');
      const config = parse(
        doc(
          rule(
            '<ID>cold</ID><Filter><ObjectSizeLessThan>1073741824</ObjectSizeLessThan></Filter>' +
              '<Status>Enabled</Status><Transition><Days>0</Days><StorageClass>COLD</StorageClass></Transition>',
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
      await pool?.shutdown();
      await oss?.close();
      tmp.cleanup();
    });

    it('a copy-back broken half-way commits nothing, leaves the version readable, and its retry completes', async () => {
      const size = 700 * KiB;
      await transitioned('torn', 1, size);
      const failures: string[] = [];
      const onFailed = (_job: unknown, err: Error): void => void failures.push(err.message);
      engine.jobWorkers!.worker('restore').on('failed', onFailed);
      try {
        backend.breakGets = 1;
        assert.equal(await engine.requestRestore('data', 'torn', 'null', 3), 'accepted');
        await until('the broken attempt to fail', async () => (failures.length > 0 ? true : undefined));
        assert.match(failures[0], /connection reset by the test/);
        // Between the attempts: still remote, the restore still running, and readable through the tier.
        const during = await pool.getObjectInfo('data', 'torn');
        assert.equal(during.remote, true);
        assert.equal(restoreStateOf(during)?.ongoing, true);
        assert.ok(
          (await readAll((await pool.getObject('data', 'torn')).stream)).equals(patternBytes(1, 0, size)),
        );
        assert.equal(await engine.requestRestore('data', 'torn', 'null', 3), 'in-progress');
        const done = await until('the retry to restore it', async () => {
          const i = await pool.getObjectInfo('data', 'torn');
          return i.remote ? undefined : i;
        });
        const state = restoreStateOf(done);
        assert.equal(state?.ongoing, false);
        assert.equal(state?.days, 3);
        assert.ok(state?.expiry !== undefined && state.expiry % 1000 === 0 && state.expiry > Date.now());
        assert.equal(tierRecordOf(done)?.status, 'transitioned');
        assert.equal(backend.breakGets, 0);
        const mark = oss.tap.log.length;
        assert.ok(
          (await readAll((await pool.getObject('data', 'torn')).stream)).equals(patternBytes(1, 0, size)),
        );
        assert.equal(oss.tap.log.length, mark, 'read locally');
        const staged = tmp.paths.flatMap((p) => files(join(p, SYS_VOLUME, TMP_DIR)));
        assert.deepEqual(staged, [], 'nothing staged is left behind');
      } finally {
        engine.jobWorkers!.worker('restore').off('failed', onFailed);
      }
    });

    it('a restore whose job failed for good is started over by the next request, not refused forever', async () => {
      await transitioned('lost', 2, 50 * KiB);
      const record = tierRecordOf(await pool.getObjectInfo('data', 'lost'))!;
      const kept = await readAll(await backend.get(record.remoteKey));
      await backend.delete(record.remoteKey); // the cloud lost it: the copy-back fails without retries
      assert.equal(await engine.requestRestore('data', 'lost', 'null', 1), 'accepted');
      await until('the copy-back to fail for good', async () =>
        (await queues.queue('restore').getFailed()).some((j) => /has no object/.test(j.failedReason))
          ? true
          : undefined,
      );
      assert.equal(restoreStateOf(await pool.getObjectInfo('data', 'lost'))?.ongoing, true);
      // The object comes back in the cloud; the next request starts a new copy-back, which completes.
      await backend.put(record.remoteKey, toStream(kept), { size: kept.length });
      assert.equal(await engine.requestRestore('data', 'lost', 'null', 1), 'accepted');
      const done = await until('the new copy-back', async () => {
        const i = await pool.getObjectInfo('data', 'lost');
        return i.remote ? undefined : i;
      });
      assert.ok(
        (await readAll((await pool.getObject('data', 'lost')).stream)).equals(patternBytes(2, 0, 50 * KiB)),
      );
      assert.equal(restoreStateOf(done)?.ongoing, false);
    });

    it('an expiry job that fires before an extended expiry waits for it, then releases only the local copy', async () => {
      await transitioned('ext', 3, 200 * KiB);
      assert.equal(await engine.requestRestore('data', 'ext', 'null', 1), 'accepted');
      const first = await until('restored', async () => {
        const i = await pool.getObjectInfo('data', 'ext');
        return i.remote ? undefined : restoreStateOf(i)?.expiry;
      });
      assert.equal(await engine.requestRestore('data', 'ext', 'null', 4), 'already-restored');
      const extended = restoreStateOf(await pool.getObjectInfo('data', 'ext'))!.expiry!;
      assert.ok(extended >= first + 2000, `${first} -> ${extended}`);
      await delay(Math.max(0, first - Date.now()) + 1500);
      assert.equal((await pool.getObjectInfo('data', 'ext')).remote, undefined, 'kept past the first expiry');
      await until(
        'the extended expiry',
        async () => ((await pool.getObjectInfo('data', 'ext')).remote ? true : undefined),
        15_000,
      );
      assert.ok(Date.now() >= extended);
      const info = await pool.getObjectInfo('data', 'ext');
      assert.equal(restoreStateOf(info), undefined);
      assert.equal(tierRecordOf(info)?.status, 'transitioned');
      assert.ok(
        (await readAll((await pool.getObject('data', 'ext')).stream)).equals(patternBytes(3, 0, 200 * KiB)),
      );
    });

    it("finishes a restore and expires its copy when Redis lost their jobs: the reconciler's pass asks again", async () => {
      await transitioned('orphaned', 6, 200 * KiB);
      const job = (action: RestoreJob['action'], at: number) =>
        queues
          .queue('restore')
          .getJob(jobId('restore', { bucket: 'data', key: 'orphaned', versionId: 'null', action, at }));
      // A restore recorded whose copy-back job is gone (Redis restarted without its data): nothing runs it. Four
      // (1-second) days, so its copy's expiry is seconds after the copy-back: time to lose that job too.
      const requestedAt = Date.now();
      await pool.updateObjectVersion('data', 'orphaned', 'null', (cur) => ({
        ...cur,
        tier: { ...cur.tier!, restore: { ongoing: true, days: 4, requestedAt } },
      }));
      assert.equal(await job('restore', requestedAt), undefined);

      const dry = await engine.reconciler!.reconcile('COLD', { dryRun: true });
      assert.ok(dry.restores >= 1);
      assert.equal(dry.restoreJobs, 0, 'a dry run asks for nothing');
      assert.equal(await job('restore', requestedAt), undefined);

      const pass = await engine.reconciler!.reconcile('COLD');
      assert.ok(pass.restoreJobs >= 1);
      assert.ok(await job('restore', requestedAt), 'the copy-back is queued again, under its own id');
      const expiry = await until('the copy-back', async () => {
        const i = await pool.getObjectInfo('data', 'orphaned');
        const r = restoreStateOf(i);
        return !i.remote && r && !r.ongoing ? r.expiry : undefined;
      });
      assert.ok(
        (await readAll((await pool.getObject('data', 'orphaned')).stream)).equals(
          patternBytes(6, 0, 200 * KiB),
        ),
      );

      // Its expiry job lost too: the copy would stay forever. The next pass queues it again; it releases the copy.
      const expiryJob = await until('the expiry job', () => job('expire-restore', expiry));
      await expiryJob.remove();
      assert.equal(await job('expire-restore', expiry), undefined);
      assert.ok((await engine.reconciler!.reconcile('COLD')).restoreJobs >= 1);
      assert.ok(await job('expire-restore', expiry), 'the expiry is queued again, under its own id');
      const released = await until(
        'the copy to be released',
        async () => {
          const i = await pool.getObjectInfo('data', 'orphaned');
          return i.remote ? i : undefined;
        },
        15_000,
      );
      assert.ok(Date.now() >= expiry, 'not before its expiry');
      assert.equal(restoreStateOf(released), undefined);
      assert.equal(tierRecordOf(released)?.status, 'transitioned');
    });

    it('answers ServiceUnavailable instead of hanging while the job queue stalls, and before recording while it is down', async () => {
      await transitioned('q-stalled', 4, 20 * KiB);
      await transitioned('q-down', 5, 20 * KiB);
      // A job queue of its own on a Redis of its own, to stall and stop; the objects and the tier are the suite's.
      const own = await startRedis({ appendOnly: false });
      const conn = redisClient(own.redis.port);
      const ownQueues = new JobQueues({ connection: conn, prefix: uniquePrefix('restore-queue') });
      const restorer = new Restorer(
        pool,
        ownQueues,
        new RedisLocks(conn, 'restore-queue-lock:'),
        fixedTiers({ COLD: backend }),
        kms,
        1,
        undefined,
        300,
      );
      try {
        await until('the connection', async () => (ownQueues.reachable ? true : undefined));
        await own.stalled(async () => {
          await assert.rejects(restorer.request('data', 'q-stalled', 'null', 1), {
            code: 'ServiceUnavailable',
          });
          assert.equal(
            restoreStateOf(await pool.getObjectInfo('data', 'q-stalled'))?.ongoing,
            true,
            'recorded before the queue call stalled',
          );
        });
        // The client's retry, once Redis answers again: the request is queued (once), still running: 409.
        assert.equal(await restorer.request('data', 'q-stalled', 'null', 1), 'in-progress');
        assert.equal((await ownQueues.queue('restore').getJobs(['waiting'])).length, 1);
        await ownQueues.close();

        await own.redis.stop();
        await until('the connection to drop', async () => (ownQueues.reachable ? undefined : true));
        const t0 = Date.now();
        await assert.rejects(restorer.request('data', 'q-down', 'null', 1), { code: 'ServiceUnavailable' });
        assert.ok(Date.now() - t0 < 300, 'refused at once, without waiting on the queue');
        const down = await pool.getObjectInfo('data', 'q-down');
        assert.equal(restoreStateOf(down), undefined, 'nothing recorded');
        assert.equal(down.remote, true);
      } finally {
        conn.disconnect();
        await own.remove();
      }
    });
  },
);

function toStream(bytes: Buffer): Readable {
  const s = new PassThrough();
  s.end(bytes);
  return s;
}
