/**
 * Acceptance of the lifecycle engine, as far as the storage layer allows today: two lifecycle engines sharing one
 * Redis (same TIERGATE_QUEUE_PREFIX) and one namespace expire each object exactly once.
 *
 * Why not two gateway processes: a gateway process is the only writer of its drives (the metadata log appends at
 * offsets it reserves in memory, and the index of `%meta` files is kept in memory; storage/drive/meta-log.ts,
 * tree-meta-index.ts), and gateways of a cluster are meant to reach each other's drives through the internal
 * storage API, which does not exist yet (TIERGATE_DRIVES takes local directories only). Two gateways started on
 * the same drive directories do not share a namespace: each lists only its own writes, and acknowledged writes
 * are lost when their metadata-log records overwrite each other. So the second engine runs beside the gateway's
 * own, in its process, on the gateway's ObjectLayer, with everything else of its own: Redis connection, queues,
 * workers, object locks (RedisLocks tokens), metrics; exactly what a second gateway would bring to the queues.
 *
 * The bucket is versioned, so a double expiration would show: each expire-current of a key's current version adds
 * a delete marker, and the rule (Expiration Days 1 only: no noncurrent expiration, no ExpiredObjectDeleteMarker)
 * never removes a marker or the version under it. Both engines hear every write and schedule it (the same job
 * twice: the ids must collapse), their workers compete for the jobs, and half-way through the writes, and again
 * after the last one, both scan the bucket at the same moment (every job they ask for exists already). Once every
 * key has a marker and the expire queue is idle, ListObjectVersions must show, for every key, its one version and
 * exactly one delete marker; the two engines' done expire-current jobs must add up to N, and none may have been
 * skipped (no job ran twice, no stale duplicate was queued).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  PutBucketVersioningCommand,
  CreateBucketCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Redis } from 'ioredis';
import { LifecycleEngine } from '../../src/lifecycle/engine/lifecycle-engine';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import type { ObjectLayer } from '../../src/storage/object-layer';
import { OBJECT_LAYER } from '../../src/storage/storage.module';
import { startGateway, type TestGateway } from '../e2e/harness';
import {
  eventually,
  expireBacklog,
  expireOutcomes,
  expireQueueIdle,
  forEachLimit,
  listAllVersions,
  putRules,
  secs,
} from '../fixtures/lifecycle-load';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';

const N = 1_500;
const IN_FLIGHT = 12;
const DAY_SECONDS = 2;
const BUCKET = 'two-engines';
/** Hang guard, not a speed requirement. */
const ALL_MARKED_TIMEOUT_MS = 120_000;

const keyOf = (i: number) => `obj/${String(i).padStart(4, '0')}`;

describe('two lifecycle engines sharing one Redis expire each object exactly once', () => {
  const prefix = uniquePrefix('accept-two');
  let gateway: TestGateway | undefined;
  let s3: S3Client;
  let connection: Redis | undefined;
  let queues: JobQueues | undefined;
  let second: LifecycleEngine | undefined;
  const secondOutcomes = { done: 0, skipped: 0, failed: 0 };

  before(async () => {
    gateway = await startGateway({
      env: {
        TIERGATE_QUEUE_PREFIX: prefix,
        TIERGATE_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS),
        TIERGATE_SCANNER_INTERVAL_SECONDS: '3600',
      },
    });
    s3 = gateway.client();
    connection = redisClient((await sharedRedis()).port);
    queues = new JobQueues({ connection, prefix });
    second = new LifecycleEngine(
      gateway.app.get<ObjectLayer>(OBJECT_LAYER),
      queues,
      connection,
      { daySeconds: DAY_SECONDS, scannerIntervalSeconds: 3600, prefix },
      (kind, action, outcome) => {
        if (kind === 'expire' && action === 'expire-current') secondOutcomes[outcome]++;
      },
    );
    second.start();
  });
  after(async () => {
    await second?.close();
    await queues?.close();
    await gateway?.close();
    connection?.disconnect();
  });

  it('one delete marker per key; the done counts of both engines add up to N', async (t) => {
    const url = gateway!.endpoint;
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await putRules(s3, BUCKET, [{ ID: 'exp', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);

    // Both at once: the gateway's engine through the admin API, the second one directly.
    const scanBoth = async () => {
      const [own, other] = await Promise.all([
        gateway!.signed({ method: 'POST', path: `/tiergate/admin/v1/lifecycle/scan?bucket=${BUCKET}` }),
        second!.scanner.scan(BUCKET),
      ]);
      assert.equal(own.status, 200, own.text);
      return [JSON.parse(own.text) as { versions: number; scheduled: number }, other];
    };
    let midScans: ReturnType<typeof scanBoth> | undefined;
    const writeStart = Date.now();
    await forEachLimit(
      Array.from({ length: N }, (_, i) => i),
      IN_FLIGHT,
      async (i) => {
        if (i === N / 2) midScans = scanBoth();
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(i), Body: `v${i}` }));
      },
    );
    const writeEnd = Date.now();
    const scans = [...(await midScans!), ...(await scanBoth())];

    const marked = async () =>
      [...(await listAllVersions(s3, BUCKET)).values()].filter((v) => v.markers.length > 0).length;
    await eventually(
      'every key to get its delete marker',
      ALL_MARKED_TIMEOUT_MS,
      async () => ((await marked()) === N ? true : undefined),
      {
        describe: async () =>
          `${await marked()} of ${N} marked; gateway's engine ${JSON.stringify(await expireOutcomes(url, 'expire-current'))}, ` +
          `second engine ${JSON.stringify(secondOutcomes)}; backlog ${await expireBacklog(url)}`,
      },
    );
    const allMarked = Date.now();
    await expireQueueIdle(url);

    const versions = await listAllVersions(s3, BUCKET);
    const expected = Array.from({ length: N }, (_, i) => keyOf(i));
    assert.deepEqual([...versions.keys()].sort(), expected, 'keys in ListObjectVersions');
    const wrong = [...versions.entries()]
      .filter(([, v]) => v.versions.length !== 1 || v.markers.length !== 1)
      .map(([key, v]) => `${key}: ${v.versions.length} versions, ${v.markers.length} markers`);
    assert.deepEqual(wrong.slice(0, 20), [], `${wrong.length} keys without exactly 1 version and 1 marker`);

    const outcomes = [await expireOutcomes(url, 'expire-current'), { ...secondOutcomes }];
    t.diagnostic(
      `writes: ${N} PUTs in ${secs(writeEnd - writeStart)}; every key marked ${secs(allMarked - writeEnd)} after the last`,
    );
    t.diagnostic(
      `scans (mid-way and after the writes, both engines at once): ${scans.map((s) => `${s.versions} versions/${s.scheduled} jobs asked for`).join(', ')}`,
    );
    outcomes.forEach((o, e) =>
      t.diagnostic(
        `${e === 0 ? "gateway's engine" : 'second engine'}: expire-current ${o.done} done, ${o.skipped} skipped, ${o.failed} failed attempts`,
      ),
    );
    assert.ok(
      outcomes.every((o) => o.done > 0),
      'one engine did every expiration: the work was not shared',
    );
    assert.equal(outcomes[0].done + outcomes[1].done, N, 'done expire-current jobs of both engines');
    assert.equal(outcomes[0].skipped + outcomes[1].skipped, 0, 'skipped expire-current jobs');
  });
});
