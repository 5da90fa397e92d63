/**
 * The tier registry on a real 4-drive pool with the local KMS, against the OSS test server (exact V4 signatures, a
 * credential table the test edits), the archive S3 server (SigV4 checked) and s3rver: probes seen on the wire,
 * refused credentials storing nothing, no secret on any drive, reopen unsealing, credential rotation while the tier
 * is in use, removal refused while any version (current, noncurrent, an intent in progress) references the tier,
 * and a lost update between two registries on the same drives refused.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { LocalKms } from '../../src/kms/local-kms';
import type { ErasurePool } from '../../src/storage/pool';
import type { TierDefinition } from '../../src/tiers/tier-definition';
import { TIERS_CONFIG_NAME, decodeDocument, sealTier, unsealTier } from '../../src/tiers/tier-document';
import { TierProbeError } from '../../src/tiers/tier-probe';
import { RedisLocks } from '../../src/redis/redis-lock';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';
import { missingTier } from '../../src/tiers/read-through';
import { TierError } from '../../src/tiers/tier-error';
import { TierRegistry, TierRegistryError, type TierEntry } from '../../src/tiers/tier-registry';
import { tierReferences } from '../../src/tiers/tier-references';
import { startOssServer, type OssCredential, type OssServer } from '../fixtures/cloud/oss-server';
import { startS3ArchiveServer, type S3ArchiveServer } from '../fixtures/cloud/s3-archive-server';
import { S3RVER_KEYS, startS3rver, type S3rverServer } from '../fixtures/cloud/s3rver-server';
import { walkFiles } from '../e2e/harness';
import { faultyPool, readAll, tempDrives } from '../fixtures/temp-drives';

const BUCKET = 'tier-bucket';
const AK1 = 'LTAI5tRegistryOne';
const SECRET1 = 'registry-secret-one-0123456789';
const AK2 = 'LTAI5tRegistryTwo';
const SECRET2 = 'registry-secret-two-9876543210';

/** Writes and reads back one small object through `entry`'s backend. */
async function roundTrip(entry: TierEntry | undefined, key: string): Promise<void> {
  assert.ok(entry, 'no entry');
  const data = randomBytes(300);
  await entry.backend.put(key, Readable.from([data]), { size: data.length });
  assert.deepEqual(await readAll(await entry.backend.get(key)), data);
}

describe('TierRegistry', () => {
  const tmp = tempDrives(4, 'tier-registry');
  const kms = LocalKms.fromMasterKey(randomBytes(32));
  const credentials: Record<string, OssCredential> = { [AK1]: { secret: SECRET1 } };
  let pool: ErasurePool;
  let oss: OssServer;
  let archive: S3ArchiveServer;
  let rver: S3rverServer;
  let registry: TierRegistry;
  const opened: TierRegistry[] = [];
  const open = async (k = kms): Promise<TierRegistry> => {
    const r = await TierRegistry.open(pool, k, { backendOptions: { s3: { checksums: 'when-required' } } });
    opened.push(r);
    return r;
  };
  const ossDef = (over: Partial<TierDefinition> = {}): TierDefinition => ({
    name: 'WARM',
    type: 'oss',
    endpoint: oss.endpoint,
    region: 'cn-hangzhou',
    bucket: BUCKET,
    prefix: 'warm/',
    storageClass: 'IA',
    accessKey: AK1,
    secretKey: SECRET1,
    ...over,
  });

  before(async () => {
    ({ pool } = await faultyPool(tmp.paths, { parity: 2 }));
    oss = await startOssServer({ buckets: [BUCKET], credentials });
    archive = await startS3ArchiveServer({
      buckets: [BUCKET],
      credentials: { AKIAREGISTRY: 'archive-secret' },
    });
    rver = await startS3rver([BUCKET]);
    registry = await open();
  });
  after(async () => {
    for (const r of opened) await r.close();
    await Promise.all([oss?.close(), archive?.close(), rver?.close()]);
    await pool?.shutdown();
    tmp.cleanup();
  });

  it('starts empty: no tier, no storage class', () => {
    assert.deepEqual(registry.list(), []);
    assert.equal(registry.isKnownStorageClass('WARM'), false);
    assert.equal(registry.generation, 0);
  });

  it('refuses a tier whose secret the cloud refuses, and stores nothing', async () => {
    await assert.rejects(registry.add(ossDef({ secretKey: 'wrong-secret' })), (err: unknown) => {
      assert.ok(err instanceof TierProbeError);
      assert.equal(err.step, 'put');
      assert.equal(err.code, 'AccessDenied');
      assert.ok(!err.message.includes('wrong-secret'));
      return true;
    });
    assert.equal(await pool.getSystemConfig(TIERS_CONFIG_NAME), null);
    assert.equal(registry.get('WARM'), undefined);
  });

  it('refuses an invalid definition before any request', async () => {
    const before = oss.tap.log.length;
    await assert.rejects(registry.add(ossDef({ name: 'lower' })), {
      name: 'TierError',
      code: 'InvalidConfig',
    });
    await assert.rejects(registry.add(ossDef({ storageClass: 'GLACIER' })), { code: 'InvalidConfig' });
    assert.equal(oss.tap.log.length, before);
  });

  it('adds a tier after probing it: put, get, list and delete of a probe object on the wire', async () => {
    const from = oss.tap.log.length;
    const entry = await registry.add(ossDef());
    const probe = oss.tap.log
      .slice(from)
      .filter(
        (r) => r.path.includes('.tiergate-probe') || (r.query.prefix ?? '').includes('.tiergate-probe'),
      );
    assert.deepEqual(
      probe.map((r) => `${r.method} ${r.status}`),
      ['PUT 200', 'GET 200', 'GET 200', 'DELETE 204'],
    );
    assert.equal(probe[0].path, probe[1].path);
    assert.equal(probe[0].path, probe[3].path);
    assert.equal(
      oss.store.list(BUCKET, 'warm/', '', 100).objects.length,
      0,
      'the probe object was left behind',
    );
    assert.equal(entry.generation, 1);
    assert.equal(registry.get('WARM'), entry);
    assert.ok(registry.isKnownStorageClass('WARM'));
    assert.equal(registry.isKnownStorageClass('COLD'), false);
    await roundTrip(registry.get('WARM'), 'after-add');
    await assert.rejects(registry.add(ossDef()), { code: 'TierExists' });
  });

  it("refuses a tier whose prefix nests with another tier's in the same bucket (their reconcilers would clash)", async () => {
    const registry = await open();
    for (const prefix of ['', 'warm/', 'warm/deeper/']) {
      await assert.rejects(registry.add(ossDef({ name: 'NESTED', prefix })), (err: unknown) => {
        assert.ok(err instanceof TierRegistryError);
        assert.equal(err.code, 'InvalidArgument');
        assert.match(err.message, /share oss bucket .* with tier WARM under nested prefixes/);
        return true;
      });
    }
    assert.equal(registry.get('NESTED'), undefined);
    // A disjoint prefix in the same bucket is fine.
    const apart = await registry.add(ossDef({ name: 'APART', prefix: 'warmer/' }));
    assert.equal(apart.definition.prefix, 'warmer/');
    await registry.remove('APART', async () => undefined);
  });

  it('stores the document versioned, with the keys sealed: no secret on any drive', async () => {
    const doc = decodeDocument(await pool.getSystemConfig(TIERS_CONFIG_NAME));
    assert.equal(doc.format, 'tiergate.tiers');
    assert.equal(doc.version, 1);
    const [stored] = doc.tiers;
    assert.equal(stored.name, 'WARM');
    assert.equal(stored.credentials, 'static');
    assert.equal(stored.bucket, BUCKET);
    assert.ok(stored.sealed && stored.sealed.ciphertext.length > 0);
    assert.equal(stored.sealed.keyId, kms.keyId);
    const files = await walkFiles(tmp.root);
    assert.ok(files.length > 0);
    for (const file of files) {
      const bytes = readFileSync(file);
      for (const needle of [SECRET1, AK1])
        assert.equal(bytes.includes(Buffer.from(needle)), false, `${needle} found in ${file}`);
    }
  });

  it('reopens on the same drives and unseals; another master key cannot', async () => {
    const again = await open();
    const entry = again.get('WARM');
    assert.equal(entry?.definition.secretKey, SECRET1);
    assert.equal(entry?.generation, 1);
    await roundTrip(entry, 'after-reopen');
    const foreign = await open(LocalKms.fromMasterKey(randomBytes(32)));
    assert.equal(foreign.get('WARM'), undefined);
    assert.match(foreign.unavailable().get('WARM') ?? '', /master key|KeyNotFound|fingerprint/i);
    assert.ok(foreign.isKnownStorageClass('WARM'), 'the tier still exists for lifecycle rules');
    // Work on it is retried (a 503 to clients), not refused for good; a tier never stored is refused.
    assert.ok(foreign.isStored('WARM'));
    const missing = missingTier(foreign, 'WARM', (m) => new Error(m));
    assert.ok(missing instanceof TierError && missing.code === 'Unavailable' && missing.retryable);
    const unknown = missingTier(foreign, 'NOPE', (m) => new RangeError(m));
    assert.ok(unknown instanceof RangeError);
    assert.match(unknown.message, /tier NOPE is not configured/);
  });

  it('refuses a rotation to keys the cloud refuses and keeps the old ones working', async () => {
    const before = registry.get('WARM');
    await assert.rejects(registry.edit('WARM', ossDef({ accessKey: AK2, secretKey: SECRET2 })), {
      name: 'TierProbeError',
    });
    assert.equal(registry.get('WARM'), before);
    await roundTrip(registry.get('WARM'), 'after-refused-rotation');
  });

  it('refuses an edit of type, bucket or prefix, and a stale If-Match generation', async () => {
    await assert.rejects(registry.edit('WARM', ossDef({ prefix: 'other/' })), {
      code: 'InvalidArgument',
      message: /prefix cannot change/,
    });
    await assert.rejects(registry.edit('WARM', ossDef({ storageClass: 'Standard' }), { ifGeneration: 99 }), {
      code: 'PreconditionFailed',
    });
    await assert.rejects(registry.edit('NOPE', ossDef({ name: 'NOPE' })), { code: 'NoSuchTier' });
  });

  it('rotates credentials without downtime: the tier works before, during and after; the old key is revoked', async () => {
    const old = registry.get('WARM');
    assert.ok(old);
    // The cloud side of a rotation: a second key is issued, both work for a while (the server reads its
    // credential table on every request).
    credentials[AK2] = { secret: SECRET2 };
    // A long operation holding the old backend across the rotation.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const leased = registry.use('WARM', async (entry) => {
      await gate;
      await roundTrip(entry, 'leased-across-rotation');
      return entry;
    });
    let stop = false;
    let during = 0;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) {
        await roundTrip(registry.get('WARM'), `during-${i}`);
        during++;
      }
    })();
    const edited = await registry.edit('WARM', ossDef({ accessKey: AK2, secretKey: SECRET2 }), {
      ifGeneration: old.generation,
    });
    stop = true;
    await traffic;
    assert.ok(during > 0, 'no traffic ran during the rotation');
    assert.notEqual(edited.backend, old.backend);
    assert.equal(registry.get('WARM'), edited);
    assert.ok(edited.generation > old.generation);
    assert.equal(edited.definition.accessKey, AK2);
    release();
    assert.equal(await leased, old, 'the leased operation kept the entry it started with');
    // The cloud revokes the old key: the registry's tier keeps working, the old backend is refused.
    delete credentials[AK1];
    await roundTrip(registry.get('WARM'), 'after-revoke');
    await assert.rejects(old.backend.put('old-key', Readable.from([Buffer.from('x')]), { size: 1 }), {
      code: 'AccessDenied',
    });
    // Another node (a registry reopened on the drives) sees the new keys.
    const other = await open();
    assert.equal(other.get('WARM')?.definition.accessKey, AK2);
    await roundTrip(other.get('WARM'), 'other-node');
    // The same definition again is a no-op: no probe, no new generation.
    const from = oss.tap.log.length;
    const same = await registry.edit('WARM', ossDef({ accessKey: AK2, secretKey: SECRET2 }));
    assert.equal(same, edited);
    assert.equal(oss.tap.log.length, from);
  });

  it('refuses to remove a tier any version references (current, noncurrent, an intent), then removes it', async () => {
    await pool.makeBucket('photos');
    await pool.putBucketVersioning('photos', 'Enabled');
    const v1 = await pool.putObject('photos', 'cat.jpg', Readable.from([Buffer.from('v1')]), { size: 2 });
    await pool.updateObjectVersion('photos', 'cat.jpg', v1.versionId, (v) => ({
      ...v,
      tier: { tier: 'WARM', status: 'intent', remoteKey: 'rk-1' },
    }));
    await pool.putObject('photos', 'cat.jpg', Readable.from([Buffer.from('v2')]), { size: 2 }); // v1 noncurrent
    assert.deepEqual(await tierReferences(pool, 'WARM'), {
      bucket: 'photos',
      key: 'cat.jpg',
      versionId: v1.versionId,
    });
    assert.equal(await tierReferences(pool, 'OTHER'), undefined);
    let checkedWhileRemoving = false;
    await assert.rejects(
      registry.remove('WARM', async () => {
        checkedWhileRemoving =
          !registry.isKnownStorageClass('WARM') && registry.get('WARM')?.state === 'removing';
        return tierReferences(pool, 'WARM');
      }),
      (err: unknown) => {
        assert.ok(err instanceof TierRegistryError);
        assert.equal(err.code, 'TierInUse');
        assert.match(err.message, /photos\/cat\.jpg/);
        return true;
      },
    );
    assert.ok(checkedWhileRemoving, 'new transitions were not fenced off during the check');
    assert.ok(registry.isKnownStorageClass('WARM'), 'a refused removal puts the tier back');
    assert.equal(registry.get('WARM')?.state, 'active');
    await roundTrip(registry.get('WARM'), 'after-refused-removal');

    await pool.deleteObject('photos', 'cat.jpg', { versionId: v1.versionId });
    await registry.remove('WARM', () => tierReferences(pool, 'WARM'));
    assert.equal(registry.get('WARM'), undefined);
    assert.equal(registry.isKnownStorageClass('WARM'), false);
    assert.deepEqual(decodeDocument(await pool.getSystemConfig(TIERS_CONFIG_NAME)).tiers, []);
    await assert.rejects(
      registry.remove('WARM', () => Promise.resolve(false)),
      { code: 'NoSuchTier' },
    );
  });

  it('adds S3 tiers on the archive server (SigV4 checked) and on s3rver; a default-chain tier has no sealed keys', async () => {
    const s3def: TierDefinition = {
      name: 'FROZEN',
      type: 's3',
      endpoint: archive.endpoint,
      region: 'us-east-1',
      bucket: BUCKET,
      prefix: 'frozen/',
      storageClass: 'GLACIER',
      accessKey: 'AKIAREGISTRY',
      secretKey: 'wrong',
    };
    await assert.rejects(registry.add(s3def), { name: 'TierProbeError', code: 'AccessDenied' });
    const frozen = await registry.add({ ...s3def, secretKey: 'archive-secret' });
    assert.equal(frozen.definition.storageClass, 'GLACIER');
    const cold = await registry.add({
      name: 'COLD',
      type: 's3',
      endpoint: rver.endpoint,
      region: 'us-east-1',
      bucket: BUCKET,
      prefix: 'cold/',
      storageClass: 'STANDARD',
      ...S3RVER_KEYS,
    });
    await roundTrip(cold, 'on-s3rver');
    assert.deepEqual(
      registry.list().map((e) => e.definition.name),
      ['COLD', 'FROZEN'],
    );
    const doc = decodeDocument(await pool.getSystemConfig(TIERS_CONFIG_NAME));
    assert.ok(!JSON.stringify(doc).includes('archive-secret'));
    const chain = await sealTier(
      { ...s3def, name: 'ROLE', accessKey: undefined, secretKey: undefined },
      kms,
      9,
    );
    assert.equal(chain.credentials, 'default-chain');
    assert.equal(chain.sealed, undefined);
    assert.equal((await unsealTier(chain, kms)).secretKey, undefined);
  });

  it('never loses an update between two nodes writing at once, serialized by the Redis lock as the app does', async () => {
    // The app's TiersModule passes a Redis lock shared by every node (the registry's own re-read check alone is
    // best-effort: the system config has no compare-and-swap), so two nodes are two registries on that lock.
    const connection = redisClient((await sharedRedis()).port);
    try {
      const locks = new RedisLocks(connection, `${uniquePrefix('tiers')}:lock:`);
      const lock = <T>(fn: () => Promise<T>): Promise<T> => locks.withLock('tier-registry', fn);
      const node = async (): Promise<TierRegistry> => {
        const r = await TierRegistry.open(pool, kms, {
          backendOptions: { s3: { checksums: 'when-required' } },
          lock,
        });
        opened.push(r);
        return r;
      };
      const a = await node();
      const b = await node();
      const def = (name: string): TierDefinition => ({
        name,
        type: 's3',
        endpoint: rver.endpoint,
        region: 'us-east-1',
        bucket: BUCKET,
        prefix: `${name.toLowerCase()}/`,
        storageClass: 'STANDARD',
        ...S3RVER_KEYS,
      });
      const results = await Promise.allSettled([a.add(def('NODE-A')), b.add(def('NODE-B'))]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'fulfilled'],
        results.map((r) => (r.status === 'rejected' ? String(r.reason as Error) : '')).join(' '),
      );
    } finally {
      connection.disconnect();
    }
    await registry.refresh();
    assert.deepEqual(
      registry.list().map((e) => e.definition.name),
      ['COLD', 'FROZEN', 'NODE-A', 'NODE-B'],
    );
  });
});
