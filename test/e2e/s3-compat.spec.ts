/**
 * Compatibility details that real clients and conformance suites depend on: request bodies read after the handler
 * awaited something, connections reused after an early error on a large body, unknown `Expect` values, and the
 * read-only answers unversioned buckets give to versioning and ACL queries.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  GetBucketAclCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectAclCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketTaggingCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startGateway, type RawRequest, type TestGateway } from './harness';

/** Sends requests one after another on ONE socket; resolves with each response's status line and body text. */
async function onOneConnection(gw: TestGateway, requests: RawRequest[]): Promise<string[]> {
  const socket = connect(gw.port, gw.host);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const replies: string[] = [];
  let buffered = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (buffered += d));
  try {
    for (const req of requests) {
      const headers = await gw.signHeaders(req);
      const head = `${req.method} ${req.path} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
      buffered = '';
      socket.write(head);
      if (req.body !== undefined) socket.write(req.body);
      // A response is complete when its Content-Length worth of body has arrived after the headers.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end >= 0) {
          const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
          if (buffered.length >= end + 4 + length) break;
        }
        if (Date.now() > deadline)
          throw new Error(`no complete response to ${req.method} ${req.path}: ${buffered}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      replies.push(buffered);
    }
  } finally {
    socket.destroy();
  }
  return replies;
}

describe('S3 compatibility details', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let s3: S3Client;

  before(async () => {
    gw = await startGateway();
    s3 = gw.client();
    assert.equal((await gw.signed({ method: 'PUT', path: '/compat' })).status, 200);
  });
  after(async () => gw.close());

  it('reads a body after the handler awaited something first (PutBucketTagging from the SDK)', async () => {
    const TagSet = [
      { Key: 'team', Value: 'storage' },
      { Key: 'cost-center', Value: '42' },
    ];
    await s3.send(new PutBucketTaggingCommand({ Bucket: 'compat', Tagging: { TagSet } }));
    const got = await s3.send(new GetBucketTaggingCommand({ Bucket: 'compat' }));
    assert.deepEqual(got.TagSet?.map((t) => `${t.Key}=${t.Value}`).sort(), [
      'cost-center=42',
      'team=storage',
    ]);
  });

  it('keeps serving a connection after an error answered before a large body was read', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const replies = await onOneConnection(gw, [
      { method: 'PUT', path: '/no-such-bucket/k', body: big },
      { method: 'GET', path: '/compat?list-type=2' },
    ]);
    assert.match(replies[0], /^HTTP\/1\.1 404/);
    assert.match(replies[0], /<Code>NoSuchBucket<\/Code>/);
    assert.match(replies[1], /^HTTP\/1\.1 200/, 'the second request on the same socket is answered');
    assert.match(replies[1], /<Name>compat<\/Name>/);
  });

  it('ignores Expect values other than 100-continue, as S3 does', async () => {
    for (const expect of ['200', 'foo']) {
      const res = await gw.signed({
        method: 'PUT',
        path: `/compat/expect-${expect}`,
        headers: { expect },
        body: 'x',
      });
      assert.equal(res.status, 200, `Expect: ${expect} -> ${res.status} ${res.text}`);
      assert.ok(res.headers['x-amz-request-id'], 'answered by the gateway, not by Node');
    }
  });

  it('answers an unversioned bucket: no versioning status, every object as its null version', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'compat', Key: 'v/a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: 'compat', Key: 'v/b', Body: 'bb' }));
    const versioning = await s3.send(new GetBucketVersioningCommand({ Bucket: 'compat' }));
    assert.equal(versioning.Status, undefined);
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'compat', Prefix: 'v/' }));
    assert.deepEqual(
      listed.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size]),
      [
        ['v/a', 'null', true, 1],
        ['v/b', 'null', true, 2],
      ],
    );
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: 'compat', Prefix: 'v/', MaxKeys: 1 }));
    assert.equal(page.IsTruncated, true);
    assert.equal(page.NextKeyMarker, 'v/a');
    const rest = await s3.send(
      new ListObjectVersionsCommand({ Bucket: 'compat', Prefix: 'v/', KeyMarker: page.NextKeyMarker }),
    );
    assert.deepEqual(
      rest.Versions?.map((v) => v.Key),
      ['v/b'],
    );
  });

  it('accepts non-ASCII user metadata signed by the SDK and returns it unchanged', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'compat', Key: 'meta', Body: 'x', Metadata: { meta1: 'Hello Worldé' } }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'compat', Key: 'meta' }));
    assert.equal(Buffer.from(head.Metadata?.meta1 ?? '', 'latin1').toString('utf8'), 'Hello Worldé');
  });

  it('names the unparseable path in an InvalidURI error', async () => {
    // The URI is parsed before authentication, so no signature is needed (our signer refuses such a path anyway).
    const res = await gw.unsigned({ method: 'GET', path: '/compat/bad%E0%A4%A' });
    assert.equal(res.status, 400, res.text);
    assert.match(res.text, /<Code>InvalidURI<\/Code>/);
    assert.match(res.text, /<Resource>\/compat\/bad%E0%A4%A<\/Resource>/);
  });

  it('refuses the bucket name that would shadow the gateway endpoints', async () => {
    const res = await gw.signed({ method: 'PUT', path: '/tiergate' });
    assert.equal(res.status, 400);
    assert.match(res.text, /<Code>InvalidBucketName<\/Code>/);
    const health = await gw.unsigned({ method: 'GET', path: '/tiergate/health/live' });
    assert.equal(health.status, 200);
  });

  it('reports the owner with full control for bucket and object ACLs', async () => {
    const bucketAcl = await s3.send(new GetBucketAclCommand({ Bucket: 'compat' }));
    assert.ok(bucketAcl.Owner?.ID);
    assert.deepEqual(
      bucketAcl.Grants?.map((g) => g.Permission),
      ['FULL_CONTROL'],
    );
    assert.equal(bucketAcl.Grants?.[0]?.Grantee?.Type, 'CanonicalUser', 'xsi:type, which s3cmd requires');
    const objectAcl = await s3.send(new GetObjectAclCommand({ Bucket: 'compat', Key: 'v/a' }));
    assert.equal(objectAcl.Grants?.[0]?.Grantee?.ID, objectAcl.Owner?.ID);
  });
});
