/**
 * Acceptance (issue 4), with @aws-sdk/client-s3 against the real app: 50 concurrent PUTs of one key in an Enabled
 * bucket make 50 versions: every id distinct, all listed, newest first in strictly decreasing LastModified order,
 * each one readable by its id with its own bytes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startGateway, versionedBucket, type TestGateway } from './harness';

describe('concurrent versioned PUTs', () => {
  let gw: TestGateway;
  let s3: S3Client;

  before(async () => {
    gw = await startGateway({ drives: 6 });
    s3 = gw.client();
  });
  after(() => gw?.close());

  it('turns 50 concurrent PUTs of one key into 50 versions, listed by time and readable by id', async () => {
    const bucket = 'concurrent-versions';
    await versionedBucket(s3, bucket);
    const bodies = Array.from({ length: 50 }, (_, i) => `body of writer ${i} `.repeat(1 + i * 40));
    const ids = await Promise.all(
      bodies.map(async (body) => {
        const res = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hot', Body: body }));
        return res.VersionId!;
      }),
    );
    assert.equal(new Set(ids).size, 50, 'every PUT got its own version id');
    assert.ok(!ids.includes('null'));

    const listing = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const versions = listing.Versions ?? [];
    assert.equal(versions.length, 50);
    assert.deepEqual(new Set(versions.map((v) => v.VersionId)), new Set(ids), 'the listed ids are the PUTs');
    for (let i = 1; i < versions.length; i++) {
      assert.ok(
        versions[i - 1].LastModified!.getTime() > versions[i].LastModified!.getTime(),
        `versions ${i - 1} and ${i} are not strictly newest first`,
      );
    }
    assert.deepEqual(
      versions.map((v) => v.IsLatest),
      versions.map((_, i) => i === 0),
    );
    for (const [i, id] of ids.entries()) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot', VersionId: id }));
      assert.equal(await res.Body!.transformToString(), bodies[i], `version ${id} holds writer ${i}'s body`);
    }
    const current = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'hot' }));
    assert.equal(current.VersionId, versions[0].VersionId, 'the current version is the newest listed');
  });
});
