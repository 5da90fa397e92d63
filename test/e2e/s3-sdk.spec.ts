/**
 * Acceptance (issue 3): the real app on temp drives driven by the clients users run. @aws-sdk/client-s3 at its
 * default settings (flexible checksums: streamed PutObject goes aws-chunked with a trailing x-amz-checksum-crc32)
 * and with checksums WHEN_REQUIRED; @aws-sdk/lib-storage uploading 100 MiB in parts; @aws-sdk/s3-request-presigner
 * GET/PUT URLs fetched with node's fetch; and the `minio` npm client.
 */
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import * as Minio from 'minio';
import { parseErrorXml, startGateway, type TestGateway, s3Failure } from './harness';

const MiB = 1024 * 1024;

/** `n` deterministic pseudo-random bytes (AES-CTR keystream of `seed`), generated as read, never held whole. */
function generatedStream(n: number, seed: string, chunk = MiB): Readable {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(chunk);
  let left = n;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const size = Math.min(chunk, left);
      left -= size;
      this.push(cipher.update(zeros.subarray(0, size)));
    },
  });
}

/** MD5 hex of a stream, consumed chunk by chunk. */
async function md5OfStream(stream: AsyncIterable<Uint8Array>): Promise<{ md5: string; length: number }> {
  const hash = createHash('md5');
  let length = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { md5: hash.digest('hex'), length };
}

async function bodyBytes(body: unknown): Promise<Buffer> {
  assert.ok(body && typeof (body as { transformToByteArray?: unknown }).transformToByteArray === 'function');
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

const md5Hex = (data: Buffer | string) => createHash('md5').update(data).digest('hex');
const crc32Base64 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
};

/** The object round trip every client configuration must pass, in its own bucket. */
function objectRoundTrip(
  label: string,
  clientOpts: Partial<S3ClientConfig>,
  bucket: string,
  gw: () => TestGateway,
) {
  describe(`@aws-sdk/client-s3 ${label}`, () => {
    let s3: S3Client;
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + 7) & 0xff));

    before(() => {
      s3 = gw().client(clientOpts);
    });

    it('creates the bucket and finds it with HeadBucket', async () => {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const head = await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      assert.equal(head.$metadata.httpStatusCode, 200);
    });

    it('puts a Buffer body and reads back the same bytes with an MD5 ETag', async () => {
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'buffer.bin',
          Body: payload,
          ContentType: 'application/x-test',
          Metadata: { origin: 'buffer' },
        }),
      );
      assert.equal(put.ETag, `"${md5Hex(payload)}"`);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'buffer.bin' }));
      assert.ok((await bodyBytes(got.Body)).equals(payload));
      assert.equal(got.ContentType, 'application/x-test');
      assert.deepEqual(got.Metadata, { origin: 'buffer' });
    });

    it('puts a string body', async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt', Body: 'héllo wörld' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/hello.txt' }));
      assert.equal(await got.Body?.transformToString(), 'héllo wörld');
    });

    it('puts a stream body with ContentLength and reads it back byte-identical', async () => {
      const data = Buffer.concat([payload, payload, payload.subarray(0, 12_345)]);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'stream.bin',
          Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
          ContentLength: data.length,
        }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'stream.bin' }));
      assert.equal(got.ContentLength, data.length);
      assert.ok((await bodyBytes(got.Body)).equals(data));
    });

    it('serves a byte Range with 206 and Content-Range', async () => {
      const got = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'buffer.bin', Range: 'bytes=1000-1999' }),
      );
      assert.equal(got.$metadata.httpStatusCode, 206);
      assert.equal(got.ContentRange, `bytes 1000-1999/${payload.length}`);
      assert.ok((await bodyBytes(got.Body)).equals(payload.subarray(1000, 2000)));
      const suffix = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'buffer.bin', Range: 'bytes=-10' }),
      );
      assert.ok((await bodyBytes(suffix.Body)).equals(payload.subarray(payload.length - 10)));
    });

    it('answers HeadObject with length, ETag, type and metadata', async () => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'buffer.bin' }));
      assert.equal(head.ContentLength, payload.length);
      assert.equal(head.ETag, `"${md5Hex(payload)}"`);
      assert.equal(head.ContentType, 'application/x-test');
      assert.deepEqual(head.Metadata, { origin: 'buffer' });
    });

    it('lists with prefix, delimiter and continuation-token pagination, in byte order', async () => {
      const keys = ['list/a/1', 'list/a/2', 'list/b/1', 'list/c', 'list/d/e/f', 'list/Z'];
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Key }));
      const grouped = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/' }),
      );
      assert.deepEqual(
        grouped.CommonPrefixes?.map((p) => p.Prefix),
        ['list/a/', 'list/b/', 'list/d/'],
      );
      assert.deepEqual(
        grouped.Contents?.map((o) => o.Key),
        ['list/Z', 'list/c'],
      );
      const under = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/a/' }));
      assert.deepEqual(
        under.Contents?.map((o) => [o.Key, o.Size]),
        [
          ['list/a/1', 8],
          ['list/a/2', 8],
        ],
      );
      const paged: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }),
        );
        assert.ok((page.Contents?.length ?? 0) <= 2);
        paged.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
        assert.ok(!page.IsTruncated || token, 'a truncated page names its continuation token');
        pages++;
      } while (token !== undefined && pages < 10);
      assert.deepEqual(
        paged,
        [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
      assert.equal(pages, 3);
    });

    it('copies an object', async () => {
      await s3.send(
        new CopyObjectCommand({ Bucket: bucket, Key: 'copy.bin', CopySource: `${bucket}/buffer.bin` }),
      );
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy.bin' }));
      assert.ok((await bodyBytes(got.Body)).equals(payload));
      assert.deepEqual(got.Metadata, { origin: 'buffer' });
    });

    it('puts and gets object tagging', async () => {
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: bucket,
          Key: 'copy.bin',
          Tagging: {
            TagSet: [
              { Key: 'tier', Value: 'cold' },
              { Key: 'team', Value: 'a b' },
            ],
          },
        }),
      );
      const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'copy.bin' }));
      assert.deepEqual(tags.TagSet?.map((t) => [t.Key, t.Value]).sort(), [
        ['team', 'a b'],
        ['tier', 'cold'],
      ]);
    });

    it('deletes one object (then HeadObject is 404) and several with DeleteObjects', async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'copy.bin' }));
      assert.deepEqual(await s3Failure(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy.bin' }))), {
        code: 'NotFound',
        status: 404,
      });
      assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy.bin' }))), {
        code: 'NoSuchKey',
        status: 404,
      });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const all = (listed.Contents ?? []).map((o) => o.Key ?? '');
      assert.ok(all.length >= 9, all.join());
      const res = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: all.map((Key) => ({ Key })) } }),
      );
      assert.deepEqual(res.Deleted?.map((d) => d.Key).sort(), [...all].sort());
      assert.equal(res.Errors, undefined);
      const remaining = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      assert.equal(remaining.KeyCount, 0);
    });

    it('refuses to delete a non-empty bucket, then deletes the empty one', async () => {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'last', Body: 'x' }));
      assert.deepEqual(await s3Failure(s3.send(new DeleteBucketCommand({ Bucket: bucket }))), {
        code: 'BucketNotEmpty',
        status: 409,
      });
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'last' }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      assert.deepEqual(await s3Failure(s3.send(new HeadBucketCommand({ Bucket: bucket }))), {
        code: 'NotFound',
        status: 404,
      });
    });
  });
}

describe('S3 acceptance with real clients', { timeout: 180_000 }, () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway();
  });

  after(async () => {
    await gw?.close();
  });

  objectRoundTrip('at default settings (flexible checksums)', {}, 'sdk-default', () => gw);
  objectRoundTrip(
    'with checksums WHEN_REQUIRED',
    { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' },
    'sdk-when-required',
    () => gw,
  );

  describe('checksums', () => {
    it('stores the trailing CRC32 of a streamed upload and returns it with ChecksumMode ENABLED', async () => {
      const s3 = gw.client();
      await s3.send(new CreateBucketCommand({ Bucket: 'checksums' }));
      const data = Buffer.from('checksummed '.repeat(5000));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'checksums',
          Key: 'streamed',
          Body: Readable.from([data]),
          ContentLength: data.length,
        }),
      );
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'checksums', Key: 'streamed', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(got.ChecksumCRC32, crc32Base64(data));
      assert.ok((await bodyBytes(got.Body)).equals(data));
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: 'checksums', Key: 'streamed', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head.ChecksumCRC32, crc32Base64(data));
    });

    it('stores an explicit SHA256 checksum and returns it', async () => {
      const s3 = gw.client();
      const data = Buffer.from('sha256 body');
      await s3.send(
        new PutObjectCommand({ Bucket: 'checksums', Key: 'sha', Body: data, ChecksumAlgorithm: 'SHA256' }),
      );
      const head = await s3.send(
        new HeadObjectCommand({ Bucket: 'checksums', Key: 'sha', ChecksumMode: 'ENABLED' }),
      );
      assert.equal(head.ChecksumSHA256, createHash('sha256').update(data).digest('base64'));
    });
  });

  describe('@aws-sdk/lib-storage', () => {
    it('uploads 100 MiB in parts and reads it back identical (MD5 compared streaming)', async () => {
      const s3 = gw.client();
      await s3.send(new CreateBucketCommand({ Bucket: 'big' }));
      const size = 100 * MiB;
      const source = generatedStream(size, 'lib-storage');
      const sent = createHash('md5');
      source.on('data', (chunk: Buffer) => sent.update(chunk));
      const upload = new Upload({
        client: s3,
        params: { Bucket: 'big', Key: 'hundred.bin', Body: source },
        partSize: 8 * MiB,
        queueSize: 4,
      });
      const done = await upload.done();
      const sentMd5 = sent.digest('hex');
      assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-13"$/, 'a multipart ETag for 13 parts');
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'big', Key: 'hundred.bin' }));
      assert.equal(head.ContentLength, size);
      const got = await s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'hundred.bin' }));
      const back = await md5OfStream(got.Body as Readable);
      assert.deepEqual(back, { md5: sentMd5, length: size });
      await s3.send(new DeleteObjectCommand({ Bucket: 'big', Key: 'hundred.bin' }));
    });
  });

  describe('@aws-sdk/s3-request-presigner', () => {
    let s3: S3Client;
    const data = Buffer.from('presigned content '.repeat(100));

    before(async () => {
      s3 = gw.client();
      await s3.send(new CreateBucketCommand({ Bucket: 'presign' }));
      await s3.send(new PutObjectCommand({ Bucket: 'presign', Key: 'a/b c.txt', Body: data }));
    });

    it('serves a presigned GET', async () => {
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presign', Key: 'a/b c.txt' }), {
        expiresIn: 300,
      });
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    });

    it('accepts a presigned PUT', async () => {
      const body = Buffer.from('uploaded through a presigned URL');
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'presign', Key: 'put.txt' }), {
        expiresIn: 300,
      });
      const res = await fetch(url, { method: 'PUT', body });
      assert.equal(res.status, 200, await res.text());
      const got = await s3.send(new GetObjectCommand({ Bucket: 'presign', Key: 'put.txt' }));
      assert.ok((await bodyBytes(got.Body)).equals(body));
    });

    it('refuses an expired presigned URL with 403 AccessDenied', async () => {
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presign', Key: 'a/b c.txt' }), {
        expiresIn: 60,
        signingDate: new Date(Date.now() - 2 * 3600_000),
      });
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.equal(parseErrorXml(await res.text()).Code, 'AccessDenied');
    });

    it('refuses a tampered presigned URL with 403 SignatureDoesNotMatch', async () => {
      const url = new URL(
        await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'presign', Key: 'a/b c.txt' }), {
          expiresIn: 300,
        }),
      );
      // Same signature, another object.
      url.pathname = '/presign/put.txt';
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.equal(parseErrorXml(await res.text()).Code, 'SignatureDoesNotMatch');
      const sig = url.searchParams.get('X-Amz-Signature') ?? '';
      url.pathname = '/presign/a/b%20c.txt';
      url.searchParams.set('X-Amz-Signature', `${sig[0] === '0' ? '1' : '0'}${sig.slice(1)}`);
      const flipped = await fetch(url);
      assert.equal(flipped.status, 403);
      assert.equal(parseErrorXml(await flipped.text()).Code, 'SignatureDoesNotMatch');
    });
  });

  describe('the minio npm client', () => {
    let mc: Minio.Client;

    before(() => {
      mc = new Minio.Client({
        endPoint: gw.host,
        port: gw.port,
        useSSL: false,
        accessKey: gw.credentials.accessKeyId,
        secretKey: gw.credentials.secretAccessKey,
        region: 'us-east-1',
        pathStyle: true,
      });
    });

    it('makes a bucket and finds it', async () => {
      await mc.makeBucket('minio-client', 'us-east-1');
      assert.equal(await mc.bucketExists('minio-client'), true);
      assert.equal(await mc.bucketExists('minio-absent'), false);
    });

    it('puts (Buffer and stream) and gets objects back identical', async () => {
      const small = Buffer.from('minio small object');
      await mc.putObject('minio-client', 'small.txt', small, small.length, { 'Content-Type': 'text/plain' });
      const bigSize = 7 * MiB;
      const sent = createHash('md5');
      const source = generatedStream(bigSize, 'minio');
      source.on('data', (chunk: Buffer) => sent.update(chunk));
      await mc.putObject('minio-client', 'dir/big.bin', source, bigSize);
      assert.ok(
        Buffer.concat(await (await mc.getObject('minio-client', 'small.txt')).toArray()).equals(small),
      );
      const back = await md5OfStream(await mc.getObject('minio-client', 'dir/big.bin'));
      assert.deepEqual(back, { md5: sent.digest('hex'), length: bigSize });
      const stat = await mc.statObject('minio-client', 'small.txt');
      assert.equal(stat.size, small.length);
    });

    it('lists with listObjectsV2 (recursive and by prefix)', async () => {
      const collect = async (prefix: string, recursive: boolean) => {
        const items: string[] = [];
        for await (const item of mc.listObjectsV2('minio-client', prefix, recursive)) {
          items.push(
            (item as { name?: string; prefix?: string }).name ??
              `prefix:${(item as { prefix: string }).prefix}`,
          );
        }
        // The client yields each page's objects before its prefixes, so compare as sets.
        return items.sort();
      };
      assert.deepEqual(await collect('', true), ['dir/big.bin', 'small.txt']);
      assert.deepEqual(await collect('', false), ['prefix:dir/', 'small.txt']);
      assert.deepEqual(await collect('dir/', false), ['dir/big.bin']);
    });

    it('serves presignedGetObject', async () => {
      const url = await mc.presignedGetObject('minio-client', 'small.txt', 120);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'minio small object');
    });

    it('removes objects and the bucket', async () => {
      await mc.removeObject('minio-client', 'small.txt');
      await mc.removeObject('minio-client', 'dir/big.bin');
      await assert.rejects(
        mc.statObject('minio-client', 'small.txt'),
        (err: { code?: string }) => err.code === 'NotFound',
      );
      await mc.removeBucket('minio-client');
      assert.equal(await mc.bucketExists('minio-client'), false);
    });
  });
});
