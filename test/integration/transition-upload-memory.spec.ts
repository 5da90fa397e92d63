/**
 * The memory budget of transition uploads, over a real pool, a real redis-server, the local KMS and our S3 server
 * (SigV4 checked, multipart uploads listed): the engine runs many transitions at once, but uploads that buffer parts
 * (objects over one part go up multipart) take their buffers from a budget. With room for one such upload, three
 * large objects due together go up one after another: on the wire, no multipart upload starts before the previous
 * one completed. Small objects due with them stream through beside them. Every object arrives and reads back
 * identical.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { WireRecord } from '../fixtures/cloud/wire-tap';
import { patternBytes, patternStream, readAll } from '../fixtures/pattern-bytes';
import {
  putRules,
  startTierEngine,
  transitionRule,
  untilRemote,
  type TierEngine,
} from '../fixtures/tier-engine';

const KiB = 1024;
const MiB = 1024 * KiB;
const BUCKET = 'budget';
/** Over the S3 backend's default 8 MiB part: a multipart upload of two parts. */
const LARGE = 9 * MiB;
const SMALL = 200 * KiB;
/** Room for one multipart upload's part buffers at the S3 backend's defaults (2 parts of 8 MiB), not for two. */
const BUDGET = 16 * MiB;

/** The most multipart uploads open at once, from the order their first and last requests reached the server. */
function mostOpenAtOnce(log: readonly WireRecord[]): number {
  let open = 0;
  let most = 0;
  for (const r of log) {
    if (r.method === 'POST' && 'uploads' in r.query) most = Math.max(most, ++open);
    else if ((r.method === 'POST' || r.method === 'DELETE') && r.query.uploadId !== undefined) open--;
  }
  return most;
}

describe('the memory budget of transition uploads', { timeout: 180_000 }, () => {
  let t: TierEngine | undefined;

  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('uploads large objects one at a time when the budget holds one, and moves every object intact', async () => {
    t = await startTierEngine('s3-archive', ['COLD'], { transitionUploadMemory: BUDGET });
    const backend = t.backends.COLD;
    assert.equal(backend.putMemory(SMALL + KiB), 0, 'a small object streams through: it needs no budget');
    const each = backend.putMemory(LARGE + KiB);
    assert.ok(
      each <= BUDGET && 2 * each > BUDGET,
      `one large upload (${each} bytes) fits the budget, two do not`,
    );

    await t.pool.makeBucket(BUCKET);
    const objects = [
      ...[1, 2, 3].map((i) => ({ key: `large-${i}`, size: LARGE, seed: i })),
      ...[4, 5, 6, 7, 8, 9].map((i) => ({ key: `small-${i}`, size: SMALL, seed: i })),
    ];
    for (const o of objects) {
      await t.pool.putObject(BUCKET, o.key, patternStream(o.seed, o.size), { size: o.size });
    }
    await putRules(t.pool, BUCKET, ['COLD'], transitionRule('all', 'COLD'));
    for (const o of objects) await untilRemote(t.pool, BUCKET, o.key);

    const log = t.tap.log.filter((r) => r.path.includes('/cold/'));
    const creates = log.filter((r) => r.method === 'POST' && 'uploads' in r.query);
    assert.equal(creates.length, 3, 'each large object went up multipart, once');
    assert.equal(mostOpenAtOnce(log), 1, 'no multipart upload started before the previous one completed');
    const singles = log.filter((r) => r.method === 'PUT' && r.query.partNumber === undefined);
    assert.equal(singles.length, 6, 'each small object went up as one PutObject');
    for (const o of objects) {
      const got = await readAll((await t.pool.getObject(BUCKET, o.key)).stream);
      assert.ok(got.equals(patternBytes(o.seed, 0, o.size)), `${o.key} reads back identical`);
    }
  });
});
