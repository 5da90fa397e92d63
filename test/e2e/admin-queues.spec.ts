/**
 * End to end: GET /tiergate/admin/v1/queues on a running gateway answers root-signed requests with the counts per
 * state of every queue (a job added to the gateway's queues shows up), and refuses unsigned, wrongly signed and
 * body-carrying requests. POST /tiergate/admin/v1/queues/{kind}/retry puts a queue's failed jobs back to work with
 * a fresh count of attempts (the gateway's own workers run them again), answers 404 NoSuchQueue for an unknown
 * kind and refuses unsigned requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { JobQueues } from '../../src/lifecycle/queues/job-queues';
import { JOB_KINDS } from '../../src/lifecycle/queues/job-types';
import { until } from '../fixtures/poll';
import { sharedRedis, uniquePrefix } from '../fixtures/redis-server';
import { startGateway, type TestGateway } from './harness';

const PATH = '/tiergate/admin/v1/queues';

describe('GET /tiergate/admin/v1/queues', () => {
  let gateway: TestGateway;
  let connection: Redis;
  let queues: JobQueues;

  before(async () => {
    const prefix = uniquePrefix('admin');
    gateway = await startGateway({ env: { TIERGATE_QUEUE_PREFIX: prefix } });
    connection = new Redis((await sharedRedis()).url, { maxRetriesPerRequest: null });
    queues = new JobQueues({ connection, prefix });
  });
  after(async () => {
    await queues?.close();
    connection?.disconnect();
    await gateway?.close();
  });

  it('reports every queue with a count per state', async () => {
    const res = await gateway.signed({ method: 'GET', path: PATH });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'], /application\/json/);
    const body = JSON.parse(res.text) as { queues: Record<string, Record<string, number>> };
    assert.deepEqual(Object.keys(body.queues).sort(), [...JOB_KINDS].sort());
    for (const counts of Object.values(body.queues)) {
      assert.deepEqual(counts, {
        waiting: 0,
        delayed: 0,
        active: 0,
        prioritized: 0,
        completed: 0,
        failed: 0,
      });
    }
  });

  it('counts jobs in the gateway queues', async () => {
    const job = { bucket: 'b', key: 'k', versionId: 'v', action: 'expire-current', dueAt: 1 } as const;
    await queues.add('expire', job, { delay: 3_600_000 });
    const res = await gateway.signed({ method: 'GET', path: PATH });
    const body = JSON.parse(res.text) as { queues: Record<string, Record<string, number>> };
    assert.equal(body.queues.expire.delayed, 1);
    assert.equal(body.queues.scan.delayed, 0);
  });

  it('refuses an unsigned request', async () => {
    const res = await gateway.unsigned({ method: 'GET', path: PATH });
    assert.equal(res.status, 403, res.text);
    assert.equal((JSON.parse(res.text) as { code: string }).code, 'AccessDenied');
  });

  it('refuses a request signed with other credentials', async () => {
    const credentials = { accessKeyId: gateway.credentials.accessKeyId, secretAccessKey: 'not-the-secret' };
    const res = await gateway.signed({ method: 'GET', path: PATH }, { credentials });
    assert.equal(res.status, 403, res.text);
    assert.equal((JSON.parse(res.text) as { code: string }).code, 'SignatureDoesNotMatch');
    const unknown = await gateway.signed(
      { method: 'GET', path: PATH },
      { credentials: { accessKeyId: 'someone-else', secretAccessKey: 'whatever-secret' } },
    );
    assert.equal(unknown.status, 403, unknown.text);
  });

  it('refuses a signed request with a body', async () => {
    const res = await gateway.signed({ method: 'GET', path: PATH, body: 'x' });
    assert.equal(res.status, 400, res.text);
  });

  it('retries the failed jobs of a queue with a fresh count of attempts', async () => {
    // A job no retry can fix (a bucket name S3 refuses): the gateway's worker fails it at once.
    const job = {
      bucket: 'Not_A_Bucket',
      key: 'k',
      versionId: 'v',
      action: 'expire-current',
      dueAt: 2,
    } as const;
    const id = await queues.add('expire', job);
    const first = await until('the job to fail', async () => {
      const j = await queues.queue('expire').getJob(id);
      return j && (await j.isFailed()) ? j : undefined;
    });
    assert.equal(first.attemptsMade, 1);
    const res = await gateway.signed({ method: 'POST', path: `${PATH}/expire/retry` });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(JSON.parse(res.text), { queue: 'expire', retried: 1 });
    // Run again by the gateway's worker: failed again, on its first attempt of the new count.
    const again = await until('the job to run again and fail', async () => {
      const j = await queues.queue('expire').getJob(id);
      return j && (await j.isFailed()) && j.finishedOn! > first.finishedOn! ? j : undefined;
    });
    assert.equal(again.attemptsMade, 1, 'the attempts start over');
    const none = await gateway.signed({ method: 'POST', path: `${PATH}/transition/retry` });
    assert.deepEqual(JSON.parse(none.text), { queue: 'transition', retried: 0 });
  });

  it('answers 404 NoSuchQueue for a queue that does not exist, and refuses unsigned retries', async () => {
    const res = await gateway.signed({ method: 'POST', path: `${PATH}/heal-everything/retry` });
    assert.equal(res.status, 404, res.text);
    assert.equal((JSON.parse(res.text) as { code: string }).code, 'NoSuchQueue');
    const unsigned = await gateway.unsigned({ method: 'POST', path: `${PATH}/expire/retry` });
    assert.equal(unsigned.status, 403, unsigned.text);
  });
});
