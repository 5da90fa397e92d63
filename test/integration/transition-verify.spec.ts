/**
 * How a transition checks what the cloud stored before it commits, over a real pool, a real redis-server, the local
 * KMS and our S3 server (SigV4 checked) set to misbehave as real buckets can:
 * - a bucket whose ETags are no MD5 of the data (SSE-KMS default encryption): the PutObject answer is no receipt,
 *   so the transition asks with a HEAD (exact length, the same ETag) and then commits;
 * - a cloud that stores a torn body and answers for what it stored: the ETag is not the MD5 of the bytes sent and
 *   the HEAD shows the short length, so no attempt commits; the version stays local and reads back identical.
 * (The e2e tiering suite shows the other side: a single PutObject answered with the MD5 of the bytes is not
 * followed by a HEAD.)
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { tierRecordOf } from '../../src/tiers/tier-state';
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
const BUCKET = 'verify';

describe('verifying a transition upload before its commit', { timeout: 120_000 }, () => {
  let t: TierEngine | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Methods the cloud saw on the remote objects of the tier (every attempt's key), in order. */
  const methods = (engine: TierEngine): string[] =>
    engine.tap.log.filter((r) => r.path.includes('/cold/')).map((r) => r.method);

  it('checks with a HEAD when the ETag is not the MD5 of the bytes sent, then commits', async () => {
    t = await startTierEngine('s3-archive', ['COLD'], { archive: { opaqueEtags: true } });
    await t.pool.makeBucket(BUCKET);
    await t.pool.putObject(BUCKET, 'kms', patternStream(1, SIZE), { size: SIZE });
    await putRules(t.pool, BUCKET, ['COLD'], transitionRule('cold', 'COLD'));
    const remote = await untilRemote(t.pool, BUCKET, 'kms');
    const record = tierRecordOf(remote)!;
    assert.equal(record.status, 'transitioned');
    assert.deepEqual(methods(t), ['PUT', 'HEAD'], 'one upload, then a HEAD to verify it');
    assert.ok(
      (await readAll((await t.pool.getObject(BUCKET, 'kms')).stream)).equals(patternBytes(1, 0, SIZE)),
    );
  });

  it('never commits a torn upload: the version stays local and readable', async () => {
    t = await startTierEngine('s3-archive', ['COLD'], { archive: { tornPuts: 1000 } });
    await t.pool.makeBucket(BUCKET);
    const info = await t.pool.putObject(BUCKET, 'torn', patternStream(2, SIZE), { size: SIZE });
    await putRules(t.pool, BUCKET, ['COLD'], transitionRule('cold', 'COLD'));
    const engine = t;
    await until('two attempts to be refused', async () =>
      methods(engine).filter((m) => m === 'HEAD').length >= 2 ? true : undefined,
    );
    // Each attempt uploaded, was not taken at its word, and was refused by the HEAD's length.
    assert.deepEqual(methods(t).slice(0, 4), ['PUT', 'HEAD', 'PUT', 'HEAD']);
    await delay(200);
    const now = await t.pool.getObjectInfo(BUCKET, 'torn');
    assert.equal(now.remote, undefined, 'still local');
    assert.notEqual(tierRecordOf(now)?.status, 'transitioned');
    assert.equal(now.etag, info.etag);
    assert.ok(
      (await readAll((await t.pool.getObject(BUCKET, 'torn')).stream)).equals(patternBytes(2, 0, SIZE)),
    );
  });
});
