/**
 * authenticate(): AWS's published S3 examples (header auth and the presigned URL example) as whole requests, requests
 * signed by the SDK's own signer (@smithy/signature-v4) with awkward keys and queries, and every rejection path.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { S3Request } from '../s3-context';
import { S3Error } from '../errors/s3-error';
import { authenticate } from './verify-request';
import { EMPTY_SHA256, sha256Hex } from './sigv4';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const lookup = (ak: string) => (ak === AK ? SK : undefined);
const MAY_24 = new Date('2013-05-24T00:00:00Z');

/** An S3Request as the gateway builds it, with raw header pairs in the order given. */
function request(method: string, target: string, pairs: [string, string][]): S3Request {
  const raw = new PassThrough() as unknown as IncomingMessage;
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of pairs) {
    const n = name.toLowerCase();
    headers[n] = headers[n] === undefined ? value : `${String(headers[n])}, ${value}`;
  }
  Object.assign(raw, { method, url: target, headers, rawHeaders: pairs.flat() });
  const q = target.indexOf('?');
  return {
    method,
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers,
    resource: target,
    requestId: 'test',
    raw,
  };
}

function rejects(fn: () => unknown, code: string, message?: RegExp): S3Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

const HOST: [string, string] = ['Host', 'examplebucket.s3.amazonaws.com'];
const GET_RANGE: [string, string][] = [
  HOST,
  ['Range', 'bytes=0-9'],
  ['x-amz-content-sha256', EMPTY_SHA256],
  ['x-amz-date', '20130524T000000Z'],
  [
    'Authorization',
    `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
  ],
];
const PRESIGNED =
  '/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';

describe('authenticate: AWS examples', () => {
  it('GET Object with Range (header auth) -> signed payload with the empty hash', () => {
    const auth = authenticate(request('GET', '/test.txt', GET_RANGE), lookup, 'us-east-1', MAY_24);
    assert.equal(auth.accessKey, AK);
    assert.equal(auth.payload, 'signed');
    assert.equal(auth.contentSha256, EMPTY_SHA256);
  });

  it('PUT Object signed with a Date header and a $ in the key', () => {
    const body = sha256Hex('Welcome to Amazon S3.');
    const req = request('PUT', '/test$file.text', [
      HOST,
      ['Date', 'Fri, 24 May 2013 00:00:00 GMT'],
      [
        'Authorization',
        `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd`,
      ],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
      ['x-amz-content-sha256', body],
    ]);
    assert.equal(authenticate(req, lookup, 'us-east-1', MAY_24).contentSha256, body);
  });

  it('the presigned GET example, inside its 86400 s window -> unsigned payload', () => {
    const auth = authenticate(
      request('GET', PRESIGNED, [HOST]),
      lookup,
      'us-east-1',
      new Date('2013-05-24T23:00:00Z'),
    );
    assert.equal(auth.payload, 'unsigned');
  });

  it('the presigned example after its window -> AccessDenied "Request has expired"', () => {
    const req = request('GET', PRESIGNED, [HOST]);
    rejects(
      () => authenticate(req, lookup, 'us-east-1', new Date('2013-05-25T00:00:01Z')),
      'AccessDenied',
      /^Request has expired$/,
    );
  });

  it('a tampered header -> SignatureDoesNotMatch with the string to sign', () => {
    const pairs = GET_RANGE.map(([n, v]): [string, string] => (n === 'Range' ? [n, 'bytes=0-10'] : [n, v]));
    const err = rejects(
      () => authenticate(request('GET', '/test.txt', pairs), lookup, 'us-east-1', MAY_24),
      'SignatureDoesNotMatch',
    );
    assert.match(err.extra.StringToSign, /^AWS4-HMAC-SHA256\n20130524T000000Z\n/);
  });

  it('a tampered path -> SignatureDoesNotMatch', () => {
    rejects(
      () => authenticate(request('GET', '/test.txT', GET_RANGE), lookup, 'us-east-1', MAY_24),
      'SignatureDoesNotMatch',
    );
  });
});

describe('authenticate: rejections', () => {
  const req = () => request('GET', '/test.txt', GET_RANGE);

  it('unknown access key -> InvalidAccessKeyId', () => {
    rejects(() => authenticate(req(), () => undefined, 'us-east-1', MAY_24), 'InvalidAccessKeyId');
  });

  it('wrong secret -> SignatureDoesNotMatch', () => {
    rejects(() => authenticate(req(), () => 'other', 'us-east-1', MAY_24), 'SignatureDoesNotMatch');
  });

  it('scope region differs from ours -> AuthorizationHeaderMalformed naming our region', () => {
    const err = rejects(
      () => authenticate(req(), lookup, 'eu-west-1', MAY_24),
      'AuthorizationHeaderMalformed',
      /region 'us-east-1' is wrong; expecting 'eu-west-1'/,
    );
    assert.equal(err.extra.Region, 'eu-west-1');
  });

  it('more than 15 minutes of skew -> RequestTimeTooSkewed; 14 minutes is fine', () => {
    rejects(
      () => authenticate(req(), lookup, 'us-east-1', new Date('2013-05-24T00:15:01Z')),
      'RequestTimeTooSkewed',
    );
    rejects(
      () => authenticate(req(), lookup, 'us-east-1', new Date('2013-05-23T23:44:59Z')),
      'RequestTimeTooSkewed',
    );
    assert.equal(authenticate(req(), lookup, 'us-east-1', new Date('2013-05-24T00:14:00Z')).accessKey, AK);
  });

  it('no credentials at all -> AccessDenied', () => {
    rejects(() => authenticate(request('GET', '/b/k', [HOST]), lookup, 'us-east-1', MAY_24), 'AccessDenied');
  });

  it('SigV2 header and query -> NotImplemented naming Signature Version 2', () => {
    rejects(
      () =>
        authenticate(
          request('GET', '/b/k', [HOST, ['Authorization', `AWS ${AK}:c2ln`]]),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'NotImplemented',
      /Version 2/,
    );
    rejects(
      () =>
        authenticate(
          request('GET', `/b/k?AWSAccessKeyId=${AK}&Expires=1&Signature=x`, [HOST]),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'NotImplemented',
      /Version 2/,
    );
  });

  it('header and query auth together -> InvalidArgument', () => {
    rejects(
      () => authenticate(request('GET', PRESIGNED, GET_RANGE), lookup, 'us-east-1', MAY_24),
      'InvalidArgument',
      /Only one auth mechanism/,
    );
  });

  it('missing x-amz-content-sha256 -> InvalidRequest; a bad value -> InvalidArgument', () => {
    const without = GET_RANGE.filter(([n]) => n !== 'x-amz-content-sha256');
    rejects(
      () => authenticate(request('GET', '/test.txt', without), lookup, 'us-east-1', MAY_24),
      'InvalidRequest',
      /x-amz-content-sha256/,
    );
    const bad = GET_RANGE.map(([n, v]): [string, string] =>
      n === 'x-amz-content-sha256' ? [n, 'nope'] : [n, v],
    );
    rejects(
      () => authenticate(request('GET', '/test.txt', bad), lookup, 'us-east-1', MAY_24),
      'InvalidArgument',
    );
  });

  it('Authorization without Signature, or with a bad credential -> AuthorizationHeaderMalformed', () => {
    const auth = (v: string) =>
      request('GET', '/test.txt', [HOST, ['x-amz-date', '20130524T000000Z'], ['Authorization', v]]);
    rejects(
      () =>
        authenticate(
          auth(`AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request, SignedHeaders=host`),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'AuthorizationHeaderMalformed',
    );
    rejects(
      () =>
        authenticate(
          auth(
            `AWS4-HMAC-SHA256 Credential=${AK}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00`,
          ),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'AuthorizationHeaderMalformed',
    );
    rejects(
      () =>
        authenticate(
          auth(
            `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00`,
          ),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'AuthorizationHeaderMalformed',
      /service/,
    );
  });

  it('an x-amz-* header that is not signed -> AccessDenied', () => {
    rejects(
      () =>
        authenticate(
          request('GET', '/test.txt', [...GET_RANGE, ['x-amz-meta-a', '1']]),
          lookup,
          'us-east-1',
          MAY_24,
        ),
      'AccessDenied',
      /not signed/,
    );
  });

  it('presigned: X-Amz-Expires out of 1..604800 and missing parameters -> AuthorizationQueryParametersError', () => {
    const at = new Date('2013-05-24T00:00:00Z');
    for (const expires of ['0', '604801', 'abc']) {
      const target = PRESIGNED.replace('X-Amz-Expires=86400', `X-Amz-Expires=${expires}`);
      rejects(
        () => authenticate(request('GET', target, [HOST]), lookup, 'us-east-1', at),
        'AuthorizationQueryParametersError',
      );
    }
    const missing = PRESIGNED.replace(/&X-Amz-Date=[^&]*/, '');
    rejects(
      () => authenticate(request('GET', missing, [HOST]), lookup, 'us-east-1', at),
      'AuthorizationQueryParametersError',
    );
  });

  it('presigned: dated more than 15 minutes ahead -> AccessDenied', () => {
    rejects(
      () =>
        authenticate(
          request('GET', PRESIGNED, [HOST]),
          lookup,
          'us-east-1',
          new Date('2013-05-23T23:40:00Z'),
        ),
      'AccessDenied',
      /not valid yet/,
    );
  });
});

describe('authenticate: requests signed by @smithy/signature-v4', () => {
  const now = new Date();
  const signer = new SignatureV4({
    credentials: { accessKeyId: AK, secretAccessKey: SK },
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  });
  // How the S3 client escapes keys: encodeURIComponent plus !'()*, slashes kept.
  const escapeKey = (key: string) =>
    key
      .split('/')
      .map((s) =>
        encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
      )
      .join('/');

  async function signed(
    method: string,
    key: string,
    query: Record<string, string>,
    headers: Record<string, string>,
  ) {
    const path = '/bucket/' + escapeKey(key);
    const r = await signer.sign(
      {
        method,
        protocol: 'http:',
        hostname: 'localhost',
        port: 9000,
        path,
        query,
        headers: { host: 'localhost:9000', ...headers },
      },
      { signingDate: now },
    );
    const qs = new URLSearchParams(query).toString().replace(/\+/g, '%20');
    return request(method, qs ? `${path}?${qs}` : path, Object.entries(r.headers));
  }

  for (const key of ['plain.txt', "a b+c/d!e*f(g)h'i", 'ünïcødé/日本語', 'x//y/./z', 'tilde~and-dash_.']) {
    it(`key ${JSON.stringify(key)}`, async () => {
      const req = await signed(
        'PUT',
        key,
        {},
        { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-meta-note': '  two   spaces ' },
      );
      assert.equal(authenticate(req, lookup, 'us-east-1', now).payload, 'unsigned');
    });
  }

  it('query with empty values, reserved characters and repeated sorting', async () => {
    const req = await signed(
      'GET',
      '',
      { prefix: 'a b/c+d', delimiter: '/', 'list-type': '2', 'continuation-token': 'x=y&z', versions: '' },
      {
        'x-amz-content-sha256': EMPTY_SHA256,
      },
    );
    assert.equal(authenticate(req, lookup, 'us-east-1', now).payload, 'signed');
  });

  it('every STREAMING-* x-amz-content-sha256 maps to its payload mode; signed modes carry the seed', async () => {
    const modes: Record<string, string> = {
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': 'streaming-signed',
      'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': 'streaming-signed-trailer',
      'STREAMING-UNSIGNED-PAYLOAD-TRAILER': 'streaming-unsigned-trailer',
    };
    for (const [value, mode] of Object.entries(modes)) {
      const req = await signed(
        'PUT',
        'k',
        {},
        { 'x-amz-content-sha256': value, 'x-amz-decoded-content-length': '5' },
      );
      const auth = authenticate(req, lookup, 'us-east-1', now);
      assert.equal(auth.payload, mode);
      assert.equal(
        auth.seedSignature !== undefined && auth.signingKey !== undefined,
        mode !== 'streaming-unsigned-trailer',
      );
      assert.equal(auth.scope, `${auth.amzDate?.slice(0, 8)}/us-east-1/s3/aws4_request`);
    }
  });

  it('presigned by @aws-sdk/s3-request-presigner (query auth) with a unicode key', async () => {
    const client = new S3Client({
      endpoint: 'http://localhost:9000',
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: AK, secretAccessKey: SK },
    });
    const url = new URL(
      await getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket: 'bucket',
          Key: 'dir/ünï (1)*.txt',
          ResponseContentType: 'text/plain',
        }),
        { expiresIn: 300, signingDate: now },
      ),
    );
    const req = request('GET', url.pathname + url.search, [['host', url.host]]);
    assert.equal(authenticate(req, lookup, 'us-east-1', now).payload, 'unsigned');
    rejects(
      () => authenticate(req, lookup, 'us-east-1', new Date(now.getTime() + 301_000)),
      'AccessDenied',
      /expired/,
    );
    client.destroy();
  });
});
