/**
 * Acceptance of the lifecycle engine: 10,000 objects under an Expiration rule with a 2-second lifecycle day are
 * all gone within 10 seconds of their due time.
 *
 * Setup: the built gateway as a child process (test/e2e/gateway-process) on four temp drives and a redis-server
 * this file starts on a free loopback port, with the periodic scanner out of the way
 * (TIERGATE_SCANNER_INTERVAL_SECONDS=3600). The rule is stored before the writes, so every expiration is scheduled
 * by the write path. 10,000 PUTs go through @aws-sdk/client-s3, IN_FLIGHT at a time. (A child rather than the
 * in-process harness: in-process, the SDK client's work for 12 PUTs in flight shares the gateway's one thread,
 * which then expired at less than half the rate it wrote and fell 20 s behind; the lag measured would be the test
 * client's.)
 *
 * What is measured, with what a client sees:
 * - Due time: dueAfterDays(modTime, 1, 2), modTime being the object's LastModified as ListObjectsV2 reports it
 *   (to the millisecond in this gateway's listings; checked to lie between the PUT's send and its acknowledgement,
 *   on the same clock). An object no listing saw would get the due time of its PUT's send time, a lower bound of
 *   its modTime, so its lag could only be overstated.
 * - Deletion time: full listings (every page) run from the first PUT until the bucket is empty, one at least every
 *   PASS_PERIOD_MS (back to back when slower); an object is gone at the latest when the first listing that started
 *   after its PUT was acknowledged and does not list it ends.
 * - Lag = that bound minus the due time: an upper bound of the real lag, which must be at most 10 s for every
 *   object. Also checked: no object is missing from a listing that ended before its due time (nothing expires
 *   early), none reappears once missing, the bucket ends empty, and the gateway counted 10,000 done
 *   expire-current jobs and nothing skipped. The engine's own account (each completed job's `finishedOn` in Redis
 *   minus the same due time) is printed beside it.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  CreateBucketCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import type { ExpireJob } from '../../src/lifecycle/queues/job-types';
import { dueAfterDays } from '../../src/lifecycle/rules/lifecycle-days';
import type { GatewayProcess } from '../e2e/gateway-process';
import {
  clientFor,
  distribution,
  expireOutcomes,
  expireQueueIdle,
  forEachLimit,
  listAll,
  putRules,
  secs,
  startLifecycleGateway,
  tempDrives,
} from '../fixtures/lifecycle-load';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

const N = 10_000;
const IN_FLIGHT = 12;
const DAY_SECONDS = 2;
const RULE_DAYS = 1;
/** The bound: every object gone within 10 s of its due time. */
const MAX_LAG_MS = 10_000;
/** Listings start at most this often, so observing does not take the CPU the gateway's work needs. */
const PASS_PERIOD_MS = 500;
/** Hang guard for the listings after the last PUT (not a speed requirement: the lag bound is). */
const DRAIN_TIMEOUT_MS = 120_000;
const BUCKET = 'expire-10k';

const keyOf = (i: number) => `obj/${String(i).padStart(5, '0')}`;
const indexOf = (key: string) => Number(key.slice(4));

describe('10,000 objects expire within 10 s of their due time (2-second day)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let base: string | undefined;
  let gateway: GatewayProcess | undefined;
  let s3: S3Client;
  const prefix = uniquePrefix('accept-10k');

  before(async () => {
    redis = await startRedis({ appendOnly: false });
    const dirs = await tempDrives('10k');
    base = dirs.base;
    gateway = await startLifecycleGateway({
      ...dirs,
      redisUrl: redis.redis.url,
      prefix,
      daySeconds: DAY_SECONDS,
    });
    s3 = clientFor(gateway.url);
  });
  after(async () => {
    s3?.destroy();
    await gateway?.stop();
    await redis?.remove();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('expires every object, none early, none later than 10 s after its due time', async (t) => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await putRules(s3, BUCKET, [
      { ID: 'expire-all', Status: 'Enabled', Filter: {}, Expiration: { Days: RULE_DAYS } },
    ]);

    const sentAt = new Float64Array(N).fill(NaN);
    const ackAt = new Float64Array(N).fill(NaN);
    const modTime = new Float64Array(N).fill(NaN);
    const goneBy = new Float64Array(N).fill(NaN);
    const reappeared: string[] = [];
    const passMs: number[] = [];
    let acked = 0;
    let writesDone = false;

    // Listings until one that started after the last acknowledgement is empty.
    const observe = async (): Promise<void> => {
      let deadline = Infinity;
      for (;;) {
        const start = Date.now();
        const listed = await listAll(s3, BUCKET);
        const end = Date.now();
        passMs.push(end - start);
        for (const [key, m] of listed) {
          const i = indexOf(key);
          if (Number.isNaN(modTime[i])) modTime[i] = m;
          if (!Number.isNaN(goneBy[i])) reappeared.push(key);
        }
        for (let i = 0; i < N; i++) {
          if (Number.isNaN(goneBy[i]) && ackAt[i] < start && !listed.has(keyOf(i))) goneBy[i] = end;
        }
        if (writesDone && acked < N) return; // a PUT failed: the test fails with its error
        if (writesDone) {
          if (listed.size === 0 && ackAt.every((a) => a < start)) return;
          if (deadline === Infinity) deadline = end + DRAIN_TIMEOUT_MS;
          if (end > deadline) return;
        }
        await delay(Math.max(0, start + PASS_PERIOD_MS - Date.now()));
      }
    };

    const writeStart = Date.now();
    let writeEnd: number;
    const observer = observe();
    try {
      await forEachLimit(
        Array.from({ length: N }, (_, i) => i),
        IN_FLIGHT,
        async (i) => {
          sentAt[i] = Date.now();
          await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(i), Body: `object ${i}` }));
          ackAt[i] = Date.now();
          acked++;
        },
      );
      writeEnd = Date.now();
    } finally {
      writesDone = true;
      await observer;
    }

    // The bucket is really empty: no object, no version left.
    assert.deepEqual([...(await listAll(s3, BUCKET)).keys()], [], 'objects left in the bucket');
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET }));
    assert.equal((versions.Versions ?? []).length + (versions.DeleteMarkers ?? []).length, 0);

    const neverGone = [...goneBy.keys()].filter((i) => Number.isNaN(goneBy[i])).map(keyOf);
    assert.deepEqual(neverGone.slice(0, 20), [], `${neverGone.length} objects never seen gone`);
    assert.deepEqual(reappeared.slice(0, 20), [], 'objects listed again after a listing missed them');

    let seen = 0;
    const due = new Float64Array(N);
    const lags: number[] = [];
    const early: string[] = [];
    const outOfBounds: string[] = [];
    for (let i = 0; i < N; i++) {
      if (Number.isNaN(modTime[i])) {
        due[i] = dueAfterDays(sentAt[i], RULE_DAYS, DAY_SECONDS);
      } else {
        seen++;
        if (modTime[i] < sentAt[i] || modTime[i] > ackAt[i]) outOfBounds.push(keyOf(i));
        due[i] = dueAfterDays(modTime[i], RULE_DAYS, DAY_SECONDS);
      }
      if (goneBy[i] < due[i]) early.push(keyOf(i));
      lags.push(goneBy[i] - due[i]);
    }
    assert.deepEqual(outOfBounds.slice(0, 20), [], 'listed LastModified outside its PUT (send, ack)');
    assert.deepEqual(
      early.slice(0, 20),
      [],
      'objects missing from a listing that ended before their due time',
    );

    // The engine's own account, for comparison: when each expire job finished, from the queue in Redis. (An object
    // leaves the listings when its delete commits, a moment before its job completes and is counted.)
    await expireQueueIdle(gateway!.url);
    const queue = new Queue<ExpireJob>('expire', {
      connection: { host: '127.0.0.1', port: redis!.redis.port },
      prefix,
    });
    const jobs = await queue.getJobs(['completed'], 0, -1).finally(() => queue.close());
    const jobLag = distribution(jobs.map((j) => j.finishedOn! - due[indexOf(j.data.key)]));

    const lag = distribution(lags);
    const pass = distribution(passMs);
    const outcomes = await expireOutcomes(gateway!.url, 'expire-current');
    const writeS = (writeEnd - writeStart) / 1000;
    t.diagnostic(
      `writes: ${N} PUTs in ${writeS.toFixed(1)} s (${Math.round(N / writeS)}/s, ${IN_FLIGHT} in flight)`,
    );
    t.diagnostic(
      `listings: ${pass.n} full passes, each ${secs(pass.median)} median, ${secs(pass.p99)} p99, ${secs(pass.max)} max`,
    );
    t.diagnostic(
      `due time from listed LastModified for ${seen} objects, from the PUT's send time (lower bound) for ${N - seen}`,
    );
    t.diagnostic(
      `lag (gone-by bound - due time): median ${secs(lag.median)}, p99 ${secs(lag.p99)}, max ${secs(lag.max)}`,
    );
    t.diagnostic(
      `engine's account (job finishedOn - due time) for ${jobLag.n} jobs: median ${secs(jobLag.median)}, p99 ${secs(jobLag.p99)}, max ${secs(jobLag.max)}`,
    );
    t.diagnostic(
      `last object gone ${secs(Math.max(...goneBy) - writeEnd)} after the last PUT was acknowledged`,
    );
    t.diagnostic(
      `expire-current jobs: ${outcomes.done} done, ${outcomes.skipped} skipped, ${outcomes.failed} failed attempts`,
    );

    assert.ok(
      lag.max <= MAX_LAG_MS,
      `worst lag ${secs(lag.max)} over ${secs(MAX_LAG_MS)}: ${lags.filter((l) => l > MAX_LAG_MS).length} objects late`,
    );
    assert.deepEqual(
      { done: outcomes.done, skipped: outcomes.skipped },
      { done: N, skipped: 0 },
      'expire-current jobs',
    );
  });
});
