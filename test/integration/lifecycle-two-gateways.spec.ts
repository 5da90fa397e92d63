/**
 * Acceptance of the lifecycle engine: two gateway processes sharing one Redis expire each object exactly once.
 *
 * The two gateways are the two nodes of one cluster: child processes (test/e2e/gateway-process) with four temp
 * drives each, every node listing all eight drive URLs in the same order, so both serve one namespace (node A owns
 * the first drive and formats the deployment; node B waits for it). Each node serves its drives to the other through
 * the internal storage API (TIERGATE_NODE_URL). Both use the redis-server this file owns (TIERGATE_REDIS_URL, one
 * TIERGATE_QUEUE_PREFIX): the queues, and the cluster-wide object locks, are the same for both.
 *
 * The bucket is versioned, so a double expiration would show: each expire-current of a key's current version adds
 * a delete marker, and the rule (Expiration Days 1 only: no noncurrent expiration, no ExpiredObjectDeleteMarker)
 * never removes a marker or the version under it. The writes alternate between the nodes, so both schedulers queue
 * jobs; half-way through the writes, and again after the last one, both nodes scan the bucket at the same moment
 * (every job they ask for exists already: the ids must collapse). Once every key has a marker and the expire queue
 * is idle, ListObjectVersions through either node must show, for every key, its one version and exactly one delete
 * marker; the done expire-current jobs of the two processes (their own /tiergate/metrics) must add up to N, both
 * must have done some, and none may have been skipped (no job ran twice, no stale duplicate was queued).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { freePort, startGateway, type GatewayProcess } from '../e2e/gateway-process';
import {
  adminScan,
  clientFor,
  eventually,
  expireBacklog,
  expireOutcomes,
  expireQueueIdle,
  forEachLimit,
  listAllVersions,
  putRules,
  secs,
} from '../fixtures/lifecycle-load';
import { startRedis, uniquePrefix } from '../fixtures/redis-server';

const N = 1_000;
const IN_FLIGHT = 12;
const DAY_SECONDS = 2;
const BUCKET = 'two-gateways';
/** Hang guard, not a speed requirement. */
const ALL_MARKED_TIMEOUT_MS = 120_000;

const keyOf = (i: number) => `obj/${String(i).padStart(4, '0')}`;

describe('two gateway processes sharing one Redis expire each object exactly once', () => {
  let redis: Awaited<ReturnType<typeof startRedis>> | undefined;
  let base: string | undefined;
  const nodes: GatewayProcess[] = [];
  const clients: S3Client[] = [];
  const prefix = uniquePrefix('accept-two-gw');

  before(async () => {
    redis = await startRedis({ appendOnly: true });
    base = await mkdtemp(join(tmpdir(), 'tiergate-two-gw-'));
    const storagePorts = [await freePort(), await freePort()];
    const names = ['a', 'b'];
    for (const name of names) {
      await Promise.all([1, 2, 3, 4].map((i) => mkdir(join(base!, `${name}${i}`))));
    }
    const drives = names
      .map((name, n) => `http://127.0.0.1:${storagePorts[n]}${base}/${name}{1...4}`)
      .join(',');
    const kmsKey = randomBytes(32).toString('hex');
    // Both at once: node B's boot waits for node A's drives and format, and A's for B's drives.
    nodes.push(
      ...(await Promise.all(
        storagePorts.map((port) =>
          startGateway({
            cwd: base!,
            drives,
            env: {
              TIERGATE_NODE_URL: `http://127.0.0.1:${port}`,
              TIERGATE_REDIS_URL: redis!.redis.url,
              TIERGATE_QUEUE_PREFIX: prefix,
              TIERGATE_KMS_SECRET_KEY: kmsKey,
              TIERGATE_LIFECYCLE_DAY_SECONDS: String(DAY_SECONDS),
              TIERGATE_SCANNER_INTERVAL_SECONDS: '3600',
            },
          }),
        ),
      )),
    );
    clients.push(...nodes.map((node) => clientFor(node.url)));
  });
  after(async () => {
    for (const s3 of clients) s3.destroy();
    for (const node of nodes) await node.stop();
    await redis?.remove();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('one delete marker per key; the done counts of both processes add up to N', async (t) => {
    const [a, b] = clients;
    await a.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await b.send(
      new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    await putRules(a, BUCKET, [{ ID: 'exp', Status: 'Enabled', Filter: {}, Expiration: { Days: 1 } }]);

    const scanBoth = () => Promise.all(nodes.map((node) => adminScan(node.url, BUCKET)));
    let midScans: ReturnType<typeof scanBoth> | undefined;
    const writeStart = Date.now();
    await forEachLimit(
      Array.from({ length: N }, (_, i) => i),
      IN_FLIGHT,
      async (i) => {
        if (i === N / 2) midScans = scanBoth();
        await clients[i % 2].send(new PutObjectCommand({ Bucket: BUCKET, Key: keyOf(i), Body: `v${i}` }));
      },
    );
    const writeEnd = Date.now();
    const scans = [...(await midScans!), ...(await scanBoth())];

    // What one node wrote, the other reads: one namespace, not two.
    for (const i of [0, 1, N - 2, N - 1]) {
      const reader = clients[(i + 1) % 2];
      const res = await reader
        .send(new GetObjectCommand({ Bucket: BUCKET, Key: keyOf(i) }))
        .catch(() => undefined);
      // It may have expired already; then its marker answers 404, which the listing below checks.
      if (res) assert.equal(await res.Body!.transformToString(), `v${i}`, keyOf(i));
    }

    const marked = async () =>
      [...(await listAllVersions(b, BUCKET)).values()].filter((v) => v.markers.length > 0).length;
    await eventually(
      'every key to get its delete marker',
      ALL_MARKED_TIMEOUT_MS,
      async () => ((await marked()) === N ? true : undefined),
      {
        describe: async () =>
          `${await marked()} of ${N} marked; backlog ${await expireBacklog(nodes[0].url)}\n` +
          nodes.map((node) => node.output().slice(-1_500)).join('\n---\n'),
      },
    );
    const allMarked = Date.now();
    await expireQueueIdle(nodes[0].url);

    const expected = Array.from({ length: N }, (_, i) => keyOf(i));
    for (const [n, s3] of clients.entries()) {
      const versions = await listAllVersions(s3, BUCKET);
      assert.deepEqual([...versions.keys()].sort(), expected, `keys in ListObjectVersions through node ${n}`);
      const wrong = [...versions.entries()]
        .filter(([, v]) => v.versions.length !== 1 || v.markers.length !== 1)
        .map(([key, v]) => `${key}: ${v.versions.length} versions, ${v.markers.length} markers`);
      assert.deepEqual(
        wrong.slice(0, 20),
        [],
        `${wrong.length} keys without exactly 1 version and 1 marker, through node ${n}`,
      );
    }

    const outcomes = await Promise.all(nodes.map((node) => expireOutcomes(node.url, 'expire-current')));
    t.diagnostic(
      `writes: ${N} PUTs alternating between the nodes in ${secs(writeEnd - writeStart)}; ` +
        `every key marked ${secs(allMarked - writeEnd)} after the last`,
    );
    t.diagnostic(
      `scans (mid-way and after the writes, both nodes at once): ${scans.map((s) => `${s.versions} versions/${s.scheduled} jobs asked for`).join(', ')}`,
    );
    outcomes.forEach((o, n) =>
      t.diagnostic(
        `node ${n}: expire-current ${o.done} done, ${o.skipped} skipped, ${o.failed} failed attempts`,
      ),
    );
    assert.ok(
      outcomes.every((o) => o.done > 0),
      'one process did every expiration: the work was not shared',
    );
    assert.equal(outcomes[0].done + outcomes[1].done, N, 'done expire-current jobs of both processes');
    assert.equal(outcomes[0].skipped + outcomes[1].skipped, 0, 'skipped expire-current jobs');
  });
});
