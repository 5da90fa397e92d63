/**
 * decodeBody(): bodies framed by the real @aws-sdk/client-s3 (captured live by an HTTP server that authenticates
 * and decodes them), AWS's published aws-chunked example (64 KiB chunks, published signatures), signed-trailer
 * bodies built with our chunk signer, and hand-made malformed framing.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, S3Client, type ChecksumAlgorithm } from '@aws-sdk/client-s3';
import { crc32c } from '@node-rs/crc32';
import type { S3Request } from '../s3-context';
import { S3Error } from '../errors/s3-error';
import type { AuthResult } from './auth-types';
import { decodeBody, type DecodedBody } from './body-decoder';
import {
  EMPTY_SHA256,
  chunkStringToSign,
  credentialScope,
  sha256Hex,
  signature,
  signingKey,
  trailerStringToSign,
} from './sigv4';
import { authenticate } from './verify-request';
import { WHOLE_BODY_MAX, WholeBody } from './whole-body';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (ak: string) => (ak === AK ? SK : undefined);

/** An S3Request whose raw body is `body`, fed in pieces of random size to exercise every split point. */
function request(
  method: string,
  target: string,
  pairs: [string, string][],
  body: Buffer,
  maxPiece = 997,
): S3Request {
  const raw = new PassThrough();
  const headers: IncomingHttpHeaders = {};
  for (const [n, v] of pairs) headers[n.toLowerCase()] = v;
  Object.assign(raw, { method, url: target, headers, rawHeaders: pairs.flat() });
  let i = 0;
  while (i < body.length) {
    const n = 1 + Math.floor(Math.random() * maxPiece);
    raw.write(body.subarray(i, i + n));
    i += n;
  }
  raw.end();
  const q = target.indexOf('?');
  return {
    method,
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers,
    resource: target,
    requestId: 'test',
    raw: raw as unknown as IncomingMessage,
  };
}

async function drain(body: DecodedBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body.stream) parts.push(part);
  return Buffer.concat(parts);
}

async function failsWith(body: DecodedBody, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(drain(body), (err: unknown) => {
    assert.ok(err instanceof S3Error, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(body.checksums(), {});
}

// --- AWS "Example: PUT Object" of the chunked-upload page: 66560 bytes of 'a' in 64 KiB + 1 KiB chunks. ---
const EXAMPLE_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];
const exampleChunk = (size: number, sig: string) =>
  Buffer.concat([
    Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`),
    Buffer.alloc(size, 'a'),
    Buffer.from('\r\n'),
  ]);
const EXAMPLE_HEADERS: [string, string][] = [
  ['Host', 's3.amazonaws.com'],
  ['x-amz-date', '20130524T000000Z'],
  ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
  [
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
  ],
  ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
  ['Content-Encoding', 'aws-chunked'],
  ['x-amz-decoded-content-length', '66560'],
  ['Content-Length', '66824'],
];
const MAY_24 = new Date('2013-05-24T00:00:00Z');

function exampleRequest(body: Buffer, extra: [string, string][] = []): { req: S3Request; auth: AuthResult } {
  const req = request('PUT', '/examplebucket/chunkObject.txt', EXAMPLE_HEADERS, body);
  const auth = authenticate(req, lookup, 'us-east-1', MAY_24);
  for (const [n, v] of extra) req.headers[n] = v;
  return { req, auth };
}

describe('decodeBody: AWS aws-chunked example (published chunk signatures)', () => {
  const c1 = exampleChunk(65536, EXAMPLE_SIGS[0]);
  const c2 = exampleChunk(1024, EXAMPLE_SIGS[1]);
  const c3 = Buffer.from(`0;chunk-signature=${EXAMPLE_SIGS[2]}\r\n\r\n`);
  const good = Buffer.concat([c1, c2, c3]);

  it('the example body is 66824 bytes and decodes to 66560 bytes of "a"', async () => {
    assert.equal(good.length, 66824);
    const { req, auth } = exampleRequest(good);
    assert.equal(auth.payload, 'streaming-signed');
    const body = decodeBody(req, auth);
    assert.equal(body.length, 66560);
    assert.ok((await drain(body)).equals(Buffer.alloc(66560, 'a')));
  });

  it('one flipped data byte -> SignatureDoesNotMatch', async () => {
    const bad = Buffer.from(good);
    bad[70000 % 65536] ^= 1;
    const { req, auth } = exampleRequest(bad);
    await failsWith(decodeBody(req, auth), 'SignatureDoesNotMatch');
  });

  it('reordered chunks (each with its own valid signature) -> SignatureDoesNotMatch', async () => {
    const { req, auth } = exampleRequest(Buffer.concat([c2, c1, c3]));
    await failsWith(decodeBody(req, auth), 'SignatureDoesNotMatch');
  });

  it('truncated before the final chunk -> IncompleteBody', async () => {
    const { req, auth } = exampleRequest(Buffer.concat([c1, c2]));
    await failsWith(decodeBody(req, auth), 'IncompleteBody');
  });

  it('truncated inside a chunk -> IncompleteBody', async () => {
    const { req, auth } = exampleRequest(good.subarray(0, 30000));
    await failsWith(decodeBody(req, auth), 'IncompleteBody');
  });

  it('x-amz-decoded-content-length larger or smaller than the chunks -> IncompleteBody', async () => {
    for (const declared of ['66561', '66559']) {
      const { req, auth } = exampleRequest(good, [['x-amz-decoded-content-length', declared]]);
      await failsWith(decodeBody(req, auth), 'IncompleteBody');
    }
  });

  it('a chunk header without chunk-signature -> InvalidRequest', async () => {
    const { req, auth } = exampleRequest(
      Buffer.concat([Buffer.from('10000\r\n'), c1.subarray(c1.indexOf('\n') + 1), c2, c3]),
    );
    await failsWith(decodeBody(req, auth), 'InvalidRequest', /chunk-signature/);
  });

  it('bytes after the final chunk -> InvalidRequest', async () => {
    const { req, auth } = exampleRequest(Buffer.concat([good, Buffer.from('x')]));
    await failsWith(decodeBody(req, auth), 'InvalidRequest');
  });
});

// --- Signed-trailer bodies, chunk signatures from our signer (checked against AWS's vectors in sigv4.spec.ts). ---
function signedTrailerBody(
  data: Buffer,
  chunkSize: number,
  trailer: [string, string] | undefined,
  auth: Required<Pick<AuthResult, 'seedSignature' | 'signingKey' | 'scope' | 'amzDate'>>,
  tamperTrailerSig = false,
): Buffer {
  const parts: Buffer[] = [];
  let prev = auth.seedSignature;
  for (let i = 0; ; i += chunkSize) {
    const chunk = data.subarray(i, i + chunkSize);
    const hash = chunk.length ? sha256Hex(chunk) : EMPTY_SHA256;
    prev = signature(auth.signingKey, chunkStringToSign(auth.amzDate, auth.scope, prev, hash));
    parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${prev}\r\n`));
    if (chunk.length === 0) break;
    parts.push(chunk, Buffer.from('\r\n'));
  }
  if (trailer) {
    const line = `${trailer[0]}:${trailer[1]}`;
    let sig = signature(
      auth.signingKey,
      trailerStringToSign(auth.amzDate, auth.scope, prev, sha256Hex(line + '\n')),
    );
    if (tamperTrailerSig) sig = sig.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    parts.push(Buffer.from(`${line}\r\nx-amz-trailer-signature:${sig}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

describe('decodeBody: STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', () => {
  const amzDate = '20240102T030405Z';
  const scope = credentialScope('20240102', 'us-east-1', 's3');
  const key = signingKey(SK, '20240102', 'us-east-1', 's3');
  const base = { seedSignature: 'f'.repeat(64), signingKey: key, scope, amzDate };
  const auth: AuthResult = { accessKey: AK, payload: 'streaming-signed-trailer', ...base };
  const data = randomBytes(100_000);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(data) >>> 0);
  const headers = (trailer = 'x-amz-checksum-crc32c'): [string, string][] => [
    ['x-amz-decoded-content-length', String(data.length)],
    ['x-amz-trailer', trailer],
  ];

  it('decodes, verifies the trailer signature and reports the crc32c', async () => {
    const body = signedTrailerBody(data, 8192, ['x-amz-checksum-crc32c', crc.toString('base64')], base);
    const decoded = decodeBody(request('PUT', '/b/k', headers(), body), auth);
    assert.ok((await drain(decoded)).equals(data));
    assert.deepEqual(decoded.checksums(), { crc32c: crc.toString('base64') });
  });

  it('wrong trailer checksum (correctly signed) -> BadDigest', async () => {
    const body = signedTrailerBody(data, 8192, ['x-amz-checksum-crc32c', 'AAAAAA=='], base);
    await failsWith(decodeBody(request('PUT', '/b/k', headers(), body), auth), 'BadDigest');
  });

  it('tampered trailer signature -> SignatureDoesNotMatch', async () => {
    const body = signedTrailerBody(data, 8192, ['x-amz-checksum-crc32c', crc.toString('base64')], base, true);
    await failsWith(
      decodeBody(request('PUT', '/b/k', headers(), body), auth),
      'SignatureDoesNotMatch',
      /trailer/,
    );
  });

  it('a trailer other than the one x-amz-trailer declared -> InvalidRequest', async () => {
    const body = signedTrailerBody(data, 8192, ['x-amz-checksum-crc32', 'AAAAAA=='], base);
    await failsWith(
      decodeBody(request('PUT', '/b/k', headers(), body), auth),
      'InvalidRequest',
      /not declared/,
    );
  });

  it('declared trailer missing from the body -> InvalidRequest', async () => {
    const body = signedTrailerBody(data, 8192, undefined, base);
    await failsWith(
      decodeBody(request('PUT', '/b/k', headers(), body), auth),
      'InvalidRequest',
      /no such trailer/,
    );
  });

  it('x-amz-trailer naming an unsupported algorithm -> InvalidRequest before any byte is read', () => {
    const req = request('PUT', '/b/k', headers('x-amz-checksum-md4'), Buffer.alloc(0));
    assert.throws(
      () => decodeBody(req, auth),
      (err: unknown) => err instanceof S3Error && err.code === 'InvalidRequest',
    );
  });
});

describe('decodeBody: malformed aws-chunked framing (unsigned trailer mode)', () => {
  const auth: AuthResult = { accessKey: AK, payload: 'streaming-unsigned-trailer' };
  const run = (body: string, declared = '5') =>
    decodeBody(
      request('PUT', '/b/k', [['x-amz-decoded-content-length', declared]], Buffer.from(body, 'latin1')),
      auth,
    );

  it('well-formed: "5\\r\\nhello\\r\\n0\\r\\n\\r\\n" -> hello (and EOF for the closing line is tolerated)', async () => {
    assert.equal((await drain(run('5\r\nhello\r\n0\r\n\r\n'))).toString(), 'hello');
    assert.equal((await drain(run('5\r\nhello\r\n0\r\n'))).toString(), 'hello');
  });

  it('bad hex size -> InvalidRequest', async () => {
    await failsWith(run('5x\r\nhello\r\n0\r\n\r\n'), 'InvalidRequest', /chunk size/);
  });

  it('data not followed by CRLF -> InvalidRequest', async () => {
    await failsWith(run('5\r\nhelloX\r\n0\r\n\r\n'), 'InvalidRequest', /CRLF/);
  });

  it('bare LF line ending -> InvalidRequest', async () => {
    await failsWith(run('5\nhello\r\n0\r\n\r\n'), 'InvalidRequest', /CRLF/);
  });

  it('endless header line -> InvalidRequest without buffering it', async () => {
    await failsWith(run('5' + ';'.repeat(10_000)), 'InvalidRequest', /too long/);
  });

  it('chunk larger than the declared length -> IncompleteBody at its header', async () => {
    await failsWith(run('6\r\nhello!\r\n0\r\n\r\n'), 'IncompleteBody');
  });
});

/**
 * Plain bodies take one of two paths: read whole and checked before the single chunk is handed over (a declared
 * length up to WHOLE_BODY_MAX), or streamed through PlainVerifier (larger, or no Content-Length). Both must check
 * the same things.
 */
const PLAIN_PATHS = [
  { name: 'read whole (Content-Length <= 64 KiB)', size: 50_000, declare: true, whole: true },
  { name: 'streamed (Content-Length > 64 KiB)', size: WHOLE_BODY_MAX + 1, declare: true, whole: false },
  { name: 'streamed (no Content-Length)', size: 50_000, declare: false, whole: false },
];

for (const path of PLAIN_PATHS) {
  describe(`decodeBody: plain payloads, ${path.name}`, () => {
    const data = randomBytes(path.size);
    const sha = createHash('sha256').update(data).digest('hex');
    const length: [string, string][] = path.declare ? [['content-length', String(path.size)]] : [];

    it('takes the path its declared length calls for', () => {
      const decoded = decodeBody(request('PUT', '/b/k', length, data), {
        accessKey: AK,
        payload: 'unsigned',
      });
      assert.equal(decoded.stream instanceof WholeBody, path.whole);
      assert.equal(decoded.length, path.declare ? path.size : undefined);
    });

    it('signed: the SHA-256 matches -> bytes out', async () => {
      const decoded = decodeBody(request('PUT', '/b/k', length, data), {
        accessKey: AK,
        payload: 'signed',
        contentSha256: sha,
      });
      assert.ok((await drain(decoded)).equals(data));
    });

    it('signed: one byte differs -> XAmzContentSHA256Mismatch', async () => {
      const bad = Buffer.from(data);
      bad[path.size - 1] ^= 0xff;
      await failsWith(
        decodeBody(request('PUT', '/b/k', length, bad), {
          accessKey: AK,
          payload: 'signed',
          contentSha256: sha,
        }),
        'XAmzContentSHA256Mismatch',
      );
    });

    it('x-amz-checksum-sha1 header mismatch -> BadDigest; match -> reported', async () => {
      const sha1 = createHash('sha1').update(data).digest('base64');
      const auth: AuthResult = { accessKey: AK, payload: 'unsigned' };
      const ok = decodeBody(request('PUT', '/b/k', [...length, ['x-amz-checksum-sha1', sha1]], data), auth);
      assert.ok((await drain(ok)).equals(data));
      assert.deepEqual(ok.checksums(), { sha1 });
      const wrong = createHash('sha1').update('x').digest('base64');
      await failsWith(
        decodeBody(request('PUT', '/b/k', [...length, ['x-amz-checksum-sha1', wrong]], data), auth),
        'BadDigest',
      );
    });

    it('the connection failing mid-body -> IncompleteBody on the decoded stream', async () => {
      const { req, raw } = openRequest(length);
      const decoded = decodeBody(req, { accessKey: AK, payload: 'unsigned' });
      raw.write(data.subarray(0, 1000));
      setImmediate(() => raw.destroy(new Error('aborted')));
      await failsWith(decoded, 'IncompleteBody', /aborted/);
    });

    it('a request already gone before decodeBody -> IncompleteBody, not a body that never settles', async () => {
      const { req, raw } = openRequest(length);
      raw.destroy();
      await once(raw, 'close'); // long gone: every event it will ever emit has been emitted
      await failsWith(decodeBody(req, { accessKey: AK, payload: 'unsigned' }), 'IncompleteBody');
    });
  });
}

/** A request whose body the test writes (and breaks) itself. */
function openRequest(pairs: [string, string][]): { req: S3Request; raw: PassThrough } {
  const raw = new PassThrough();
  const headers: IncomingHttpHeaders = Object.fromEntries(pairs);
  Object.assign(raw, { headers, rawHeaders: pairs.flat(), url: '/b/k' });
  const req: S3Request = {
    method: 'PUT',
    query: new URLSearchParams(),
    headers,
    resource: '/b/k',
    requestId: 'test',
    raw: raw as unknown as IncomingMessage,
  };
  return { req, raw };
}

describe('decodeBody: a body read whole', () => {
  it('a failed check hands over no byte at all (the streamed path may already have passed some on)', async () => {
    const data = randomBytes(40_000);
    const decoded = decodeBody(request('PUT', '/b/k', [['content-length', '40000']], data), {
      accessKey: AK,
      payload: 'signed',
      contentSha256: sha256Hex('something else'),
    });
    const seen: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const part of decoded.stream) seen.push(part);
      })(),
      (err: unknown) => err instanceof S3Error && err.code === 'XAmzContentSHA256Mismatch',
    );
    assert.equal(seen.length, 0);
  });

  it('an empty body yields nothing and still checks the signed hash', async () => {
    const decoded = decodeBody(request('PUT', '/b/k', [['content-length', '0']], Buffer.alloc(0)), {
      accessKey: AK,
      payload: 'signed',
      contentSha256: EMPTY_SHA256,
    });
    assert.ok(decoded.stream instanceof WholeBody);
    assert.equal((await drain(decoded)).length, 0);
  });

  it('a connection closed without an end or an error -> IncompleteBody', async () => {
    const { req, raw } = openRequest([['content-length', '5000']]);
    const decoded = decodeBody(req, { accessKey: AK, payload: 'unsigned' });
    raw.write(Buffer.alloc(100));
    setImmediate(() => raw.emit('close'));
    await failsWith(decoded, 'IncompleteBody');
  });

  it('destroy() stops reading (so the request can be drained) and fails a reader, without a stray rejection', async () => {
    const { req, raw } = openRequest([['content-length', '5000']]);
    const decoded = decodeBody(req, { accessKey: AK, payload: 'unsigned' });
    assert.equal(raw.listenerCount('data'), 1);
    decoded.stream.destroy();
    assert.equal(raw.listenerCount('data'), 0);
    assert.equal(raw.listenerCount('end'), 0);
    await failsWith(decoded, 'IncompleteBody');
    // Destroyed and never read: nothing may surface as an unhandled rejection (the test runner fails on one).
    const { req: other } = openRequest([['content-length', '5000']]);
    decodeBody(other, { accessKey: AK, payload: 'unsigned' }).stream.destroy(new Error('handler failed'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('decodeBody: checksum headers', () => {
  it('unknown algorithm, malformed value, two checksums -> InvalidRequest', () => {
    const auth: AuthResult = { accessKey: AK, payload: 'unsigned' };
    for (const pairs of [
      [['x-amz-checksum-md4', 'AAAA']],
      [['x-amz-checksum-crc32', 'not base64!']],
      [
        ['x-amz-checksum-crc32', 'AAAAAA=='],
        ['x-amz-checksum-crc32c', 'AAAAAA=='],
      ],
    ] as [string, string][][]) {
      assert.throws(
        () => decodeBody(request('PUT', '/b/k', pairs, Buffer.alloc(0)), auth),
        (err: unknown) => err instanceof S3Error && err.code === 'InvalidRequest',
      );
    }
  });
});

describe('decodeBody: bodies sent by @aws-sdk/client-s3', () => {
  let server: Server;
  let client: S3Client;
  /** What the server decoded for the last request. */
  let last: { bytes?: Buffer; checksums?: Record<string, string>; payload?: string; error?: string };

  before(async () => {
    server = createServer((req, res) => {
      const s3req: S3Request = {
        method: req.method ?? 'GET',
        query: new URLSearchParams((req.url ?? '').split('?')[1] ?? ''),
        headers: req.headers,
        resource: req.url ?? '/',
        requestId: 'test',
        raw: req,
      };
      const reply = (status: number) => {
        res.statusCode = status;
        res.setHeader('ETag', '"0"');
        res.end();
      };
      try {
        const auth = authenticate(s3req, lookup, 'us-east-1', new Date());
        const decoded = decodeBody(s3req, auth);
        drain(decoded).then(
          (bytes) => {
            last = { bytes, checksums: decoded.checksums(), payload: auth.payload };
            reply(200);
          },
          (err: Error) => {
            last = { error: err.name };
            reply(400);
          },
        );
      } catch (err) {
        last = { error: (err as Error).name };
        req.resume();
        reply(403);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new S3Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: AK, secretAccessKey: SK },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const data = randomBytes(300_000);
  const stream = () =>
    Readable.from([data.subarray(0, 70_000), data.subarray(70_000, 70_001), data.subarray(70_001)]);

  for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as ChecksumAlgorithm[]) {
    it(`stream body, ${algorithm}: aws-chunked with an unsigned trailer is decoded and its checksum verified`, async () => {
      last = {};
      await client.send(
        new PutObjectCommand({
          Bucket: 'b',
          Key: 'dir/a key+1.bin',
          Body: stream(),
          ContentLength: data.length,
          ChecksumAlgorithm: algorithm,
        }),
      );
      assert.equal(last.payload, 'streaming-unsigned-trailer');
      assert.ok(last.bytes?.equals(data));
      assert.deepEqual(Object.keys(last.checksums ?? {}), [algorithm.toLowerCase()]);
    });
  }

  it('buffer body: signed payload hash and the x-amz-checksum-crc32 header are verified', async () => {
    last = {};
    await client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: data }));
    assert.equal(last.payload, 'signed');
    assert.ok(last.bytes?.equals(data));
    assert.deepEqual(Object.keys(last.checksums ?? {}), ['crc32']);
  });

  it('a wrong client-supplied checksum is rejected with BadDigest', async () => {
    last = {};
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: data, ChecksumCRC32: 'AAAAAA==' })),
    );
    assert.equal(last.error, 'BadDigest');
  });
});
