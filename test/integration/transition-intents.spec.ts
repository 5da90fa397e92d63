/**
 * Intents no attempt will follow up are dropped, so they cannot keep a tier referenced (a referenced tier cannot be
 * removed). Over a real pool, a real redis-server, the local KMS and the OSS test server. Each case plants the
 * intent a crashed attempt leaves (`transitioning`, a remote key, no remote object) on a local version, then:
 * - the transition job finds the transition no longer asked for (the bucket's rules removed): it completes as
 *   skipped and the intent is gone; the version still reads back identical, as STANDARD;
 * - the transition job fails for good (its rule names a tier this gateway does not have): the job fails, and the
 *   intent is gone;
 * - the transition goes ahead: the committed record replaces the old intent (the old key is never committed).
 * In each case the tier ends unreferenced (`tierReferences`, the check a tier removal runs) or referenced only by
 * the committed transition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ObjectInfo } from '../../src/storage/object-layer';
import { tierReferences } from '../../src/tiers/tier-references';
import { newRemoteKey, tierRecordOf } from '../../src/tiers/tier-state';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import {
  putRules,
  startTierEngine,
  transitionRule,
  until,
  untilRemote,
  type TierEngine,
} from '../fixtures/tier-engine';

const SIZE = 200 * 1024;

describe('transition intents left by a crashed attempt', { timeout: 120_000 }, () => {
  let t: TierEngine;

  before(async () => {
    t = await startTierEngine('oss', ['COLD']);
  });
  after(async () => {
    await t?.close();
  });

  /** Writes `key` and plants a crashed attempt's intent to `tier` on it; returns the version and the intent's key. */
  async function withIntent(
    bucket: string,
    key: string,
    seed: number,
    tier: string,
  ): Promise<{ info: ObjectInfo; remoteKey: string }> {
    const info = await t.pool.putObject(bucket, key, patternStream(seed, SIZE), { size: SIZE });
    const remoteKey = newRemoteKey();
    await t.pool.updateObjectVersion(bucket, key, info.versionId, (cur) => ({
      ...cur,
      tier: { tier, status: 'transitioning', remoteKey, startedAt: Date.now() - 3_600_000 },
    }));
    const planted = await t.pool.getObjectInfo(bucket, key);
    assert.equal(tierRecordOf(planted)?.remoteKey, remoteKey, 'the intent is planted');
    return { info, remoteKey };
  }

  it('a transition no longer asked for drops the intent', async () => {
    await t.pool.makeBucket('skipped');
    const { info } = await withIntent('skipped', 'k', 1, 'COLD');
    assert.deepEqual(await tierReferences(t.pool, 'COLD'), {
      bucket: 'skipped',
      key: 'k',
      versionId: info.versionId,
    });
    // The job a rule queued before it was removed (no rules now).
    const id = await t.queues.add('transition', {
      bucket: 'skipped',
      key: 'k',
      versionId: info.versionId,
      action: 'transition',
      storageClass: 'COLD',
      dueAt: Date.now() - 1000,
    });
    await until('the job completes', async () =>
      (await t.queues.queue('transition').getJobState(id)) === 'completed' ? true : undefined,
    );
    const after = await t.pool.getObjectInfo('skipped', 'k');
    assert.equal(after.tier, undefined, 'the intent is gone');
    assert.equal(after.storageClass, 'STANDARD');
    assert.equal(after.remote, undefined);
    assert.ok(
      (await readAll((await t.pool.getObject('skipped', 'k')).stream)).equals(patternBytes(1, 0, SIZE)),
    );
    assert.equal(await tierReferences(t.pool, 'COLD'), undefined, 'nothing references the tier');
  });

  it('a transition that fails for good drops the intent', async () => {
    await t.pool.makeBucket('refused');
    const { info } = await withIntent('refused', 'k', 2, 'GONE');
    // A rule naming a tier this gateway does not have: the job is refused, for good.
    await putRules(t.pool, 'refused', ['GONE'], transitionRule('gone', 'GONE'));
    const failed = await until('the transition job fails', async () => {
      const jobs = await t.queues.queue('transition').getFailed();
      return jobs.find((j) => (j.data as { versionId: string }).versionId === info.versionId);
    });
    assert.match(failed.failedReason, /GONE/);
    assert.equal(failed.attemptsMade, 1, 'failed at once, not retried');
    const after = await t.pool.getObjectInfo('refused', 'k');
    assert.equal(after.tier, undefined, 'the intent is gone');
    assert.equal(await tierReferences(t.pool, 'GONE'), undefined);
    assert.ok(
      (await readAll((await t.pool.getObject('refused', 'k')).stream)).equals(patternBytes(2, 0, SIZE)),
    );
  });

  it('a transition that goes ahead replaces the old intent with its own committed record', async () => {
    await t.pool.makeBucket('moved');
    const { info, remoteKey } = await withIntent('moved', 'k', 3, 'COLD');
    await putRules(t.pool, 'moved', ['COLD'], transitionRule('cold', 'COLD'));
    const remote = await untilRemote(t.pool, 'moved', 'k', info.versionId);
    const record = tierRecordOf(remote);
    assert.equal(record?.status, 'transitioned');
    assert.notEqual(record?.remoteKey, remoteKey, 'a fresh key, never the crashed attempt’s');
    assert.equal(await t.backends.COLD.head(remoteKey), null, 'nothing was ever written under the old key');
    assert.ok(
      (await readAll((await t.pool.getObject('moved', 'k')).stream)).equals(patternBytes(3, 0, SIZE)),
    );
  });
});
