/**
 * Acceptance of the lifecycle engine: redis-server restarted while expirations are in progress; the gateway stays
 * up and the work resumes. Writes made while Redis is down succeed, are not scheduled, and the scanner (here
 * POST /tiergate/admin/v1/lifecycle/scan) is the backstop that expires them.
 *
 * The gateway is a child process (test/e2e/gateway-process) on four temp drives, its queues on a redis-server this
 * file owns (AOF on, appendfsync everysec), a 2-second lifecycle day and the periodic scanner out of the way.
 *
 * 1. Phase A: 1,000 objects under `exp/` (Expiration Days 1: due 2 to 4 s after each write); once some are gone,
 *    phase B: 1,000 more. Then, while jobs are due or running, redis-server is stopped (SIGTERM: it writes its AOF
 *    out) and kept down for DOWN_MS.
 * 2. While it is down: the gateway is live, its metrics say the queues are unreachable, and 20 PUTs under
 *    `exp/down-` succeed (the engine skips scheduling while Redis is unreachable rather than hold the write).
 * 3. redis-server starts again on the same port and files. Every object written before the outage ends up gone.
 *    The 20 written during it are still there well after their due time (nothing scheduled them, nothing scanned);
 *    a scan through the admin API schedules them and they go too.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Queue } from 'bullmq';
import { dueAfterDays } from '../../src/lifecycle/rules/lifecycle-days';
import type { GatewayProcess } from '../e2e/gateway-process';
import {
  adminScan,
  clientFor,
  distribution,
  eventually,
  expireOutcomes,
  expireQueueIdle,
  forEachLimit,
  listAll,
  liveStatus,
  putRules,
  scrape,
  secs,
  startLifecycleGateway,
  tempDrives,
} from '../fixtures/lifecycle-load';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

const DAY_SECONDS = 2;
const PHASE = 1_000;
const DOWN_WRITES = 20;
const IN_FLIGHT = 8;
/** How long redis-server stays down. */
const DOWN_MS = 3_000;
/** How long past their due time the writes made during the outage must still be there (unscheduled). */
const UNSCHEDULED_FOR_MS = 3_000;
const BUCKET = 'redis-restart';
/** Hang guards, not speed requirements. */
const SOME_GONE_TIMEOUT_MS = 60_000;
const ALL_GONE_TIMEOUT_MS = 150_000;

describe('redis-server restarted while expirations are in progress', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let base: string | undefined;
  let gateway: GatewayProcess | undefined;
  let s3: S3Client | undefined;
  const prefix = uniquePrefix('accept-redis');

  before(async () => {
    redis = await startRedis({ appendOnly: true });
    const dirs = await tempDrives('lc-redis');
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

  it('stays up, resumes the queued work, and the scan catches what was written meanwhile', async (t) => {
    const gw = gateway!;
    const client = s3!;
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await putRules(client, BUCKET, [
      { ID: 'exp', Status: 'Enabled', Filter: { Prefix: 'exp/' }, Expiration: { Days: 1 } },
    ]);
    const put = (key: string) =>
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key })).then(() => undefined);
    const keys = (phase: string) =>
      Array.from({ length: PHASE }, (_, i) => `exp/${phase}-${String(i).padStart(4, '0')}`);

    await forEachLimit(keys('a'), IN_FLIGHT, put);
    await eventually('some phase-A objects to expire', SOME_GONE_TIMEOUT_MS, async () =>
      (await listAll(client, BUCKET, 'exp/')).size < PHASE ? true : undefined,
    );
    await forEachLimit(keys('b'), IN_FLIGHT, put);
    const listed = await listAll(client, BUCKET, 'exp/');

    // Redis goes away (SIGTERM: it flushes its AOF) while the listed objects are due or coming due.
    const { port, dir } = redis!.redis;
    const downAt = Date.now();
    await redis!.redis.stop();
    const notYetDue = [...listed.values()].filter((m) => dueAfterDays(m, 1, DAY_SECONDS) > downAt).length;
    t.diagnostic(
      `at the stop: ${2 * PHASE - listed.size} exp/ objects gone, ${listed.size} listed just before it, ${notYetDue} of them not due yet`,
    );
    assert.ok(listed.size < 2 * PHASE && notYetDue > 0, 'the stop was not in the middle of the expirations');

    await eventually('the gateway to report its queues unreachable', 10_000, async () =>
      /^tiergate_queue_up 0$/m.test(await scrape(gw.url)) ? true : undefined,
    );
    assert.equal(await liveStatus(gw.url), 200, 'live while Redis is down');
    const downKeys = Array.from({ length: DOWN_WRITES }, (_, i) => `exp/down-${String(i).padStart(2, '0')}`);
    const putMs: number[] = [];
    for (const key of downKeys) {
      const sent = Date.now();
      await put(key);
      putMs.push(Date.now() - sent);
    }
    await delay(Math.max(0, downAt + DOWN_MS - Date.now()));
    assert.equal(await liveStatus(gw.url), 200, 'live while Redis is down');
    assert.ok(!gw.exited(), `the gateway exited:\n${gw.output()}`);

    redis = await startRedis({ appendOnly: true, dir, port });
    const upAt = Date.now();
    const putLatency = distribution(putMs);
    t.diagnostic(
      `redis-server down ${secs(upAt - downAt)}; ${DOWN_WRITES} PUTs meanwhile, latency median ${secs(putLatency.median)}, max ${secs(putLatency.max)}`,
    );

    const writtenBefore = (key: string) => key.startsWith('exp/a-') || key.startsWith('exp/b-');
    await eventually(
      'every object written before the outage to expire',
      ALL_GONE_TIMEOUT_MS,
      async () =>
        [...(await listAll(client, BUCKET, 'exp/')).keys()].some(writtenBefore) ? undefined : true,
      {
        describe: async () =>
          `${[...(await listAll(client, BUCKET, 'exp/')).keys()].filter(writtenBefore).length} left\n${gw.output().slice(-2_000)}`,
      },
    );
    const drained = Date.now() - upAt;
    assert.match(await scrape(gw.url), /^tiergate_queue_up 1$/m);

    // The writes of the outage: not scheduled, so still there past their due time.
    const down = await listAll(client, BUCKET, 'exp/down-');
    assert.deepEqual([...down.keys()].sort(), downKeys, 'the writes made while Redis was down');
    const lastDue = Math.max(...[...down.values()].map((m) => dueAfterDays(m, 1, DAY_SECONDS)));
    await delay(Math.max(0, lastDue + UNSCHEDULED_FOR_MS - Date.now()));
    assert.deepEqual(
      [...(await listAll(client, BUCKET, 'exp/down-')).keys()].sort(),
      downKeys,
      `expired ${secs(UNSCHEDULED_FOR_MS)} past due without a scan: who scheduled them?`,
    );

    const scan = await adminScan(gw.url, BUCKET);
    const scannedAt = Date.now();
    assert.ok(scan.scheduled >= DOWN_WRITES, `the scan scheduled ${scan.scheduled} jobs`);
    await eventually('the scanned objects to expire', 30_000, async () =>
      (await listAll(client, BUCKET, 'exp/')).size === 0 ? true : undefined,
    );
    await expireQueueIdle(gw.url);
    const outcomes = await expireOutcomes(gw.url, 'expire-current');
    // Jobs BullMQ had to recover as stalled: active in Redis, but their worker never got them (a fetch the server
    // ran without its reply arriving), so they wait for their lock to expire and the stalled check.
    const queue = new Queue('expire', { connection: { host: '127.0.0.1', port }, prefix });
    const stalled = (await queue.getJobs(['completed'], 0, -1).finally(() => queue.close())).filter(
      (j) => j.stalledCounter > 0,
    ).length;
    t.diagnostic(
      `after the restart: objects of before the outage gone in ${secs(drained)}; the scan (${scan.versions} versions, ${scan.scheduled} jobs) expired the rest in ${secs(Date.now() - scannedAt)}`,
    );
    t.diagnostic(
      `expire-current jobs: ${outcomes.done} done, ${outcomes.skipped} skipped, ${outcomes.failed} failed attempts, ${stalled} recovered as stalled`,
    );
    assert.equal(outcomes.done, 2 * PHASE + DOWN_WRITES, 'every object expired by one job');
    assert.match(gw.output(), /Redis is unreachable: changes are left to the scanner/);
    assert.equal(await liveStatus(gw.url), 200);
  });
});
