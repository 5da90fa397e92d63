/**
 * One erasure pool spanning two nodes, in one process: each node is an openObjectLayer with drive URLs, serving its
 * four drives on its own loopback port and reaching the other node's four through the storage API. What one node
 * writes, the other reads and lists identically; deletes and concurrent overwrites from both sides leave one
 * consistent state; with one node gone, the other still reads everything on its half plus parity.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes, seededRandom } from '../../test/fixtures/prng';
import { readAll, streamOf, tempDrives } from '../../test/fixtures/temp-drives';
import { freeLoopbackPort } from '../redis/embedded-redis';
import type { ClusterLock } from './object-locks';
import type { ListObjectsResult, ObjectInfo } from './object-layer';
import { openObjectLayer, type ErasurePool } from './pool';

const HOST = '127.0.0.1';
const SECRET = 'pool-cluster spec cluster secret';
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/**
 * The test's stand-in for the gateway's Redis lock: one in-process mutex per lock name, shared by both nodes (as
 * both gateways of a cluster share one Redis). Records the names taken, so the test sees the pools use it.
 */
class InTestClusterLock {
  private readonly tails = new Map<string, Promise<void>>();
  readonly taken: string[] = [];

  readonly lock: ClusterLock = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const before = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => held);
    this.tails.set(name, tail);
    await before;
    this.taken.push(name);
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(name) === tail) this.tails.delete(name);
    }
  };
}

/** What two listings must agree on. */
const listed = (r: ListObjectsResult) => ({
  objects: r.objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag, versionId: o.versionId })),
  commonPrefixes: r.commonPrefixes,
  isTruncated: r.isTruncated,
});

/** What two nodes must agree on about one version. */
const identity = (o: ObjectInfo) => ({ key: o.key, versionId: o.versionId, size: o.size, etag: o.etag });

describe('an erasure pool spanning two nodes', () => {
  const tmp = tempDrives(0, 'pool-cluster');
  const aDirs = [1, 2, 3, 4].map((i) => join(tmp.root, `a${i}`));
  const bDirs = [1, 2, 3, 4].map((i) => join(tmp.root, `b${i}`));
  const clusterLock = new InTestClusterLock();
  const logs: Record<'A' | 'B', string[]> = { A: [], B: [] };
  let nodeA: ErasurePool;
  let nodeB: ErasurePool | undefined;
  let ports: Record<'A' | 'B', number>;
  const bucket = 'shared';

  const read = async (node: ErasurePool, key: string): Promise<Buffer> =>
    readAll((await node.getObject(bucket, key)).stream);
  /** Data directories of `key` on each of the eight drives, in drive order. */
  const dataDirs = (key: string): string[][] =>
    [...aDirs, ...bDirs].map((d) => {
      const dir = join(d, bucket, key);
      return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('%d.')) : [];
    });

  before(async () => {
    ports = { A: await freeLoopbackPort(), B: await freeLoopbackPort() };
    const [portA, portB] = [ports.A, ports.B];
    const drives = [
      ...aDirs.map((d) => `http://${HOST}:${portA}${d}`),
      ...bDirs.map((d) => `http://${HOST}:${portB}${d}`),
    ];
    const open = (name: 'A' | 'B', port: number) =>
      openObjectLayer({
        drives,
        node: { url: `http://${HOST}:${port}`, secret: SECRET, bootWaitMs: 60_000 },
        clusterLock: clusterLock.lock,
        fsync: false,
        log: (level, message) => logs[name].push(`${level}: ${message}`),
      });
    // Both at once, as two gateways start: B must wait for A (the node of the first drive) to format.
    const [a, b] = await Promise.allSettled([open('A', portA), open('B', portB)]);
    if (a.status === 'fulfilled') nodeA = a.value;
    if (b.status === 'fulfilled') nodeB = b.value;
    for (const r of [a, b]) if (r.status === 'rejected') throw r.reason; // `after` shuts the other one down
    await nodeA.makeBucket(bucket);
  });
  after(async () => {
    await nodeB?.shutdown();
    await nodeA?.shutdown();
    tmp.cleanup();
  });

  it('forms one deployment of one 4+4 set over both nodes', async () => {
    assert.equal(nodeB!.deploymentId, nodeA.deploymentId);
    assert.equal(
      logs.A.filter((l) => l.startsWith('info: formatted ')).length,
      1,
      'A, with the first drive, formats',
    );
    assert.deepEqual(
      logs.B.filter((l) => l.startsWith('info: formatted ')),
      [],
      'B waits for its format',
    );
    const [a, b] = [await nodeA.status(), await nodeB!.status()];
    for (const status of [a, b]) {
      assert.equal(status.sets.length, 1);
      assert.equal(status.sets[0].dataShards, 4);
      assert.equal(status.sets[0].parityShards, 4);
      assert.deepEqual(
        status.sets[0].drives.map((d) => d.state),
        Array<string>(8).fill('ok'),
        `drive states; the nodes' boot logs: ${JSON.stringify(logs)}`,
      );
    }
    // Each node names its own drives by directory and the other's by URL; in the same order on both.
    const origin = (port: number) => `http://${HOST}:${port}`;
    assert.deepEqual(
      a.sets[0].drives.map((d) => d.endpoint),
      [...aDirs, ...bDirs.map((d) => origin(ports.B) + d)],
    );
    assert.deepEqual(
      b.sets[0].drives.map((d) => d.endpoint),
      [...aDirs.map((d) => origin(ports.A) + d), ...bDirs],
    );
    for (const d of [...aDirs, ...bDirs]) assert.ok(existsSync(join(d, '.tiergate.sys', 'format.json')), d);
  });

  it('sees a bucket made on one node on the other', async () => {
    assert.equal((await nodeB!.headBucket(bucket)).name, bucket);
    assert.deepEqual(
      (await nodeB!.listBuckets()).map((b) => b.name),
      [bucket],
    );
    await assert.rejects(nodeB!.makeBucket(bucket), { code: 'BucketExists' });
    await nodeB!.makeBucket('made-on-b');
    assert.equal((await nodeA.headBucket('made-on-b')).name, 'made-on-b');
    await nodeA.deleteBucket('made-on-b');
    await assert.rejects(nodeB!.headBucket('made-on-b'), { code: 'BucketNotFound' });
    assert.ok(clusterLock.taken.includes(`bucket:${bucket}`), 'bucket creation took the cluster lock');
  });

  it('refuses a write on one node into a bucket the other node just deleted (no stale existence cache)', async () => {
    await nodeB!.makeBucket('short-lived');
    await nodeB!.putObject('short-lived', 'seen', streamOf(Buffer.from('x'))); // B has found the bucket now
    await nodeB!.deleteObject('short-lived', 'seen');
    await nodeA.deleteBucket('short-lived');
    await assert.rejects(nodeB!.putObject('short-lived', 'late', streamOf(Buffer.from('late'))), {
      code: 'BucketNotFound',
    });
    await assert.rejects(nodeA.headBucket('short-lived'), { code: 'BucketNotFound' });
  });

  // An inline object, one just over the 128 KiB inline threshold, and one of several erasure blocks.
  const sizes = { small: 1000, medium: 128 * 1024 + 1, large: 5 * 1024 * 1024 + 123 };
  const payload = (node: string, size: number) => randomBytes(seededRandom(size + node.charCodeAt(0)), size);

  for (const [writer, readerName] of [
    ['A', 'B'],
    ['B', 'A'],
  ] as const) {
    it(`reads on ${readerName} every object put on ${writer}, byte for byte`, async () => {
      const [w, r] = writer === 'A' ? [nodeA, nodeB!] : [nodeB!, nodeA];
      for (const [name, size] of Object.entries(sizes)) {
        const key = `from-${writer}/${name}`;
        const data = payload(writer, size);
        const put = await w.putObject(bucket, key, streamOf(data));
        assert.equal(put.etag, md5(data));
        assert.deepEqual(await read(r, key), data, key);
        assert.deepEqual(identity(await r.getObjectInfo(bucket, key)), identity(put), key);
        const dirs = dataDirs(key);
        if (size <= 128 * 1024) assert.deepEqual(dirs, Array<string[]>(8).fill([]), `${key} is inline`);
        else {
          assert.ok(
            dirs.every((d) => d.length === 1 && d[0] === dirs[0][0]),
            `${key}: one data dir on every drive of both nodes: ${JSON.stringify(dirs)}`,
          );
        }
      }
    });
  }

  it('lists the same objects on both nodes', async () => {
    for (const opts of [
      {},
      { delimiter: '/' },
      { prefix: 'from-B/' },
      { maxKeys: 2 },
      { marker: 'from-A/small' },
    ]) {
      const [a, b] = [await nodeA.listObjects(bucket, opts), await nodeB!.listObjects(bucket, opts)];
      assert.deepEqual(listed(b), listed(a), JSON.stringify(opts));
    }
    const all = await nodeB!.listObjects(bucket);
    assert.deepEqual(
      all.objects.map((o) => o.key),
      ['from-A/large', 'from-A/medium', 'from-A/small', 'from-B/large', 'from-B/medium', 'from-B/small'],
    );
    assert.deepEqual((await nodeA.listObjects(bucket, { delimiter: '/' })).commonPrefixes, [
      'from-A/',
      'from-B/',
    ]);
  });

  it('sees on one node a delete made on the other', async () => {
    await nodeB!.deleteObject(bucket, 'from-A/large');
    await nodeA.deleteObject(bucket, 'from-B/small');
    for (const node of [nodeA, nodeB!]) {
      await assert.rejects(node.getObject(bucket, 'from-A/large'), { code: 'ObjectNotFound' });
      await assert.rejects(node.getObjectInfo(bucket, 'from-B/small'), { code: 'ObjectNotFound' });
      assert.deepEqual(
        (await node.listObjects(bucket)).objects.map((o) => o.key),
        ['from-A/medium', 'from-A/small', 'from-B/large', 'from-B/medium'],
      );
    }
    assert.deepEqual(
      dataDirs('from-A/large'),
      Array<string[]>(8).fill([]),
      'its data is gone from every drive',
    );
  });

  it('leaves one consistent version after concurrent overwrites of one key from both nodes', async () => {
    const key = 'contended';
    const rounds = 6;
    const bodies = Array.from({ length: rounds * 2 }, (_, i) =>
      randomBytes(seededRandom(1000 + i), i % 3 === 0 ? 2000 : 200 * 1024 + i),
    );
    const locksBefore = clusterLock.taken.length;
    await Promise.all(
      bodies.map((body, i) =>
        (i % 2 === 0 ? nodeA : nodeB!).putObject(bucket, key, streamOf(body, 16 * 1024)),
      ),
    );
    assert.ok(
      clusterLock.taken.slice(locksBefore).filter((n) => n.startsWith('object:')).length >= bodies.length,
      'every overwrite committed under the cluster lock',
    );

    const [infoA, infoB] = [await nodeA.getObjectInfo(bucket, key), await nodeB!.getObjectInfo(bucket, key)];
    assert.deepEqual(identity(infoB), identity(infoA));
    const winner = bodies.find((b) => md5(b) === infoA.etag);
    assert.ok(winner, 'the current version is one of the bodies written');
    assert.deepEqual(await read(nodeA, key), winner);
    assert.deepEqual(await read(nodeB!, key), winner);
    for (const node of [nodeA, nodeB!]) {
      assert.deepEqual((await node.getObjectVersions(bucket, key)).map(identity), [identity(infoA)]);
    }
    const dirs = dataDirs(key);
    const inline = winner.length <= 128 * 1024;
    assert.ok(
      dirs.every((d) => d.length === (inline ? 0 : 1) && d[0] === dirs[0][0]),
      `no data dir of a replaced version is left: ${JSON.stringify(dirs)}`,
    );
  });

  it('reads everything on one node while the other is shut down (its drives plus parity)', async () => {
    const expected = new Map<string, Buffer>();
    for (const o of (await nodeA.listObjects(bucket)).objects) expected.set(o.key, await read(nodeA, o.key));
    assert.equal(expected.size, 5);

    await nodeB!.shutdown();
    nodeB = undefined;

    const status = (await nodeA.status()).sets[0];
    assert.deepEqual(
      status.drives.map((d) => d.state),
      [...Array<string>(4).fill('ok'), ...Array<string>(4).fill('faulty')],
    );
    assert.equal(status.readQuorum, true, '4 data shards: 4 drives read');
    assert.equal(status.writeQuorum, false, 'with 4 data and 4 parity, a write needs 5 drives');
    for (const [key, data] of expected) assert.deepEqual(await read(nodeA, key), data, key);
    assert.deepEqual(
      (await nodeA.listObjects(bucket)).objects.map((o) => o.key),
      [...expected.keys()],
    );
    await assert.rejects(nodeA.putObject(bucket, 'while-b-is-down', streamOf(Buffer.alloc(300 * 1024))), {
      code: 'WriteQuorum',
    });
    await assert.rejects(nodeA.getObject(bucket, 'while-b-is-down'), { code: 'ObjectNotFound' });
  });
});
