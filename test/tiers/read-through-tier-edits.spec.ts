/**
 * Read-through across edits of its tier, over a real pool, the local KMS, the tier registry and the OSS test server.
 *
 * A read-through GET holds a lease on its tier for as long as its stream lives: over a real pool, the local KMS,
 * the tier registry (retire grace shortened to 100 ms) and the OSS test server (V4 checked against a credential
 * table the test edits), a 32 MiB object is transitioned, a GET of it reads its first chunk and pauses, the tier's
 * credentials are rotated and the grace passes; the GET then reads on to the end, byte-identical. Without the
 * lease the retired backend would be closed under the paused read (its sockets destroyed). Once that read is done,
 * the retired backend is closed (its close is watched), so a rotation leaks nothing; the tier reads on new keys.
 *
 * Editing the tier's storage class moves no object: an object written in Standard still reads through after the
 * tier's class became Archive, while an object transitioned after the edit is archived (403 InvalidObjectState to
 * a GET until restored).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { LocalKms } from '../../src/kms/local-kms';
import { Transitioner } from '../../src/lifecycle/engine/transition';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { tierReader } from '../../src/tiers/read-through';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { TierRegistry } from '../../src/tiers/tier-registry';
import { startOssServer, type OssCredential, type OssServer } from '../fixtures/cloud/oss-server';
import { patternBytes, patternStream } from '../fixtures/pattern-bytes';
import { until } from '../fixtures/poll';
import { tempDrives } from '../fixtures/temp-drives';

const MiB = 1024 * 1024;
const SIZE = 32 * MiB;
const BUCKET = 'tier-bucket';
const AK1 = 'LTAI5tLeaseOne';
const SECRET1 = 'lease-secret-one-0123456789';
const AK2 = 'LTAI5tLeaseTwo';
const SECRET2 = 'lease-secret-two-9876543210';
const GRACE_MS = 100;

describe('a read-through GET across a credential rotation', { timeout: 120_000 }, () => {
  const tmp = tempDrives(4, 'read-through-lease');
  const kms = LocalKms.fromMasterKey(Buffer.alloc(32, 5));
  const credentials: Record<string, OssCredential> = { [AK1]: { secret: SECRET1 } };
  let pool: ErasurePool;
  let oss: OssServer;
  let registry: TierRegistry;
  const def = (accessKey: string, secretKey: string): TierDefinition => ({
    name: 'WARM',
    type: 'oss',
    endpoint: oss.endpoint,
    region: 'cn-hangzhou',
    bucket: BUCKET,
    prefix: 'warm/',
    storageClass: 'Standard',
    accessKey,
    secretKey,
  });

  before(async () => {
    pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
    oss = await startOssServer({ buckets: [BUCKET], credentials });
    registry = await TierRegistry.open(pool, kms, { retireGraceMs: GRACE_MS });
    await registry.add(def(AK1, SECRET1));
    pool.setRemoteReader(tierReader(registry, kms));
    await pool.makeBucket('data');
  });
  after(async () => {
    await registry?.close();
    await pool?.shutdown();
    await oss?.close();
    tmp.cleanup();
  });

  it('reads on to the end after the tier it started on was rotated and retired', async () => {
    const info = await pool.putObject('data', 'big', patternStream(9, SIZE), { size: SIZE });
    const outcome = await new Transitioner(pool, registry, kms).run(
      {
        bucket: 'data',
        key: 'big',
        versionId: info.versionId,
        action: 'transition',
        storageClass: 'WARM',
        dueAt: Date.now(),
      },
      info,
    );
    assert.equal(outcome, 'done');
    assert.equal((await pool.getObjectInfo('data', 'big')).remote, true);

    const { stream } = await pool.getObject('data', 'big');
    const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await it.next();
    assert.ok(!first.done && first.value.length > 0);
    const old = registry.get('WARM')!;
    // Watch the old backend's close (it still closes for real).
    let closedAt: number | undefined;
    const close = old.backend.close.bind(old.backend);
    old.backend.close = () => {
      closedAt = Date.now();
      close();
    };

    // Rotate: the cloud issues a second key, the registry switches to it; the grace of the old backend passes.
    credentials[AK2] = { secret: SECRET2 };
    const edited = await registry.edit('WARM', def(AK2, SECRET2), { ifGeneration: old.generation });
    assert.notEqual(edited.backend, old.backend);
    await delay(GRACE_MS * 5);

    assert.equal(closedAt, undefined, 'the backend under a running read was closed');
    const chunks: Buffer[] = [first.value];
    for (let next = await it.next(); !next.done; next = await it.next()) chunks.push(next.value);
    const got = Buffer.concat(chunks);
    assert.equal(got.length, SIZE);
    assert.ok(got.equals(patternBytes(9, 0, SIZE)), 'the paused read finished byte-identical');

    const readDone = Date.now();
    // The read is done: nothing holds the old backend any more, and it is closed.
    await until('the retired backend to be closed', async () => (closedAt === undefined ? undefined : true));
    assert.ok(closedAt! >= readDone, 'closed only after the read was done');
    delete credentials[AK1];
    // The tier itself reads through on its new keys.
    const again = await pool.getObject('data', 'big', { range: { start: SIZE - 10, end: SIZE - 1 } });
    const tail: Buffer[] = [];
    for await (const c of again.stream) tail.push(c as Buffer);
    assert.ok(Buffer.concat(tail).equals(patternBytes(9, SIZE - 10, 10)));
  });

  it('keeps reading objects in the class they were written in after the tier class is edited', async () => {
    const current = registry.get('WARM')!;
    await registry.edit(
      'WARM',
      { ...def(AK2, SECRET2), storageClass: 'Archive' },
      {
        ifGeneration: current.generation,
      },
    );
    const tail = await pool.getObject('data', 'big', { range: { start: 0, end: 99 } });
    const head: Buffer[] = [];
    for await (const c of tail.stream) head.push(c as Buffer);
    assert.ok(Buffer.concat(head).equals(patternBytes(9, 0, 100)), 'the Standard object still reads through');

    const info = await pool.putObject('data', 'cold', patternStream(4, 300 * 1024), { size: 300 * 1024 });
    const job = {
      bucket: 'data',
      key: 'cold',
      versionId: info.versionId,
      action: 'transition' as const,
      storageClass: 'WARM',
      dueAt: Date.now(),
    };
    assert.equal(await new Transitioner(pool, registry, kms).run(job, info), 'done');
    await assert.rejects(pool.getObject('data', 'cold'), { code: 'InvalidObjectState' });
  });
});
