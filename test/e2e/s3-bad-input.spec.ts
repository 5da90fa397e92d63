/**
 * Acceptance (issue 3): every bad-input case gets AWS's error, sent raw on a socket so the test controls each byte
 * while the signature stays valid. Every error must be an S3 error document (Code, Message, Resource, RequestId
 * equal to x-amz-request-id) with nothing internal in it, HEAD errors carry no body, and keys that try to climb out
 * of the drive root either stay ordinary keys or are refused, with no file written outside the drives.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  E2E_REGION,
  parseErrorXml,
  sha256Hex,
  startGateway,
  walkFiles,
  type RawResponse,
  type TestGateway,
} from './harness';

const BUCKET = 'bad-input';
const GiB = 1024 ** 3;

const md5Base64 = (data: Buffer | string) => createHash('md5').update(data).digest('base64');
const amzDate = (d: Date) => d.toISOString().replace(/[:-]|\.\d{3}/g, '');

/** Asserts `res` is the S3 error `code` with `status`, rendered as the catalog promises. */
function assertS3Error(
  res: RawResponse,
  status: number,
  code: string,
  opts: { resource?: string; head?: boolean } = {},
): void {
  const requestId = res.headers['x-amz-request-id'];
  assert.ok(requestId, 'x-amz-request-id header on the error');
  if (opts.head) {
    assert.equal(res.status, status, `HEAD status (expected ${code})`);
    assert.equal(res.body.length, 0, 'HEAD errors have no body');
    return;
  }
  assert.equal(res.status, status, `status for ${code}: ${res.text}`);
  assert.match(res.headers['content-type'] ?? '', /xml/);
  assert.match(res.text, /^<\?xml[^>]*\?>\s*<Error>/);
  const doc = parseErrorXml(res.text);
  assert.equal(doc.Code, code, res.text);
  assert.ok(doc.Message && doc.Message.length > 0, `a Message: ${res.text}`);
  assert.ok(doc.Resource !== undefined, `a Resource: ${res.text}`);
  if (opts.resource !== undefined) assert.equal(doc.Resource, opts.resource);
  assert.equal(doc.RequestId, requestId, 'RequestId equals the x-amz-request-id header');
  assertNothingInternal(res.text);
}

/** No stack frame, source file or server path in a response body. */
function assertNothingInternal(text: string): void {
  assert.doesNotMatch(text, /\n\s+at\s|\.(ts|js):\d+|node_modules|\/work\/|\/tmp\/|[A-Za-z]+Error:/, text);
}

/** SigV4 signing key for the harness credentials (for aws-chunked chunk signatures). */
function signingKey(secret: string, date: Date): Buffer {
  let key = createHmac('sha256', `AWS4${secret}`).update(amzDate(date).slice(0, 8)).digest();
  for (const part of [E2E_REGION, 's3', 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  return key;
}

/** An aws-chunked STREAMING-AWS4-HMAC-SHA256-PAYLOAD body whose chunk signatures chain from `seed`. */
function signedChunks(chunks: Buffer[], seed: string, date: Date, secret: string): Buffer {
  const key = signingKey(secret, date);
  const scope = `${amzDate(date).slice(0, 8)}/${E2E_REGION}/s3/aws4_request`;
  let previous = seed;
  const parts: Buffer[] = [];
  for (const chunk of [...chunks, Buffer.alloc(0)]) {
    const toSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      amzDate(date),
      scope,
      previous,
      sha256Hex(''),
      sha256Hex(chunk),
    ].join('\n');
    previous = createHmac('sha256', key).update(toSign).digest('hex');
    parts.push(
      Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    );
  }
  return Buffer.concat(parts);
}

const crc32Base64 = (data: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data) >>> 0);
  return out.toString('base64');
};

describe('S3 bad input (raw requests)', { timeout: 120_000 }, () => {
  let gw: TestGateway;
  const put = (key: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    gw.signed({ method: 'PUT', path: `/${BUCKET}/${key}`, headers, body });
  const get = (path: string) => gw.signed({ method: 'GET', path });
  const assertAbsent = async (key: string) => {
    const res = await gw.signed({ method: 'HEAD', path: `/${BUCKET}/${key}` });
    assertS3Error(res, 404, 'NoSuchKey', { head: true });
  };

  before(async () => {
    gw = await startGateway();
    const created = await gw.signed({ method: 'PUT', path: `/${BUCKET}` });
    assert.equal(created.status, 200, created.text);
    const stored = await put('exists.txt', 'present');
    assert.equal(stored.status, 200, stored.text);
  });

  after(async () => {
    await gw?.close();
  });

  describe('responses in general', () => {
    it('puts x-amz-request-id on successful responses too', async () => {
      const res = await get(`/${BUCKET}/exists.txt`);
      assert.equal(res.status, 200);
      assert.equal(res.text, 'present');
      assert.match(res.headers['x-amz-request-id'] ?? '', /^\S+$/);
    });

    it('answers NoSuchBucket and NoSuchKey with the resource named', async () => {
      assertS3Error(await get('/no-such-bucket/key'), 404, 'NoSuchBucket', {
        resource: '/no-such-bucket/key',
      });
      assertS3Error(await get('/no-such-bucket'), 404, 'NoSuchBucket', { resource: '/no-such-bucket' });
      assertS3Error(await get(`/${BUCKET}/missing.txt`), 404, 'NoSuchKey', {
        resource: `/${BUCKET}/missing.txt`,
      });
    });

    it('sends HEAD errors without a body', async () => {
      assertS3Error(await gw.signed({ method: 'HEAD', path: `/${BUCKET}/missing.txt` }), 404, 'NoSuchKey', {
        head: true,
      });
      assertS3Error(await gw.signed({ method: 'HEAD', path: '/no-such-bucket' }), 404, 'NoSuchBucket', {
        head: true,
      });
      assertS3Error(
        await gw.unsigned({ method: 'HEAD', path: `/${BUCKET}/exists.txt` }),
        403,
        'AccessDenied',
        {
          head: true,
        },
      );
    });
  });

  describe('XML bodies', () => {
    it('answers MalformedXML to DeleteObjects with garbage XML', async () => {
      const body = '<Delete><Object><Key>exists.txt</Key></Obj';
      const res = await gw.signed({
        method: 'POST',
        path: `/${BUCKET}?delete`,
        headers: { 'content-md5': md5Base64(body), 'content-type': 'application/xml' },
        body,
      });
      assertS3Error(res, 400, 'MalformedXML');
      assert.equal((await get(`/${BUCKET}/exists.txt`)).text, 'present', 'nothing was deleted');
    });

    it('answers MalformedXML to CompleteMultipartUpload with garbage XML', async () => {
      const created = await gw.signed({ method: 'POST', path: `/${BUCKET}/mpu.bin?uploads` });
      assert.equal(created.status, 200, created.text);
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1];
      assert.ok(uploadId, created.text);
      const part = await gw.signed({
        method: 'PUT',
        path: `/${BUCKET}/mpu.bin?partNumber=1&uploadId=${encodeURIComponent(uploadId)}`,
        body: 'part one',
      });
      assert.equal(part.status, 200, part.text);
      for (const body of ['<CompleteMultipartUpload><Part><PartNumber>1', 'not xml at all', '']) {
        const res = await gw.signed({
          method: 'POST',
          path: `/${BUCKET}/mpu.bin?uploadId=${encodeURIComponent(uploadId)}`,
          body,
        });
        assertS3Error(res, 400, 'MalformedXML');
      }
      await assertAbsent('mpu.bin');
      const aborted = await gw.signed({
        method: 'DELETE',
        path: `/${BUCKET}/mpu.bin?uploadId=${encodeURIComponent(uploadId)}`,
      });
      assert.equal(aborted.status, 204, aborted.text);
    });
  });

  describe('names and arguments', () => {
    it('answers InvalidBucketName to CreateBucket of ab, UPPER and a..b', async () => {
      for (const name of ['ab', 'UPPER', 'a..b']) {
        assertS3Error(await gw.signed({ method: 'PUT', path: `/${name}` }), 400, 'InvalidBucketName', {
          resource: `/${name}`,
        });
      }
      const good = await gw.signed({ method: 'PUT', path: '/abc' });
      assert.equal(good.status, 200, 'a valid 3-character name is accepted');
    });

    it('answers KeyTooLongError to a 1025-byte key and accepts 1024 bytes', async () => {
      assertS3Error(await put('k'.repeat(1025), 'x'), 400, 'KeyTooLongError');
      const res = await put('k'.repeat(1024), 'x');
      assert.equal(res.status, 200, res.text);
    });

    it('answers InvalidArgument to max-keys=-1', async () => {
      assertS3Error(await get(`/${BUCKET}?list-type=2&max-keys=-1`), 400, 'InvalidArgument');
      assertS3Error(await get(`/${BUCKET}?max-keys=-1`), 400, 'InvalidArgument');
    });

    it('answers InvalidArgument to partNumber=0', async () => {
      const created = await gw.signed({ method: 'POST', path: `/${BUCKET}/parts.bin?uploads` });
      const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1];
      assert.ok(uploadId, created.text);
      const q = `uploadId=${encodeURIComponent(uploadId)}`;
      assertS3Error(
        await gw.signed({ method: 'PUT', path: `/${BUCKET}/parts.bin?partNumber=0&${q}`, body: 'x' }),
        400,
        'InvalidArgument',
      );
      assertS3Error(await get(`/${BUCKET}/exists.txt?partNumber=0`), 400, 'InvalidArgument');
      await gw.signed({ method: 'DELETE', path: `/${BUCKET}/parts.bin?${q}` });
    });
  });

  describe('bodies and lengths', () => {
    it('answers MissingContentLength to a PUT with neither Content-Length nor chunked encoding', async () => {
      const res = await gw.signed({ method: 'PUT', path: `/${BUCKET}/no-length` });
      assertS3Error(res, 411, 'MissingContentLength');
      await assertAbsent('no-length');
    });

    it(
      'answers EntityTooLarge to Content-Length above 5 GiB before reading any body',
      { timeout: 15_000 },
      async () => {
        const res = await gw.signed(
          {
            method: 'PUT',
            path: `/${BUCKET}/huge`,
            headers: { 'content-length': String(5 * GiB + 1) },
          },
          { payloadHash: 'UNSIGNED-PAYLOAD' },
        );
        assertS3Error(res, 400, 'EntityTooLarge');
        await assertAbsent('huge');
      },
    );

    it('answers BadDigest to a Content-MD5 of other bytes and stores nothing', async () => {
      assertS3Error(
        await put('bad-md5', 'actual body', { 'content-md5': md5Base64('other body') }),
        400,
        'BadDigest',
      );
      await assertAbsent('bad-md5');
      const ok = await put('good-md5', 'actual body', { 'content-md5': md5Base64('actual body') });
      assert.equal(ok.status, 200, ok.text);
    });

    it('answers InvalidDigest to a malformed Content-MD5', async () => {
      for (const digest of ['not-base64!!', 'AAAA', md5Base64('x').slice(0, 10)]) {
        assertS3Error(await put('invalid-md5', 'body', { 'content-md5': digest }), 400, 'InvalidDigest');
      }
      await assertAbsent('invalid-md5');
    });

    it('answers XAmzContentSHA256Mismatch when the signed payload hash does not match the body', async () => {
      const res = await gw.signed(
        { method: 'PUT', path: `/${BUCKET}/sha-mismatch`, body: 'the real body' },
        { payloadHash: sha256Hex('another body') },
      );
      assertS3Error(res, 400, 'XAmzContentSHA256Mismatch');
      await assertAbsent('sha-mismatch');
    });

    it('accepts a correctly signed aws-chunked body and refuses one with a bad chunk signature', async () => {
      const date = new Date();
      const data = [Buffer.from('first chunk '.repeat(800)), Buffer.from('second')];
      const decoded = Buffer.concat(data);
      const send = async (key: string, mangle: (body: Buffer) => Buffer) => {
        const req = {
          method: 'PUT',
          path: `/${BUCKET}/${key}`,
          headers: {
            'content-encoding': 'aws-chunked',
            'x-amz-decoded-content-length': String(decoded.length),
          },
        };
        const probe = signedChunks(data, '0'.repeat(64), date, gw.credentials.secretAccessKey);
        const headers = await gw.signHeaders(
          { ...req, headers: { ...req.headers, 'content-length': String(probe.length) } },
          { payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', date },
        );
        const seed = /Signature=([0-9a-f]{64})/.exec(headers.authorization ?? '')?.[1];
        assert.ok(seed, headers.authorization);
        const body = mangle(signedChunks(data, seed, date, gw.credentials.secretAccessKey));
        return gw.unsigned({ method: 'PUT', path: req.path, headers, body, autoContentLength: false });
      };
      const ok = await send('chunked-ok', (b) => b);
      assert.equal(ok.status, 200, ok.text);
      assert.ok((await get(`/${BUCKET}/chunked-ok`)).body.equals(decoded));
      const tampered = await send('chunked-bad', (b) => {
        const copy = Buffer.from(b);
        const at = copy.indexOf('first chunk') + 3;
        copy[at] ^= 0x20;
        return copy;
      });
      assertS3Error(tampered, 403, 'SignatureDoesNotMatch');
      await assertAbsent('chunked-bad');
    });

    it('refuses aws-chunked bodies with bad framing and stores nothing', async () => {
      const payload = Buffer.from('hello world');
      const trailer = `x-amz-checksum-crc32:${crc32Base64(payload)}`;
      const unsignedTrailer = (key: string, body: string, decodedLength = payload.length) =>
        gw.signed(
          {
            method: 'PUT',
            path: `/${BUCKET}/${key}`,
            headers: {
              'content-encoding': 'aws-chunked',
              'x-amz-decoded-content-length': String(decodedLength),
              'x-amz-trailer': 'x-amz-checksum-crc32',
            },
            body,
          },
          { payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
        );
      const good = await unsignedTrailer('framed-ok', `b\r\nhello world\r\n0\r\n${trailer}\r\n\r\n`);
      assert.equal(good.status, 200, good.text);
      assert.equal((await get(`/${BUCKET}/framed-ok`)).text, 'hello world');

      const bad: [string, string][] = [
        ['not hex size', `zz\r\nhello world\r\n0\r\n${trailer}\r\n\r\n`],
        ['size beyond the data', `ff\r\nhello world\r\n0\r\n${trailer}\r\n\r\n`],
        ['no CRLF after the data', `b\r\nhello worldXX0\r\n${trailer}\r\n\r\n`],
        ['no final chunk', 'b\r\nhello world\r\n'],
        [
          'wrong trailing checksum',
          `b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:${crc32Base64(Buffer.from('x'))}\r\n\r\n`,
        ],
      ];
      for (const [what, body] of bad) {
        const res = await unsignedTrailer('framed-bad', body);
        assert.ok(res.status === 400 || res.status === 403, `${what}: status ${res.status} ${res.text}`);
        assertS3Error(res, res.status, parseErrorXml(res.text).Code ?? '(no code)');
        assert.ok(
          [
            'IncompleteBody',
            'InvalidRequest',
            'InvalidArgument',
            'BadDigest',
            'InvalidChunkSizeError',
          ].includes(parseErrorXml(res.text).Code ?? ''),
          `${what}: ${res.text}`,
        );
        await assertAbsent('framed-bad');
      }
      const mismatch = await unsignedTrailer('framed-bad', `b\r\nhello world\r\n0\r\n${trailer}\r\n\r\n`, 5);
      assert.equal(mismatch.status, 400, `decoded length disagreeing with the chunks: ${mismatch.text}`);
      await assertAbsent('framed-bad');
    });
  });

  describe('authentication', () => {
    it('answers SignatureDoesNotMatch to a wrong secret', async () => {
      const res = await gw.signed(
        { method: 'GET', path: `/${BUCKET}/exists.txt` },
        { credentials: { accessKeyId: gw.credentials.accessKeyId, secretAccessKey: 'not-the-secret-key' } },
      );
      assertS3Error(res, 403, 'SignatureDoesNotMatch');
    });

    it('answers InvalidAccessKeyId to an unknown access key', async () => {
      const res = await gw.signed(
        { method: 'GET', path: `/${BUCKET}/exists.txt` },
        { credentials: { accessKeyId: 'nobody-at-all', secretAccessKey: gw.credentials.secretAccessKey } },
      );
      assertS3Error(res, 403, 'InvalidAccessKeyId');
    });

    it('answers SignatureDoesNotMatch to a signed header changed after signing', async () => {
      const req = {
        method: 'PUT',
        path: `/${BUCKET}/tampered`,
        headers: { 'x-amz-meta-colour': 'red' },
        body: 'x',
      };
      const headers = await gw.signHeaders(req);
      const res = await gw.unsigned({ ...req, headers: { ...headers, 'x-amz-meta-colour': 'blue' } });
      assertS3Error(res, 403, 'SignatureDoesNotMatch');
      await assertAbsent('tampered');
      const untouched = await gw.unsigned({ ...req, headers });
      assert.equal(untouched.status, 200, `the same request untampered is accepted: ${untouched.text}`);
    });

    it('answers RequestTimeTooSkewed to X-Amz-Date 20 minutes off, and accepts 10 minutes', async () => {
      for (const offset of [-20, 20]) {
        const res = await gw.signed(
          { method: 'GET', path: `/${BUCKET}/exists.txt` },
          { date: new Date(Date.now() + offset * 60_000) },
        );
        assertS3Error(res, 403, 'RequestTimeTooSkewed');
      }
      const near = await gw.signed(
        { method: 'GET', path: `/${BUCKET}/exists.txt` },
        { date: new Date(Date.now() - 10 * 60_000) },
      );
      assert.equal(near.status, 200, near.text);
    });

    it('answers AccessDenied to an expired presigned URL and serves a fresh one', async () => {
      const expired = await gw.presignPath('GET', `/${BUCKET}/exists.txt`, 60, {
        date: new Date(Date.now() - 2 * 3600_000),
      });
      assertS3Error(await gw.unsigned({ method: 'GET', path: expired }), 403, 'AccessDenied');
      const fresh = await gw.presignPath('GET', `/${BUCKET}/exists.txt`, 60);
      const res = await gw.unsigned({ method: 'GET', path: fresh });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, 'present');
    });

    it('answers AccessDenied to requests without any authentication', async () => {
      assertS3Error(await gw.unsigned({ method: 'GET', path: `/${BUCKET}/exists.txt` }), 403, 'AccessDenied');
      assertS3Error(await gw.unsigned({ method: 'GET', path: '/' }), 403, 'AccessDenied');
      assertS3Error(
        await gw.unsigned({ method: 'PUT', path: `/${BUCKET}/anon`, body: 'x' }),
        403,
        'AccessDenied',
      );
      assertS3Error(
        await gw.unsigned({ method: 'DELETE', path: `/${BUCKET}/exists.txt` }),
        403,
        'AccessDenied',
      );
      assert.equal((await get(`/${BUCKET}/exists.txt`)).text, 'present');
      await assertAbsent('anon');
    });
  });

  describe('keys that try to escape the drive root', () => {
    const marker = `tiergate-escape-${randomBytes(6).toString('hex')}`;
    const outside = `/tmp/${marker}`;
    const wireKeys = [
      '../../etc/passwd',
      'a/../../x',
      '%2e%2e/%2e%2e/x',
      '..%2F..%2Fx',
      'nul%00byte',
      '../../../../../../../../../../../..' + outside,
      '..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..%2F..' + outside.replace(/\//g, '%2F') + '-enc',
      './.././x',
    ];

    after(async () => {
      await rm(outside, { recursive: true, force: true });
      await rm(`${outside}-enc`, { recursive: true, force: true });
    });

    it('stores each as an ordinary key that reads back as written, or refuses it with an S3 error', async () => {
      const stored: string[] = [];
      for (const [i, wire] of wireKeys.entries()) {
        const body = `escape attempt ${i}: ${wire}`;
        const res = await gw.signed({ method: 'PUT', path: `/${BUCKET}/${wire}`, body });
        if (res.status === 200) {
          const back = await get(`/${BUCKET}/${wire}`);
          assert.equal(back.status, 200, `${wire}: ${back.text}`);
          assert.equal(back.text, body, `${wire} reads back as written`);
          stored.push(decodeURIComponent(wire));
        } else {
          assert.ok(res.status >= 400 && res.status < 500, `${wire}: ${res.status} ${res.text}`);
          assertS3Error(res, res.status, parseErrorXml(res.text).Code ?? '(no code)');
        }
      }
      const listed = await get(`/${BUCKET}?list-type=2&encoding-type=url`);
      assert.equal(listed.status, 200);
      const keys = [...listed.text.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => decodeURIComponent(m[1]));
      for (const key of stored)
        assert.ok(keys.includes(key), `${JSON.stringify(key)} is listed in the bucket`);
    });

    it('wrote nothing outside the drive directories', async () => {
      assert.equal(existsSync(outside), false, `${outside} exists`);
      assert.equal(existsSync(`${outside}-enc`), false, `${outside}-enc exists`);
      const files = await walkFiles(gw.root);
      assert.ok(files.length > 0, 'the walk sees the drives');
      // The gateway's own file beside the drives: the local KMS master key, created at boot under the data root.
      const keyFile = join(dirname(gw.drives[0]), 'kms', 'master.key');
      const stray = files.filter((f) => f !== keyFile && !gw.drives.some((d) => f.startsWith(d + sep)));
      assert.deepEqual(stray, [], 'files outside the drives');
    });
  });
});
