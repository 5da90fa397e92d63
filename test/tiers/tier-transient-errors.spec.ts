/**
 * Cloud answers a later attempt cures are retryable TierErrors even when their status is a 4xx, and refusals that
 * need a person stay permanent: the S3 tier on our archive S3 server (SigV4 verified; the SDK's own retries off)
 * and the OSS tier on our OSS server (V4 verified), each answering one request with an injected error (the wire
 * tap's `failNext`):
 * - PutObject answered 400 RequestTimeout, or 409 OperationAborted: Unavailable, retryable;
 * - a multipart put whose first part is answered 404 NoSuchUpload (the upload aborted under it): Unavailable,
 *   retryable, and no upload is left open on the server;
 * - PutObject answered 403 AccessDenied: permanent.
 * After each, the same put goes through and reads back.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AlibabaOssTier } from '../../src/tiers/alibaba-oss-tier';
import { AwsS3Tier } from '../../src/tiers/aws-s3-tier';
import type { TierBackend } from '../../src/tiers/tier-backend';
import { TierError } from '../../src/tiers/tier-error';
import { startOssServer } from '../fixtures/cloud/oss-server';
import { startS3ArchiveServer } from '../fixtures/cloud/s3-archive-server';
import type { WireRecord, WireTap } from '../fixtures/cloud/wire-tap';
import { patternBytes, readAll } from '../fixtures/pattern-bytes';

const MiB = 1024 * 1024;
const BUCKET = 'tier-bucket';
const PART = 5 * MiB;

interface Target {
  backend: TierBackend;
  tap: WireTap;
  openUploads: () => number;
  close: () => Promise<void>;
}

/** A backend on one of our servers (both expose the wire tap and their store's open uploads). */
function target(
  backend: TierBackend,
  server: { tap: WireTap; store: { openUploads(): number }; close(): Promise<void> },
): Target {
  return {
    backend,
    tap: server.tap,
    openUploads: () => server.store.openUploads(),
    close: async () => {
      backend.close();
      await server.close();
    },
  };
}

const targets: Record<string, () => Promise<Target>> = {
  'aws-s3': async () => {
    const server = await startS3ArchiveServer({
      buckets: [BUCKET],
      credentials: { AKIATRANSIENT: 'transient-secret' },
      region: 'eu-west-1',
    });
    const backend = new AwsS3Tier(
      {
        name: 'WARM',
        type: 's3',
        endpoint: server.endpoint,
        region: 'eu-west-1',
        bucket: BUCKET,
        prefix: 'warm/',
        storageClass: 'STANDARD',
        accessKey: 'AKIATRANSIENT',
        secretKey: 'transient-secret',
      },
      { maxAttempts: 1, partSize: PART },
    );
    return target(backend, server);
  },
  'alibaba-oss': async () => {
    const server = await startOssServer({
      buckets: [BUCKET],
      credentials: { LTAI5tTransient: { secret: 'transient-oss-secret' } },
    });
    const backend = new AlibabaOssTier(
      {
        name: 'OSS-WARM',
        type: 'oss',
        endpoint: server.endpoint,
        region: 'cn-hangzhou',
        bucket: BUCKET,
        prefix: 'warm/',
        storageClass: 'Standard',
        accessKey: 'LTAI5tTransient',
        secretKey: 'transient-oss-secret',
      },
      { partSize: PART },
    );
    return target(backend, server);
  },
};

/** The PUT of a whole object (no uploadId, not a part). */
const wholePut = (r: WireRecord): boolean =>
  r.method === 'PUT' && r.query.uploadId === undefined && r.query.partNumber === undefined;
/** The PUT of a multipart upload's part. */
const partPut = (r: WireRecord): boolean => r.method === 'PUT' && r.query.uploadId !== undefined;

async function putFails(backend: TierBackend, key: string, bytes: Buffer): Promise<TierError> {
  try {
    await backend.put(key, Readable.from([bytes]), { size: bytes.length });
  } catch (err) {
    assert.ok(err instanceof TierError, `a TierError, not ${String(err)}`);
    return err;
  }
  assert.fail('the put succeeded although the cloud refused it');
}

async function putsAndReadsBack(backend: TierBackend, key: string, bytes: Buffer): Promise<void> {
  await backend.put(key, Readable.from([bytes]), { size: bytes.length });
  assert.ok((await readAll(await backend.get(key))).equals(bytes), `${key} reads back`);
}

for (const [name, start] of Object.entries(targets)) {
  describe(`${name}: cloud errors a retry cures`, { timeout: 60_000 }, () => {
    let t: Target;
    before(async () => {
      t = await start();
    });
    after(async () => {
      await t?.close();
    });

    for (const [status, code] of [
      [400, 'RequestTimeout'],
      [409, 'OperationAborted'],
    ] as const) {
      it(`a PutObject answered ${status} ${code} is retryable`, async () => {
        const bytes = patternBytes(status, 0, 64 * 1024);
        t.tap.failNext({ match: wholePut, status, code });
        const err = await putFails(t.backend, `small-${code}`, bytes);
        assert.equal(err.code, 'Unavailable', err.message);
        assert.equal(err.retryable, true);
        assert.equal(err.details.cloudCode, code);
        await putsAndReadsBack(t.backend, `small-${code}`, bytes);
      });
    }

    it('a multipart put whose upload vanished (NoSuchUpload) is retryable and leaves no upload open', async () => {
      const bytes = patternBytes(7, 0, PART + MiB);
      t.tap.failNext({ match: partPut, status: 404, code: 'NoSuchUpload' });
      const err = await putFails(t.backend, 'large', bytes);
      assert.equal(err.code, 'Unavailable', err.message);
      assert.equal(err.retryable, true);
      assert.equal(t.openUploads(), 0, 'the failed put aborted its upload');
      await putsAndReadsBack(t.backend, 'large', bytes);
    });

    it('a PutObject answered 403 AccessDenied is permanent', async () => {
      const bytes = patternBytes(3, 0, 1024);
      t.tap.failNext({ match: wholePut, status: 403, code: 'AccessDenied' });
      const err = await putFails(t.backend, 'denied', bytes);
      assert.equal(err.code, 'AccessDenied');
      assert.equal(err.retryable, false);
      await putsAndReadsBack(t.backend, 'denied', bytes);
    });
  });
}
