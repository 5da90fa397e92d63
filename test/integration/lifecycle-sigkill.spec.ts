/**
 * Acceptance of the lifecycle engine: a gateway killed with SIGKILL while expirations are in progress, and
 * restarted on the same drives, loses no scheduled work.
 *
 * The gateway is a child process (test/e2e/gateway-process) on four temp drives, its queues on a redis-server
 * this file owns (AOF on, as the embedded one runs), a 2-second lifecycle day and the periodic scanner out of the
 * way (one pass an hour, the first an hour after start; nothing else scans without a rule change): whatever the
 * restarted gateway expires, the queue carried across the crash.
 *
 * 1. Phase A: 1,000 objects under `exp/` (Expiration Days 1: due 2 to 4 s after each write) and 200 under `keep/`,
 *    outside the rule's filter; once some `exp/` objects are gone, phase B: 1,000 more under `exp/`. Every PUT is
 *    acknowledged (each one scheduled its job before answering).
 * 2. A listing of `exp/`, then SIGKILL as soon as an expire job is running (within 5 s, else anyway): some objects
 *    were gone before the kill, some were not even due yet (the last acknowledged ones are due 2 s or more after
 *    their write), and their jobs are pending in Redis.
 * 3. The gateway stays down until everything listed is due, then restarts on the same drives. Every `exp/` object
 *    ends up gone (allowing for BullMQ's recovery of jobs that were active at the kill: their 30 s lock, then up to
 *    two stalled checks 30 s apart), every job pending at the kill ran to its end exactly once (done, or skipped
 *    when the killed gateway had deleted the object but not completed the job), the restarted gateway ran no scan,
 *    and every `keep/` object is there, byte for byte.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { dueAfterDays } from '../../src/lifecycle/rules/lifecycle-days';
import { crashClient, type GatewayProcess } from '../e2e/gateway-process';
import {
  clientFor,
  eventually,
  expireOutcomes,
  expireQueueIdle,
  forEachLimit,
  listAll,
  metricValue,
  putRules,
  scrape,
  secs,
  startLifecycleGateway,
  tempDrives,
} from '../fixtures/lifecycle-load';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

const DAY_SECONDS = 2;
const PHASE = 1_000;
const KEEP = 200;
const IN_FLIGHT = 8;
const BUCKET = 'crash-expiry';
/** Hang guards, not speed requirements: stalled-job recovery alone took 60 to 90 s (BullMQ 30 s checks). */
const SOME_GONE_TIMEOUT_MS = 60_000;
const ALL_GONE_TIMEOUT_MS = 180_000;
/** How long the kill waits for a running expire job (it kills anyway after). */
const ACTIVE_WAIT_MS = 5_000;

const keepBody = (key: string) => `kept object ${key}`;

describe('SIGKILL of the gateway while expirations are in progress', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let base: string | undefined;
  let drives: string;
  const children: GatewayProcess[] = [];
  const clients: S3Client[] = [];
  const prefix = uniquePrefix('accept-kill');

  before(async () => {
    redis = await startRedis({ appendOnly: true });
    ({ base, drives } = await tempDrives('lc-kill'));
  });
  after(async () => {
    for (const s3 of clients) s3.destroy();
    for (const child of children) await child.stop();
    await redis?.remove();
    if (base) await rm(base, { recursive: true, force: true });
  });

  const start = async (): Promise<GatewayProcess> => {
    const child = await startLifecycleGateway({
      base: base!,
      drives,
      redisUrl: redis!.redis.url,
      prefix,
      daySeconds: DAY_SECONDS,
    });
    children.push(child);
    return child;
  };

  it('restarted on the same drives, expires everything that was scheduled and nothing else', async (t) => {
    const first = await start();
    // No retries: a retried request must not blur what was acknowledged before the kill.
    const s3 = crashClient(first.url);
    clients.push(s3);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await putRules(s3, BUCKET, [
      { ID: 'exp', Status: 'Enabled', Filter: { Prefix: 'exp/' }, Expiration: { Days: 1 } },
    ]);
    const put = (key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })).then(() => undefined);

    const phaseA = Array.from({ length: PHASE }, (_, i) => `exp/a-${String(i).padStart(4, '0')}`);
    const keep = Array.from({ length: KEEP }, (_, i) => `keep/${String(i).padStart(4, '0')}`);
    const phaseB = Array.from({ length: PHASE }, (_, i) => `exp/b-${String(i).padStart(4, '0')}`);
    const mixed = phaseA.flatMap((key, i) => (i % 5 === 0 ? [key, keep[i / 5]] : [key]));
    const writeStart = Date.now();
    await forEachLimit(mixed, IN_FLIGHT, (key) => put(key, key.startsWith('keep/') ? keepBody(key) : key));
    const goneBeforeB = await eventually(
      'some phase-A objects to expire',
      SOME_GONE_TIMEOUT_MS,
      async () => {
        const gone = PHASE - (await listAll(s3, BUCKET, 'exp/')).size;
        return gone > 0 ? gone : undefined;
      },
      { describe: async () => first.output().slice(-2_000) },
    );
    await forEachLimit(phaseB, IN_FLIGHT, (key) => put(key, key));
    const writeEnd = Date.now();

    const listed = await listAll(s3, BUCKET, 'exp/');
    const listedAt = Date.now();
    // Kill while jobs run, when that comes within ACTIVE_WAIT_MS (due jobs start at each 2-second boundary), so
    // the restarted gateway has stalled jobs to recover as well as delayed ones.
    const queue = new Queue('expire', {
      connection: { host: '127.0.0.1', port: redis!.redis.port },
      prefix,
    });
    let killAt: number;
    let atKill: Record<string, number>;
    try {
      const until = Date.now() + ACTIVE_WAIT_MS;
      while ((await queue.getJobCounts('active')).active === 0 && Date.now() < until) await delay(5);
      killAt = Date.now();
      await first.kill();
      atKill = await queue.getJobCounts('delayed', 'waiting', 'prioritized', 'active', 'completed', 'failed');
    } finally {
      await queue.close();
    }

    const dueOf = (key: string) => dueAfterDays(listed.get(key)!, 1, DAY_SECONDS);
    const notYetDue = [...listed.keys()].filter((key) => dueOf(key) > killAt);
    const lastDue = Math.max(...[...listed.keys()].map(dueOf));
    const pending = atKill.delayed + atKill.waiting + atKill.prioritized + atKill.active;
    t.diagnostic(
      `writes: ${2 * PHASE} exp/ + ${KEEP} keep/ PUTs in ${secs(writeEnd - writeStart)}; ${goneBeforeB} phase-A objects gone before phase B`,
    );
    t.diagnostic(
      `last listing before the kill (${secs(killAt - listedAt)} before it): ${2 * PHASE - listed.size} exp/ objects gone, ` +
        `${listed.size} listed, ${notYetDue.length} of them not due until after the kill`,
    );
    t.diagnostic(`expire queue after the kill: ${JSON.stringify(atKill)}`);
    assert.ok(listed.size < 2 * PHASE, 'no object was gone before the kill');
    assert.ok(notYetDue.length > 0, 'every object was due before the kill');
    assert.ok(
      pending >= notYetDue.length,
      `${pending} pending jobs for ${notYetDue.length} objects not due yet`,
    );

    // Down until everything listed is due, so the restarted gateway finds all of it overdue.
    await delay(Math.max(0, lastDue + 1_000 - Date.now()));
    const second = await start();
    const restartedAt = Date.now();
    const s3b = clientFor(second.url);
    clients.push(s3b);
    await eventually(
      'every exp/ object to expire after the restart',
      ALL_GONE_TIMEOUT_MS,
      async () => ((await listAll(s3b, BUCKET, 'exp/')).size === 0 ? true : undefined),
      {
        describe: async () =>
          `${(await listAll(s3b, BUCKET, 'exp/')).size} left\n${second.output().slice(-2_000)}`,
      },
    );
    const emptyAfter = Date.now() - restartedAt;

    const kept = await listAll(s3b, BUCKET, 'keep/');
    assert.deepEqual([...kept.keys()].sort(), keep, 'objects outside the filter');
    await forEachLimit(keep, IN_FLIGHT, async (key) => {
      const res = await s3b.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(await res.Body!.transformToString(), keepBody(key), key);
    });

    // The listing can be empty while a job that was active at the kill is still locked: the killed gateway had
    // deleted its object but not completed it. BullMQ gives it back only after its lock lapses and a stalled check
    // finds it, up to a minute after the kill, so the idle wait allows the same recovery time as the listing's.
    await expireQueueIdle(second.url, ALL_GONE_TIMEOUT_MS);
    const outcomes = await expireOutcomes(second.url, 'expire-current');
    const scans = metricValue(await scrape(second.url), 'tiergate_lifecycle_jobs_total', { queue: 'scan' });
    t.diagnostic(
      `restarted gateway: exp/ empty ${secs(emptyAfter)} after the restart (${secs(Date.now() - killAt)} after the kill); ` +
        `expire-current jobs ${outcomes.done} done, ${outcomes.skipped} skipped, ${outcomes.failed} failed attempts; ${scans} scans`,
    );
    assert.equal(scans, 0, 'the restarted gateway scanned: the queue alone must carry the work');
    assert.equal(
      outcomes.done + outcomes.skipped,
      pending,
      'every job pending at the kill (active ones included) ran to its end once after the restart',
    );
    assert.ok(
      outcomes.done >= notYetDue.length,
      `${outcomes.done} done after the restart, ${notYetDue.length} objects were not due at the kill`,
    );
  });
});
