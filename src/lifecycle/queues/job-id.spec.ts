import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jobId } from './job-id';
import type { ExpireJob } from './job-types';

const job: ExpireJob = { bucket: 'b', key: 'k', versionId: 'v', action: 'expire-current', dueAt: 1000 };

describe('jobId', () => {
  it('is the same for the same identity and differs when any part differs', () => {
    assert.equal(jobId('expire', job), jobId('expire', { ...job }));
    const variants: ExpireJob[] = [
      { ...job, bucket: 'b2' },
      { ...job, key: 'k2' },
      { ...job, versionId: 'v2' },
      { ...job, action: 'expire-noncurrent' },
      { ...job, dueAt: 1001 },
      { ...job, bucket: 'b/k', key: '' },
    ];
    const ids = new Set([jobId('expire', job), ...variants.map((v) => jobId('expire', v))]);
    assert.equal(ids.size, variants.length + 1);
  });

  it('is a valid BullMQ 6 custom id for any key: no ":" and never an integer', () => {
    for (const key of [':', 'a:b:c', '12', '', 'ключ/with spaces', '\u0000']) {
      const id = jobId('expire', { ...job, key });
      assert.ok(!id.includes(':'), id);
      assert.notEqual(`${parseInt(id, 10)}`, id);
      assert.match(id, /^expire-[A-Za-z0-9_-]{43}$/);
    }
  });

  it('names the kind, so equal tuples of different kinds never collide', () => {
    const scan = jobId('scan', { reason: 'rules', slot: 5 });
    assert.match(scan, /^scan-/);
    assert.notEqual(
      jobId('abort-multipart', { bucket: 'b', key: 'k', uploadId: 'u', dueAt: 1 }),
      jobId('expire', { ...job, versionId: 'u', dueAt: 1 }),
    );
  });
});
