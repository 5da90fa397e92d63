/**
 * Deployment-wide configuration documents (ObjectLayer.getSystemConfig / putSystemConfig, used by the tier
 * registry) on a 4+2 pool: stored on every drive, read by majority (so one drive with a stale copy is outvoted),
 * readable with a drive offline, refused without a write majority, removed with null, names checked.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { faultyPool, tempDrives } from '../../test/fixtures/temp-drives';
import type { FaultyDrive } from '../../test/fixtures/faulty-drive';
import { SYS_VOLUME, SYSTEM_CONFIG_DIR } from './layout';
import type { ErasurePool } from './pool';

describe('ObjectLayer system configuration documents', () => {
  const tmp = tempDrives(6, 'system-config');
  let pool: ErasurePool;
  let drives: FaultyDrive[];
  const path = (p: string, name: string): string => join(p, SYS_VOLUME, SYSTEM_CONFIG_DIR, name);

  before(async () => {
    ({ pool, drives } = await faultyPool(tmp.paths, { parity: 2 }));
  });
  after(async () => {
    await pool.shutdown();
    tmp.cleanup();
  });

  it('is null until stored, then on every drive, then removed', async () => {
    assert.equal(await pool.getSystemConfig('tiers'), null);
    await pool.putSystemConfig('tiers', Buffer.from('one'));
    assert.deepEqual(await pool.getSystemConfig('tiers'), Buffer.from('one'));
    assert.deepEqual(
      tmp.paths.map((p) => existsSync(path(p, 'tiers'))),
      [true, true, true, true, true, true],
    );
    await pool.putSystemConfig('tiers', null);
    assert.equal(await pool.getSystemConfig('tiers'), null);
    assert.ok(tmp.paths.every((p) => !existsSync(path(p, 'tiers'))));
  });

  it('outvotes a stale copy and reads with a drive offline', async () => {
    await pool.putSystemConfig('tiers', Buffer.from('current'));
    writeFileSync(path(tmp.paths[0], 'tiers'), 'stale');
    drives[1].mode = 'offline';
    try {
      assert.deepEqual(await pool.getSystemConfig('tiers'), Buffer.from('current'));
    } finally {
      drives[1].mode = 'ok';
    }
  });

  it('refuses a write that cannot reach a strict majority, and bad names', async () => {
    for (const d of drives.slice(0, 3)) d.mode = 'offline';
    try {
      await assert.rejects(pool.putSystemConfig('tiers', Buffer.from('x')), { code: 'WriteQuorum' });
    } finally {
      for (const d of drives) d.mode = 'ok';
    }
    await assert.rejects(pool.getSystemConfig('../escape'), { code: 'InvalidArgument' });
    await assert.rejects(pool.putSystemConfig('Upper', Buffer.from('x')), { code: 'InvalidArgument' });
  });
});
