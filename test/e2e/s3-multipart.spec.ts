/**
 * End to end: multipart uploads (Create, UploadPart, UploadPartCopy, ListParts, ListMultipartUploads, Complete,
 * Abort) through the whole app on temp drives (test/e2e/harness.ts), driven by @aws-sdk/client-s3 at its default
 * settings, and by raw signed requests where the SDK cannot express the case (no Content-Length, malformed XML).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { parseErrorXml, startGateway, type TestGateway, s3Failure } from './harness';

const BUCKET = 'multipart';
const MIB = 1024 * 1024;

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
/** S3's multipart ETag: md5 of the concatenated binary part MD5s, dash, part count. */
const multipartEtag = (parts: Buffer[]): string =>
  `"${createHash('md5')
    .update(Buffer.concat(parts.map((p) => createHash('md5').update(p).digest())))
    .digest('hex')}-${parts.length}"`;

describe('S3 multipart uploads', { timeout: 180_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;

  async function create(key: string, bucket = BUCKET): Promise<string> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    assert.ok(UploadId);
    return UploadId;
  }

  async function upload(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<string> {
    const { ETag } = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: body,
      }),
    );
    assert.ok(ETag);
    return ETag;
  }

  async function getBytes(key: string): Promise<Buffer> {
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  }

  before(async () => {
    gw = await startGateway();
    s3 = gw.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    await gw?.close();
  });

  it('uploads three parts, lists them page by page, completes, and reads back the same bytes', async () => {
    const key = 'big/object one.bin';
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        ContentType: 'application/x-test',
        Metadata: { color: 'green' },
      }),
    );
    assert.ok(UploadId);
    const parts = [randomBytes(5 * MIB), randomBytes(5 * MIB + 17), randomBytes(1234)];
    const etags: string[] = [];
    for (const [i, p] of parts.entries()) {
      const etag = await upload(key, UploadId, i + 1, p);
      assert.equal(etag, `"${md5(p)}"`);
      etags.push(etag);
    }

    const first = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId, MaxParts: 2 }));
    assert.equal(first.IsTruncated, true);
    assert.equal(String(first.NextPartNumberMarker), '2');
    assert.equal(first.MaxParts, 2);
    assert.equal(first.StorageClass, 'STANDARD');
    assert.ok(first.Owner?.ID);
    assert.deepEqual(
      first.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
      [
        [1, parts[0].length, etags[0]],
        [2, parts[1].length, etags[1]],
      ],
    );
    assert.ok(first.Parts?.every((p) => p.LastModified instanceof Date));
    const rest = await s3.send(
      new ListPartsCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        PartNumberMarker: first.NextPartNumberMarker,
      }),
    );
    assert.equal(rest.IsTruncated, false);
    assert.deepEqual(
      rest.Parts?.map((p) => p.PartNumber),
      [3],
    );

    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    assert.equal(done.ETag, multipartEtag(parts));
    assert.equal(done.Bucket, BUCKET);
    assert.equal(done.Key, key);
    assert.equal(done.Location, `${gw.endpoint}/${BUCKET}/big/object%20one.bin`);

    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.equal(got.ETag, multipartEtag(parts));
    assert.equal(got.ContentType, 'application/x-test');
    assert.deepEqual(got.Metadata, { color: 'green' });
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts)));
    // The upload is gone once completed.
    assert.deepEqual(await s3Failure(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId }))), {
      code: 'NoSuchUpload',
      status: 404,
    });
  });

  it('takes a part streamed as aws-chunked with a checksum trailer, echoing the verified checksum', async () => {
    const key = 'streamed';
    const uploadId = await create(key);
    const pieces = [randomBytes(70_000), randomBytes(1000), randomBytes(33_333)];
    const res = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        Body: Readable.from(pieces),
        ContentLength: 104_333,
        ChecksumAlgorithm: 'CRC32',
      }),
    );
    const whole = Buffer.concat(pieces);
    assert.equal(res.ETag, `"${md5(whole)}"`);
    assert.ok(res.ChecksumCRC32, 'the verified CRC32 is echoed');
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: res.ETag }] },
      }),
    );
    assert.ok((await getBytes(key)).equals(whole));
  });

  it('aborts an upload: 204, then NoSuchUpload for every use of it', async () => {
    const key = 'aborted';
    const uploadId = await create(key);
    await upload(key, uploadId, 1, Buffer.from('some bytes'));
    const res = await s3.send(
      new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }),
    );
    assert.equal(res.$metadata.httpStatusCode, 204);
    const gone = { code: 'NoSuchUpload', status: 404 };
    assert.deepEqual(
      await s3Failure(
        s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })),
      ),
      gone,
    );
    assert.deepEqual(
      await s3Failure(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))),
      gone,
    );
    assert.deepEqual(
      await s3Failure(
        s3.send(
          new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 2, Body: 'x' }),
        ),
      ),
      gone,
    );
    assert.deepEqual(await s3Failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))), {
      code: 'NoSuchKey',
      status: 404,
    });
  });

  it('copies parts from existing objects, whole and by range', async () => {
    const source = randomBytes(6 * MIB);
    const tail = Buffer.from('the tail of the copy');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/source', Body: source }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/tail', Body: tail }));
    const key = 'copy/target';
    const uploadId = await create(key);

    const first = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/copy/source`,
        CopySourceRange: `bytes=${MIB}-${6 * MIB - 1}`,
      }),
    );
    const range = source.subarray(MIB);
    assert.equal(first.CopyPartResult?.ETag, `"${md5(range)}"`);
    assert.ok(first.CopyPartResult?.LastModified instanceof Date);
    const second = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 2,
        CopySource: `/${BUCKET}/copy/tail`,
      }),
    );
    assert.equal(second.CopyPartResult?.ETag, `"${md5(tail)}"`);

    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    assert.deepEqual(
      listed.Parts?.map((p) => p.Size),
      [5 * MIB, tail.length],
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: second.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    assert.ok((await getBytes(key)).equals(Buffer.concat([range, tail])));
  });

  it('refuses bad copy sources, ranges and conditions as AWS does', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'copy/ten', Body: '0123456789' }));
    const key = 'copy/refused';
    const uploadId = await create(key);
    const copy = (extra: { CopySource?: string; CopySourceRange?: string; CopySourceIfMatch?: string }) =>
      s3Failure(
        s3.send(
          new UploadPartCopyCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId: uploadId,
            PartNumber: 1,
            CopySource: `${BUCKET}/copy/ten`,
            ...extra,
          }),
        ),
      );
    const invalid = { code: 'InvalidArgument', status: 400 };
    assert.deepEqual(await copy({ CopySourceRange: 'bytes=5-10' }), { code: 'InvalidRange', status: 416 });
    assert.deepEqual(await copy({ CopySourceRange: 'bytes=5-' }), invalid);
    assert.deepEqual(await copy({ CopySourceRange: 'bytes=-3' }), invalid);
    assert.deepEqual(await copy({ CopySourceIfMatch: '"0000"' }), {
      code: 'PreconditionFailed',
      status: 412,
    });
    assert.deepEqual(await copy({ CopySource: `${BUCKET}/copy/missing` }), {
      code: 'NoSuchKey',
      status: 404,
    });
    // Nothing was stored by the refused copies; a valid one still works.
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    assert.equal(listed.Parts?.length ?? 0, 0);
    const ok = await s3.send(
      new UploadPartCopyCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${BUCKET}/copy/ten`,
        CopySourceRange: 'bytes=9-9',
        CopySourceIfMatch: `"${md5(Buffer.from('0123456789'))}"`,
      }),
    );
    assert.equal(ok.CopyPartResult?.ETag, `"${md5(Buffer.from('9'))}"`);
  });

  it('refuses bad part numbers, digests, part lists and bodies', async () => {
    const key = 'errors';
    const uploadId = await create(key);
    const part = (PartNumber: number, Body: Buffer | string = 'x', ContentMD5?: string) =>
      s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber, Body, ContentMD5 }),
      );
    assert.deepEqual(await s3Failure(part(0)), { code: 'InvalidArgument', status: 400 });
    assert.deepEqual(await s3Failure(part(10001)), { code: 'InvalidArgument', status: 400 });
    const wrongMd5 = createHash('md5').update('other').digest('base64');
    assert.deepEqual(await s3Failure(part(1, 'payload', wrongMd5)), { code: 'BadDigest', status: 400 });

    const a = Buffer.from('small part one');
    const b = Buffer.from('small part two');
    const ea = await upload(key, uploadId, 1, a);
    const eb = await upload(key, uploadId, 2, b);
    const complete = (Parts: { PartNumber: number; ETag: string }[]) =>
      s3Failure(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts },
          }),
        ),
      );
    assert.deepEqual(
      await complete([
        { PartNumber: 1, ETag: ea },
        { PartNumber: 2, ETag: eb },
      ]),
      { code: 'EntityTooSmall', status: 400 },
    );
    assert.deepEqual(
      await complete([
        { PartNumber: 2, ETag: eb },
        { PartNumber: 1, ETag: ea },
      ]),
      { code: 'InvalidPartOrder', status: 400 },
    );
    assert.deepEqual(await complete([{ PartNumber: 1, ETag: eb }]), { code: 'InvalidPart', status: 400 });
    assert.deepEqual(await complete([{ PartNumber: 3, ETag: ea }]), { code: 'InvalidPart', status: 400 });
    assert.deepEqual(await complete([]), { code: 'MalformedXML', status: 400 });

    const path = `/${BUCKET}/${key}`;
    const bad = await gw.signed({
      method: 'POST',
      path: `${path}?uploadId=${uploadId}`,
      body: '<CompleteMultipartUpload><Part>',
    });
    assert.equal(bad.status, 400);
    assert.equal(parseErrorXml(bad.text).Code, 'MalformedXML');
    // A body framed as Transfer-Encoding: chunked, so its length is unknown and it is not aws-chunked.
    const unframed = await gw.signed(
      {
        method: 'PUT',
        path: `${path}?partNumber=3&uploadId=${uploadId}`,
        headers: { 'transfer-encoding': 'chunked' },
        body: '3\r\nno \r\n6\r\nlength\r\n0\r\n\r\n',
        autoContentLength: false,
      },
      { payloadHash: 'UNSIGNED-PAYLOAD' },
    );
    assert.equal(unframed.status, 411);
    assert.equal(parseErrorXml(unframed.text).Code, 'MissingContentLength');

    // After all the refusals, the upload is intact: a single part (exempt from the minimum) completes it.
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: ea }] },
      }),
    );
    assert.equal(done.ETag, multipartEtag([a]));
    assert.ok((await getBytes(key)).equals(a));
  });

  it('answers NoSuchUpload for an unknown upload id', async () => {
    const fake = '01000000-0000-7000-8000-000000000000';
    assert.deepEqual(
      await s3Failure(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: BUCKET,
            Key: 'nothing',
            UploadId: fake,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"00"' }] },
          }),
        ),
      ),
      { code: 'NoSuchUpload', status: 404 },
    );
  });

  it('lists uploads with prefix, delimiter, paging and URL encoding', async () => {
    const bucket = 'uploads-listing';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const a1 = await create('a/1', bucket);
    const a2 = await create('a/2', bucket);
    const b1 = await create('b', bucket);
    const b2 = await create('b', bucket);
    const c = await create('c d', bucket);

    const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.equal(all.IsTruncated, false);
    assert.deepEqual(
      all.Uploads?.map((u) => [u.Key, u.UploadId]),
      [
        ['a/1', a1],
        ['a/2', a2],
        ['b', b1],
        ['b', b2],
        ['c d', c],
      ],
    );
    assert.ok(all.Uploads?.every((u) => u.Initiated instanceof Date && u.StorageClass === 'STANDARD'));

    const page1 = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Delimiter: '/', MaxUploads: 2 }),
    );
    assert.deepEqual(
      page1.CommonPrefixes?.map((p) => p.Prefix),
      ['a/'],
    );
    assert.deepEqual(
      page1.Uploads?.map((u) => u.UploadId),
      [b1],
    );
    assert.equal(page1.IsTruncated, true);
    assert.equal(page1.NextKeyMarker, 'b');
    assert.equal(page1.NextUploadIdMarker, b1);
    const page2 = await s3.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Delimiter: '/',
        MaxUploads: 2,
        KeyMarker: page1.NextKeyMarker,
        UploadIdMarker: page1.NextUploadIdMarker,
      }),
    );
    assert.equal(page2.IsTruncated, false);
    assert.equal(page2.CommonPrefixes, undefined);
    assert.deepEqual(
      page2.Uploads?.map((u) => u.UploadId),
      [b2, c],
    );

    const underA = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'a/' }));
    assert.deepEqual(
      underA.Uploads?.map((u) => u.Key),
      ['a/1', 'a/2'],
    );
    const encoded = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'c', EncodingType: 'url' }),
    );
    assert.equal(encoded.EncodingType, 'url');
    assert.deepEqual(
      encoded.Uploads?.map((u) => u.Key),
      ['c%20d'],
    );
  });
});
