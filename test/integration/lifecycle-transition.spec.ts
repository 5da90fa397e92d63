/**
 * Transitions through the lifecycle engine over a real pool, a real redis-server, the local KMS and real tier
 * backends on our offline cloud servers (the OSS server that verifies V4 signatures, and s3rver), without HTTP:
 * - objects of 0 B, 200 KiB, 5 MiB and 20 MiB under a Transition rule (1-second days) end up in the tier: the
 *   version reports the tier as its storage class, its local shards are gone from every drive, and the bytes in the
 *   cloud contain no 64-byte window of the plaintext;
 * - GET reads them back identical through the tier, and a 1 MiB range of the 20 MiB object fetches one ranged
 *   request of at most 1 MiB plus two envelope packages (from the server's request log);
 * - a version overwritten before its transition is not transitioned (the re-check under the lock).
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { PACKAGE_SIZE, TAG_LENGTH } from '../../src/kms/envelope/envelope-format';
import { LocalKms } from '../../src/kms/local-kms';
import { LifecycleEngine } from '../../src/lifecycle/engine/lifecycle-engine';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { createTierBackend } from '../../src/tiers/create-tier-backend';
import type { TierBackend } from '../../src/tiers/tier-backend';
import { fixedTiers } from '../../src/tiers/read-through';
import { tierRecordOf } from '../../src/tiers/tier-state';
import { startOssServer, type OssServer } from '../fixtures/cloud/oss-server';
import { S3RVER_KEYS, startS3rver, type S3rverServer } from '../fixtures/cloud/s3rver-server';
import type { WireTap } from '../fixtures/cloud/wire-tap';
import { doc, parse, rule } from '../fixtures/lifecycle-docs';
import { findPlaintextLeak } from '../fixtures/plaintext-leak';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import { redisClient, sharedRedis, uniquePrefix } from '../fixtures/redis-server';
import { tempDrives } from '../fixtures/temp-drives';
import { until } from '../fixtures/poll';

const KiB = 1024;
const MiB = 1024 * KiB;
const BUCKET = 'tier-bucket';
const AK = 'LTAI5tTransitionTest';
const SECRET = 'oss-transition-secret-0123456789';

/** Every data directory (`%d.*`) under a drive's copy of `bucket`. */
function dataDirs(root: string, bucket: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (!statSync(p).isDirectory()) continue;
      if (n.startsWith('%d.')) out.push(p);
      else walk(p);
    }
  };
  walk(join(root, bucket));
  return out;
}

for (const cloud of ['oss', 's3'] as const) {
  describe(`transitions to an ${cloud} tier through the engine`, { timeout: 240_000 }, () => {
    const tmp = tempDrives(4, `transition-${cloud}`);
    let pool: ErasurePool;
    let redis: Redis;
    let queues: JobQueues;
    let engine: LifecycleEngine;
    let backend: TierBackend;
    let tap: WireTap;
    let oss: OssServer | undefined;
    let rver: S3rverServer | undefined;
    const kms = LocalKms.fromMasterKey(Buffer.alloc(32, 7));
    const sizes = [0, 200 * KiB, 5 * MiB, 20 * MiB];

    before(async () => {
      if (cloud === 'oss') {
        oss = await startOssServer({ buckets: [BUCKET], credentials: { [AK]: { secret: SECRET } } });
        tap = oss.tap;
        backend = createTierBackend({
          name: 'COLD',
          type: 'oss',
          endpoint: oss.endpoint,
          region: 'oss-cn-hangzhou',
          bucket: BUCKET,
          prefix: 'tiergate/',
          storageClass: 'Standard',
          accessKey: AK,
          secretKey: SECRET,
        });
      } else {
        rver = await startS3rver([BUCKET]);
        tap = rver.tap;
        backend = createTierBackend(
          {
            name: 'COLD',
            type: 's3',
            endpoint: rver.endpoint,
            region: 'us-east-1',
            bucket: BUCKET,
            prefix: 'tiergate/',
            storageClass: 'STANDARD',
            ...S3RVER_KEYS,
          },
          { s3: { checksums: 'when-required' } },
        );
      }
      pool = await openObjectLayer({ drives: tmp.paths, setDriveCount: 4, parity: 2, fsync: false });
      redis = redisClient((await sharedRedis()).port);
      const prefix = uniquePrefix('transition');
      queues = new JobQueues({ connection: redis, prefix });
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
    });
    after(async () => {
      await engine?.close();
      await queues?.close();
      redis?.disconnect();
      backend?.close();
      await pool?.shutdown();
      await oss?.close();
      await rver?.close();
      tmp.cleanup();
    });

    it('moves 0 B to 20 MiB objects to the tier, releases their shards, reads them back', async () => {
      // A size filter, so objects under 128 KiB are transitioned too (as on AWS).
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
      for (const size of sizes) {
        await pool.putObject('data', `obj-${size}`, patternStream(size + 1, size), { size });
      }
      // Overwritten before its transition: the first version must never go (unversioned: replaced).
      await pool.putObject('data', 'changing', patternStream(1, 300 * KiB), { size: 300 * KiB });
      await pool.putObject('data', 'changing', patternStream(2, 300 * KiB), { size: 300 * KiB });

      for (const size of sizes) {
        const info = await until(`obj-${size} in the tier`, async () => {
          const i = await pool.getObjectInfo('data', `obj-${size}`);
          if (i.remote) return i;
          const failed = await queues.queue('transition').getFailed();
          assert.deepEqual(
            failed.map((j) => j.failedReason),
            [],
            'no transition fails',
          );
          return undefined;
        });
        assert.equal(info.storageClass, 'COLD');
        const record = tierRecordOf(info);
        assert.equal(record?.status, 'transitioned');
        const plain = patternBytes(size + 1, 0, size);
        const cipher = await readAll(await backend.get(record.remoteKey));
        assert.equal(cipher.length, record?.status === 'transitioned' ? record.cipherSize : -1);
        assert.equal(
          findPlaintextLeak(cipher, size, (at, n) => plain.subarray(at, at + n)),
          undefined,
          `the ${size}-byte object's plaintext is in the cloud`,
        );
        const got = await readAll((await pool.getObject('data', `obj-${size}`)).stream);
        assert.ok(got.equals(plain), `obj-${size} reads back identical`);
      }
      for (const root of tmp.paths)
        assert.deepEqual(
          dataDirs(root, 'data').filter((d) => d.includes('obj-')),
          [],
        );

      // A 1 MiB range of the 20 MiB object: one ranged GET, at most 1 MiB + two packages.
      const big = 20 * MiB;
      const start = 7 * MiB + 12_345;
      const mark = tap.log.length;
      const part = await readAll(
        (await pool.getObject('data', `obj-${big}`, { range: { start, end: start + MiB - 1 } })).stream,
      );
      assert.ok(part.equals(patternBytes(big + 1, start, MiB)));
      const gets = tap.log.slice(mark).filter((r) => r.method === 'GET');
      assert.equal(gets.length, 1, JSON.stringify(gets));
      assert.ok(gets[0].range, 'the fetch is ranged');
      assert.ok(
        gets[0].bytesOut <= MiB + 2 * (PACKAGE_SIZE + TAG_LENGTH),
        `fetched ${gets[0].bytesOut} bytes for a 1 MiB range`,
      );

      const changing = await pool.getObjectInfo('data', 'changing');
      const current = await readAll((await pool.getObject('data', 'changing')).stream);
      assert.ok(current.equals(patternBytes(2, 0, 300 * KiB)), 'the overwrite is what reads back');
      assert.ok(changing.remote === undefined || tierRecordOf(changing)?.status === 'transitioned');
    });
  });
}
