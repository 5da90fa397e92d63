/**
 * SigV4 steps against AWS's published vectors: cases of the aws-sig-v4-test-suite (service `service`), the S3
 * examples of "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk", and the
 * seed and chunk signatures of "Example: PUT Object" (64 KiB chunks) from the chunked-upload page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EMPTY_SHA256,
  canonicalHeaderValue,
  canonicalHeaders,
  canonicalQueryString,
  canonicalRequest,
  canonicalUri,
  chunkStringToSign,
  credentialScope,
  parseAmzDate,
  parseQuery,
  sha256Hex,
  signature,
  signaturesEqual,
  signingKey,
  stringToSign,
  trailerStringToSign,
  uriEncode,
} from './sigv4';

interface Vector {
  name: string;
  method: string;
  /** Path and query as sent on the wire. */
  target: string;
  headers: [string, string][];
  payloadHash: string;
  signedHeaders: string[];
  signature: string;
  stringToSignHash?: string;
}

function sign(v: Vector, secret: string, amzDate: string, region: string, service: string) {
  const q = v.target.indexOf('?');
  const path = q < 0 ? v.target : v.target.slice(0, q);
  const query = q < 0 ? '' : v.target.slice(q + 1);
  const headers = canonicalHeaders(v.headers, v.signedHeaders);
  assert.ok('block' in headers, `${v.name}: a signed header is missing`);
  const creq = canonicalRequest({
    method: v.method,
    canonicalUri: canonicalUri(path),
    canonicalQuery: canonicalQueryString(parseQuery(query)),
    canonicalHeaders: headers.block,
    signedHeaders: v.signedHeaders,
    payloadHash: v.payloadHash,
  });
  const scope = credentialScope(amzDate.slice(0, 8), region, service);
  const sts = stringToSign(amzDate, scope, creq);
  return { creq, sts, sig: signature(signingKey(secret, amzDate.slice(0, 8), region, service), sts) };
}

const SUITE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SUITE_DATE = '20150830T123600Z';
const HOST: [string, string] = ['Host', 'example.amazonaws.com'];
const STAMP: [string, string] = ['X-Amz-Date', SUITE_DATE];

const SUITE: Vector[] = [
  {
    name: 'get-vanilla',
    method: 'GET',
    target: '/',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    target: '/?Param2=value2&Param1=value1',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
    stringToSignHash: '816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0',
  },
  {
    name: 'get-unreserved',
    method: 'GET',
    target: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
  },
  {
    name: 'get-utf8 (sent percent-encoded, as on the wire)',
    method: 'GET',
    target: '/%E1%88%B4',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85',
  },
  {
    name: 'get-header-key-duplicate',
    method: 'GET',
    target: '/',
    headers: [HOST, ['My-Header1', 'value2'], ['My-Header1', 'value2'], ['My-Header1', 'value1'], STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'my-header1', 'x-amz-date'],
    signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
  },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    target: '/',
    headers: [HOST, ['My-Header1', ' value1'], ['My-Header2', ' "a   b   c"'], STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'my-header1', 'my-header2', 'x-amz-date'],
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  {
    name: 'post-vanilla',
    method: 'POST',
    target: '/',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
  },
  {
    name: 'post-vanilla-query',
    method: 'POST',
    target: '/?Param1=value1',
    headers: [HOST, STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-date'],
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
    stringToSignHash: '9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd',
  },
  {
    name: 'post-header-key-case',
    method: 'POST',
    target: '/',
    headers: [HOST, ['MY-HEADER1', 'value1'], STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'my-header1', 'x-amz-date'],
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    target: '/',
    headers: [HOST, ['My-Header1', 'VALUE1'], STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'my-header1', 'x-amz-date'],
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    target: '/',
    headers: [['Content-Type', 'application/x-www-form-urlencoded'], HOST, STAMP],
    payloadHash: sha256Hex('Param1=value1'),
    signedHeaders: ['content-type', 'host', 'x-amz-date'],
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
    stringToSignHash: '42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281',
  },
];

describe('sigv4: aws-sig-v4-test-suite', () => {
  for (const v of SUITE) {
    it(v.name, () => {
      const { sts, sig } = sign(v, SUITE_SECRET, SUITE_DATE, 'us-east-1', 'service');
      if (v.stringToSignHash) assert.equal(sts.split('\n')[3], v.stringToSignHash);
      assert.equal(sig, v.signature);
    });
  }
});

const S3_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const S3_DATE = '20130524T000000Z';
const S3_HOST: [string, string] = ['Host', 'examplebucket.s3.amazonaws.com'];
const S3_STAMP: [string, string] = ['x-amz-date', S3_DATE];
const EMPTY: [string, string] = ['x-amz-content-sha256', EMPTY_SHA256];

const S3_EXAMPLES: Vector[] = [
  {
    name: 'GET Object with Range',
    method: 'GET',
    target: '/test.txt',
    headers: [S3_HOST, ['Range', 'bytes=0-9'], EMPTY, S3_STAMP],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'range', 'x-amz-content-sha256', 'x-amz-date'],
    signature: 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    stringToSignHash: '7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
  },
  {
    name: 'PUT Object (Date header, $ in the key)',
    method: 'PUT',
    target: '/test$file.text',
    headers: [
      S3_HOST,
      ['Date', 'Fri, 24 May 2013 00:00:00 GMT'],
      S3_STAMP,
      ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
      ['x-amz-content-sha256', sha256Hex('Welcome to Amazon S3.')],
    ],
    payloadHash: sha256Hex('Welcome to Amazon S3.'),
    signedHeaders: ['date', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-storage-class'],
    signature: '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
  },
  {
    name: 'GET Bucket Lifecycle',
    method: 'GET',
    target: '/?lifecycle',
    headers: [S3_HOST, S3_STAMP, EMPTY],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
    signature: 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
  },
  {
    name: 'Get Bucket (List Objects)',
    method: 'GET',
    target: '/?max-keys=2&prefix=J',
    headers: [S3_HOST, S3_STAMP, EMPTY],
    payloadHash: EMPTY_SHA256,
    signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
    signature: '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
  },
];

describe('sigv4: S3 header-auth examples', () => {
  for (const v of S3_EXAMPLES) {
    it(v.name, () => {
      const { creq, sts, sig } = sign(v, S3_SECRET, S3_DATE, 'us-east-1', 's3');
      if (v.stringToSignHash) assert.equal(sts.split('\n')[3], v.stringToSignHash);
      assert.equal(sig, v.signature, creq);
    });
  }

  it('PUT Object canonicalises the key as /test%24file.text', () => {
    assert.equal(canonicalUri('/test$file.text'), '/test%24file.text');
  });
});

describe('sigv4: aws-chunked Example: PUT Object (64 KiB chunks)', () => {
  const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const key = signingKey(S3_SECRET, '20130524', 'us-east-1', 's3');
  const scope = credentialScope('20130524', 'us-east-1', 's3');

  it('seed signature', () => {
    const { sig } = sign(
      {
        name: 'seed',
        method: 'PUT',
        target: '/examplebucket/chunkObject.txt',
        headers: [
          ['Host', 's3.amazonaws.com'],
          ['x-amz-date', S3_DATE],
          ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
          ['x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD'],
          ['Content-Encoding', 'aws-chunked'],
          ['x-amz-decoded-content-length', '66560'],
          ['Content-Length', '66824'],
        ],
        payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        signedHeaders: [
          'content-encoding',
          'content-length',
          'host',
          'x-amz-content-sha256',
          'x-amz-date',
          'x-amz-decoded-content-length',
          'x-amz-storage-class',
        ],
        signature: seed,
      },
      S3_SECRET,
      S3_DATE,
      'us-east-1',
      's3',
    );
    assert.equal(sig, seed);
  });

  it('chunk signatures chain from the seed: 64 KiB, 1 KiB, final empty chunk', () => {
    const sig1 = signature(key, chunkStringToSign(S3_DATE, scope, seed, sha256Hex(Buffer.alloc(65536, 'a'))));
    assert.equal(sig1, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
    const sig2 = signature(key, chunkStringToSign(S3_DATE, scope, sig1, sha256Hex(Buffer.alloc(1024, 'a'))));
    assert.equal(sig2, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
    const sig3 = signature(key, chunkStringToSign(S3_DATE, scope, sig2, EMPTY_SHA256));
    assert.equal(sig3, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
  });

  it('reordering the chunks changes the signature', () => {
    const swapped = signature(
      key,
      chunkStringToSign(S3_DATE, scope, seed, sha256Hex(Buffer.alloc(1024, 'a'))),
    );
    assert.notEqual(swapped, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
  });

  it('trailer string to sign has the TRAILER algorithm and chains on the last chunk signature', () => {
    const trailerHash = sha256Hex('x-amz-checksum-crc32c:sOO8/Q==\n');
    assert.equal(
      trailerStringToSign(S3_DATE, scope, 'prev', trailerHash),
      `AWS4-HMAC-SHA256-TRAILER\n${S3_DATE}\n${scope}\nprev\n${trailerHash}`,
    );
  });
});

describe('sigv4: helpers', () => {
  it('uriEncode keeps unreserved bytes, encodes the rest as upper-case UTF-8 %XX', () => {
    assert.equal(uriEncode("a b+c/é!*'()"), 'a%20b%2Bc%2F%C3%A9%21%2A%27%28%29');
    assert.equal(uriEncode('a/b', false), 'a/b');
  });

  it('canonicalUri encodes once, keeps %2F inside a segment, does not normalise dots or double slashes', () => {
    assert.equal(canonicalUri('/bucket/a%2Fb'), '/bucket/a%2Fb');
    assert.equal(canonicalUri('/bucket/a%20b'), '/bucket/a%20b');
    assert.equal(canonicalUri('/bucket/a!b'), '/bucket/a%21b');
    assert.equal(canonicalUri('/bucket//./../x'), '/bucket//./../x');
    assert.equal(canonicalUri(''), '/');
  });

  it('every printable ASCII character encodes the same inside a plain string as next to a reserved one', () => {
    // uriEncode and canonicalUri return an all-unreserved input as it is: this pins that shortcut to the encoding
    // proper, character by character (the `!` forces the byte-by-byte path on the second string).
    for (let code = 0x20; code < 0x7f; code++) {
      const c = String.fromCharCode(code);
      const want = /[A-Za-z0-9\-._~]/.test(c) ? c : `%${code.toString(16).toUpperCase().padStart(2, '0')}`;
      assert.equal(uriEncode(`a${c}b`), `a${want}b`, `uriEncode of ${JSON.stringify(c)}`);
      assert.equal(uriEncode(`!${c}`), `%21${want}`, `uriEncode of ${JSON.stringify(c)} after !`);
      if (c === '%' || c === '/') continue; // a path's `%` starts an escape and `/` separates segments
      assert.equal(canonicalUri(`/bkt/a${c}b`), `/bkt/a${want}b`, `canonicalUri of ${JSON.stringify(c)}`);
    }
    assert.equal(uriEncode('a/b', false), 'a/b');
    assert.equal(uriEncode('a/b!', false), 'a/b%21');
    assert.equal(canonicalUri('/bkt/dir/sub/file-1_2.~x'), '/bkt/dir/sub/file-1_2.~x');
  });

  it('canonicalHeaderValue trims and collapses inner whitespace runs to one space', () => {
    assert.equal(canonicalHeaderValue('  a  b\t c '), 'a b c');
    assert.equal(canonicalHeaderValue('a\tb'), 'a b');
    assert.equal(canonicalHeaderValue('a b'), 'a b');
    assert.equal(canonicalHeaderValue(' 20261122T000000Z\t'), '20261122T000000Z');
    assert.equal(canonicalHeaderValue(''), '');
  });

  it('canonicalQueryString sorts by encoded name then value and excludes one name', () => {
    const pairs: [string, string][] = [
      ['b', '2'],
      ['a', '2'],
      ['a', '1'],
      ['X-Amz-Signature', 'zz'],
      ['c', ''],
      ['d', 'x y'],
    ];
    assert.equal(canonicalQueryString(pairs, 'X-Amz-Signature'), 'a=1&a=2&b=2&c=&d=x%20y');
  });

  it('parseQuery decodes once and refuses what handlers could read differently', () => {
    assert.deepEqual(parseQuery('b=2&c&d=x+y&e=%25FF'), [
      ['b', '2'],
      ['c', ''],
      ['d', 'x y'],
      ['e', '%FF'],
    ]);
    assert.throws(() => parseQuery('a=1&a=2'), { code: 'InvalidArgument' });
    assert.throws(() => parseQuery('prefix=%FF'), { code: 'InvalidArgument' });
  });

  it('canonicalHeaders reports a signed header the request lacks', () => {
    assert.deepEqual(canonicalHeaders([['host', 'h']], ['host', 'x-amz-date']), { missing: 'x-amz-date' });
  });

  it('parseAmzDate accepts ISO basic and rejects roll-overs and other forms', () => {
    assert.equal(parseAmzDate('20130524T000000Z')?.toISOString(), '2013-05-24T00:00:00.000Z');
    assert.equal(parseAmzDate('20131324T000000Z'), undefined);
    assert.equal(parseAmzDate('2013-05-24T00:00:00Z'), undefined);
  });

  it('signaturesEqual is exact', () => {
    assert.equal(signaturesEqual('abcd', 'abcd'), true);
    assert.equal(signaturesEqual('abcd', 'abce'), false);
    assert.equal(signaturesEqual('abcd', 'abc'), false);
  });
});
