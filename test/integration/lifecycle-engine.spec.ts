/**
 * The lifecycle engine over a real pool and a real redis-server, without HTTP: the change listener schedules and
 * the worker expires; a job that runs before its action is due acts only once it is due (never early, never
 * dropped); a job whose bucket configuration cannot be read fails at once (UnrecoverableError: no retry
 * can fix it) and stays failed with its reason, leaving the object alone. (Retries with backoff of failures a
 * retry may fix are shown in queues.spec.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { LifecycleEngine } from '../../src/lifecycle/engine/lifecycle-engine';
import type { JobQueues } from '../../src/lifecycle/queues/job-queues';
import { encodeLifecycle } from '../../src/lifecycle/rules/stored-lifecycle';
import type { ErasurePool } from '../../src/storage/pool';
import { parse, doc, rule } from '../fixtures/lifecycle-docs';
import { startPlainEngine, type PlainEngine } from '../fixtures/plain-engine';
import { redisClient, sharedRedis } from '../fixtures/redis-server';
import { streamOf, tempDrives } from '../fixtures/temp-drives';
import { until as pollUntil } from '../fixtures/poll';

const until = <T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> =>
  pollUntil(what, check, ms, 50);

describe('lifecycle engine on a pool and redis-server', () => {
  const tmp = tempDrives(4, 'lifecycle-engine');
  let pool: ErasurePool;
  let redis: Redis;
  let queues: JobQueues;
  let engine: LifecycleEngine;
  const outcomes: string[] = [];

  let rig: PlainEngine | undefined;

  before(async () => {
    redis = redisClient((await sharedRedis()).port);
    rig = await startPlainEngine(tmp.paths, redis, {
      label: 'engine',
      daySeconds: 1,
      queueSettings: { jobDefaults: { backoff: { type: 'fixed', delay: 50 } } },
      onOutcome: (kind, action, outcome) => outcomes.push(`${kind}/${action}/${outcome}`),
    });
    ({ pool, queues, engine } = rig);
    await pool.makeBucket('bkt');
  });
  after(async () => {
    await rig?.close();
    redis?.disconnect();
    tmp.cleanup();
  });

  it('expires through the engine alone (the change listener schedules, the worker acts)', async () => {
    await pool.putBucketLifecycle(
      'bkt',
      encodeLifecycle(
        parse(
          doc(
            rule(
              '<ID>e</ID><Filter></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>',
            ),
          ),
        ),
      ),
    );
    await pool.putObject('bkt', 'short', streamOf(Buffer.from('x')), { size: 1 });
    await until('the object to expire', async () =>
      (await pool.listObjects('bkt')).objects.length === 0 ? true : undefined,
    );
    // The outcome is recorded when the job returns, a moment after the delete itself.
    await until('the expiration to be counted as done', async () =>
      outcomes.includes('expire/expire-current/done') ? true : undefined,
    );
  });

  it('never acts before the due time, and runs a job that came early again when it is due', async () => {
    await pool.putBucketLifecycle(
      'bkt',
      encodeLifecycle(
        parse(
          doc(
            rule(
              '<ID>e3</ID><Filter><Prefix>early/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration>',
            ),
          ),
        ),
      ),
    );
    const info = await pool.putObject('bkt', 'early/one', streamOf(Buffer.from('x')), { size: 1 });
    const dueAt = Date.parse((await engine.explain('bkt', 'early/one')).versions[0].next!.dueAt);
    assert.ok(dueAt - Date.now() > 2_000, 'due a few seconds from now');
    // A job for the same action, queued to run now (another identity: dueAt 0): the action is right but early.
    const id = await queues.add('expire', {
      bucket: 'bkt',
      key: 'early/one',
      versionId: info.versionId,
      action: 'expire-current',
      dueAt: 0,
    });
    await until('the early job to be put back', async () =>
      (await queues.queue('expire').getJobState(id)) === 'delayed' ? true : undefined,
    );
    assert.equal(
      (await pool.getObjectInfo('bkt', 'early/one')).versionId,
      info.versionId,
      'not expired early',
    );
    await until('the object to expire at its due time', async () =>
      (await pool.getObjectVersions('bkt', 'early/one')).length === 0 ? true : undefined,
    );
    assert.ok(Date.now() >= dueAt, 'expired at or after its due time');
    const job = await until('the early job to complete', async () =>
      (await queues.queue('expire').getJobState(id)) === 'completed'
        ? queues.queue('expire').getJob(id)
        : undefined,
    );
    assert.equal(job?.failedReason ?? '', '', 'the early job never failed');
    await pool.deleteBucketLifecycle('bkt');
  });

  it('fails a job at once when the stored configuration is unreadable, and explains why', async () => {
    await pool.putBucketLifecycle(
      'bkt',
      encodeLifecycle(
        parse(
          doc(
            rule(
              '<ID>v</ID><Filter><Prefix>victim</Prefix></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>',
            ),
          ),
        ),
      ),
    );
    await pool.putObject('bkt', 'victim', streamOf(Buffer.from('x')), { size: 1 });
    const explained = await engine.explain('bkt', 'victim');
    const dueAt = Date.parse(explained.versions[0].next!.dueAt);
    // The configuration rots on the drives before the job runs.
    await pool.putBucketLifecycle('bkt', Buffer.from('{"format":"tiergate.bucket-lifecycle","version":99}'));
    const versionId = explained.versions[0].versionId;
    const id = await queues.add('expire', {
      bucket: 'bkt',
      key: 'victim',
      versionId,
      action: 'expire-current',
      dueAt,
    });
    const job = await until('the job to fail', async () => {
      const j = await queues.queue('expire').getJob(id);
      return j && (await j.getState()) === 'failed' ? j : undefined;
    });
    assert.equal(job.attemptsMade, 1, 'an unrecoverable failure is not retried');
    assert.match(job.failedReason, /lifecycle configuration of bucket bkt is unreadable/);
    await until('the failure to be counted', async () =>
      outcomes.includes('expire/expire-current/failed') ? true : undefined,
    );
    await pool.getObjectInfo('bkt', 'victim'); // untouched
    await pool.deleteBucketLifecycle('bkt');
  });
});
