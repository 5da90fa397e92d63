/**
 * End to end: the object operations (Put/Get/Head/Delete/CopyObject and object tagging) through the real S3Gateway
 * on temp drives, driven by @aws-sdk/client-s3 at its default settings (flexible checksums, aws-chunked trailers)
 * and by raw signed requests where the SDK cannot express the case.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { S3Gateway } from '../../src/s3/s3-gateway';
import { openObjectLayer, type ErasurePool } from '../../src/storage/pool';
import { s3Failure } from './harness';

const USER = 'objtestuser';
const SECRET = 'objtestsecret';
const BUCKET = 'objects';

describe('S3 object operations', { timeout: 120_000 }, () => {
  let base: string;
  let pool: ErasurePool;
  let server: Server;
  let s3: S3Client;

  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'tiergate-objects-'));
    pool = await openObjectLayer({ drives: [1, 2, 3, 4].map((i) => join(base, `d${i}`)), fsync: false });
    const gateway = new S3Gateway(
      pool,
      { region: 'us-east-1', domains: [] },
      (key) => (key === USER ? SECRET : undefined),
      () => undefined,
    );
    server = createServer((req, res) => void gateway.handle(req, res)).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    s3 = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: USER, secretAccessKey: SECRET },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    s3?.destroy();
    server?.closeAllConnections();
    server?.close();
    await pool?.shutdown();
    await rm(base, { recursive: true, force: true });
  });

  it('puts and gets an object with its metadata, content headers and checksum', async () => {
    const body = Buffer.from('hello, tiergate');
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'dir/hello.txt',
        Body: body,
        ContentType: 'text/plain',
        CacheControl: 'max-age=60',
        ContentDisposition: 'inline',
        ContentLanguage: 'en',
        Metadata: { Color: 'blue' },
        Tagging: 'a=1&b=2',
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    assert.equal(put.ETag, `"${createHash('md5').update(body).digest('hex')}"`);
    assert.ok(put.ChecksumCRC32, 'PUT echoes the verified checksum');
    const got = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'dir/hello.txt', ChecksumMode: 'ENABLED' }),
    );
    assert.equal(Buffer.from(await got.Body!.transformToByteArray()).toString(), body.toString());
    assert.equal(got.ContentType, 'text/plain');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ContentDisposition, 'inline');
    assert.equal(got.ContentLanguage, 'en');
    assert.equal(got.ContentEncoding, undefined, 'aws-chunked is not stored as content encoding');
    assert.deepEqual(got.Metadata, { color: 'blue' });
    assert.equal(got.TagCount, 2);
    assert.equal(got.ContentLength, body.length);
    assert.equal(got.ChecksumCRC32, put.ChecksumCRC32);
  });

  it('serves ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'digits', Body: '0123456789' }));
    const cases: [string, string, string][] = [
      ['bytes=2-4', '234', 'bytes 2-4/10'],
      ['bytes=7-', '789', 'bytes 7-9/10'],
      ['bytes=-3', '789', 'bytes 7-9/10'],
      ['bytes=8-100', '89', 'bytes 8-9/10'],
    ];
    for (const [range, text, contentRange] of cases) {
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: range }));
      assert.equal(got.$metadata.httpStatusCode, 206, range);
      assert.equal(got.ContentRange, contentRange, range);
      assert.equal(await got.Body!.transformToString(), text, range);
    }
    const bad = await s3Failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: 'bytes=10-' })),
    );
    assert.deepEqual(bad, { code: 'InvalidRange', status: 416 });
    const multi = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', Range: 'bytes=0-1,4-5' }),
    );
    assert.equal(multi.$metadata.httpStatusCode, 200);
    assert.equal(await multi.Body!.transformToString(), '0123456789');
  });

  it('answers conditional GETs and HEADs with 304 and 412', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'cond', Body: 'x' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cond', IfMatch: put.ETag }));
    assert.equal(head.ContentLength, 1);
    const notModified = await s3Failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfNoneMatch: put.ETag })),
    );
    assert.equal(notModified.status, 304);
    const failed = await s3Failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfMatch: '"nope"' })),
    );
    assert.deepEqual(failed, { code: 'PreconditionFailed', status: 412 });
    const future = new Date(Date.now() + 3600_000);
    const fresh = await s3Failure(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'cond', IfModifiedSince: future })),
    );
    assert.equal(fresh.status, 304);
    const past = new Date(Date.now() - 3600_000);
    const changed = await s3Failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cond', IfUnmodifiedSince: past })),
    );
    assert.equal(changed.status, 412);
  });

  it('applies response-* overrides', async () => {
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'digits',
        ResponseContentType: 'application/x-test',
        ResponseContentDisposition: 'attachment; filename="d.txt"',
        ResponseCacheControl: 'no-store',
      }),
    );
    await got.Body!.transformToString();
    assert.equal(got.ContentType, 'application/x-test');
    assert.equal(got.ContentDisposition, 'attachment; filename="d.txt"');
    assert.equal(got.CacheControl, 'no-store');
  });

  it('serves partNumber 1 of a single-PUT object and refuses part 2', async () => {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'digits', PartNumber: 1 }));
    assert.equal(await got.Body!.transformToString(), '0123456789');
    const bad = await s3Failure(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'digits', PartNumber: 2 })),
    );
    assert.equal(bad.status, 416);
  });

  it('creates conditionally with If-None-Match: *', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'once', Body: 'first', IfNoneMatch: '*' }));
    const again = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'once', Body: 'second', IfNoneMatch: '*' })),
    );
    assert.deepEqual(again, { code: 'PreconditionFailed', status: 412 });
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'once' }));
    assert.equal(await got.Body!.transformToString(), 'first');
  });

  it('verifies Content-MD5 and refuses bad tags and storage classes', async () => {
    const wrongMd5 = createHash('md5').update('other').digest('base64');
    const bad = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'md5', Body: 'data', ContentMD5: wrongMd5 })),
    );
    assert.deepEqual(bad, { code: 'BadDigest', status: 400 });
    assert.equal(
      (await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'md5' })))).status,
      404,
    );
    const tags = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 't', Body: 'x', Tagging: 'a=1&a=2' })),
    );
    assert.equal(tags.code, 'InvalidTag');
    const cls = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 't', Body: 'x', StorageClass: 'GLACIER' })),
    );
    assert.equal(cls.code, 'InvalidStorageClass');
  });

  it('copies with COPY and REPLACE directives and copy-source conditions', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'src key+€',
        Body: 'copy me',
        ContentType: 'text/x-src',
        Metadata: { m: '1' },
        Tagging: 't=1',
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'dst',
        CopySource: `${BUCKET}/${encodeURIComponent('src key+€')}`,
      }),
    );
    assert.equal(copied.CopyObjectResult?.ETag, `"${createHash('md5').update('copy me').digest('hex')}"`);
    const dst = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dst' }));
    assert.equal(await dst.Body!.transformToString(), 'copy me');
    assert.equal(dst.ContentType, 'text/x-src');
    assert.deepEqual(dst.Metadata, { m: '1' });
    assert.equal(dst.TagCount, 1);

    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: 'dst2',
        CopySource: `${BUCKET}/${encodeURIComponent('src key+€')}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/x-new',
        Metadata: { n: '2' },
        TaggingDirective: 'REPLACE',
        Tagging: 'u=1&v=2',
      }),
    );
    const dst2 = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'dst2' }));
    assert.equal(dst2.ContentType, 'text/x-new');
    assert.deepEqual(dst2.Metadata, { n: '2' });
    assert.equal(dst2.TagCount, 2);

    const self = await s3Failure(
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst', CopySource: `${BUCKET}/dst` })),
    );
    assert.deepEqual(self, { code: 'InvalidRequest', status: 400 });
    const cond = await s3Failure(
      s3.send(
        new CopyObjectCommand({
          Bucket: BUCKET,
          Key: 'dst3',
          CopySource: `${BUCKET}/dst`,
          CopySourceIfNoneMatch: copied.CopyObjectResult?.ETag,
        }),
      ),
    );
    assert.deepEqual(cond, { code: 'PreconditionFailed', status: 412 });
    const missing = await s3Failure(
      s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'dst3', CopySource: `${BUCKET}/nope` })),
    );
    assert.deepEqual(missing, { code: 'NoSuchKey', status: 404 });
  });

  it('puts, gets and deletes object tags', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'tagged', Body: 'x' }));
    assert.deepEqual(
      (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged' }))).TagSet,
      [],
    );
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: 'tagged',
        Tagging: {
          TagSet: [
            { Key: 'k1', Value: 'v1' },
            { Key: 'k 2', Value: '' },
          ],
        },
      }),
    );
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged' }));
    assert.deepEqual(tags.TagSet, [
      { Key: 'k1', Value: 'v1' },
      { Key: 'k 2', Value: '' },
    ]);
    const del = await s3.send(new DeleteObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    assert.deepEqual(
      (await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'tagged' }))).TagSet,
      [],
    );
    const missing = await s3Failure(s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: 'no-such' })));
    assert.deepEqual(missing, { code: 'NoSuchKey', status: 404 });
  });

  it('deletes with 204, also for a missing key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'gone', Body: 'x' }));
    assert.equal(
      (await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone' }))).$metadata.httpStatusCode,
      204,
    );
    assert.equal(
      (await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'gone' }))).$metadata.httpStatusCode,
      204,
    );
    assert.equal(
      (await s3Failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'gone' })))).status,
      404,
    );
    const noBucket = await s3Failure(
      s3.send(new DeleteObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
    );
    assert.deepEqual(noBucket, { code: 'NoSuchBucket', status: 404 });
  });

  it('streams a multi-block object back byte-identical', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 10)) & 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'big', Body: big }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(big));
    const part = await s3.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'big', Range: 'bytes=1048570-2097160' }),
    );
    assert.ok(Buffer.from(await part.Body!.transformToByteArray()).equals(big.subarray(1048570, 2097161)));
  });
});
