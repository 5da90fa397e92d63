/**
 * The OSS test server's V4 verifier (written from the specification) against ali-oss's own signer: the same
 * request must give the same signature, and any change to a signed part must change it. This is what makes the
 * OSS contract suite's "signatures are checked exactly" mean something.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ossCanonicalHeaders,
  ossCanonicalQuery,
  ossCanonicalRequest,
  ossCanonicalUri,
  ossSignature,
  ossStringToSign,
  parseOssAuthorization,
} from '../fixtures/cloud/oss-signature';

// ali-oss ships no types for its signing helpers.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const signUtils = require('ali-oss/lib/common/signUtils') as {
  authorizationV4(
    ak: string,
    secret: string,
    region: string,
    method: string,
    request: { headers: Record<string, string>; queries: Record<string, string | null> },
    bucket: string,
    object: string,
    additional?: string[],
  ): string;
};

function verify(
  method: string,
  bucket: string,
  key: string,
  headers: Record<string, string>,
  query: [string, string][],
  authorization: string,
): boolean {
  const auth = parseOssAuthorization(authorization);
  assert.ok(typeof auth !== 'string', typeof auth === 'string' ? auth : '');
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const block = ossCanonicalHeaders(lower, auth.additional);
  assert.ok('block' in block);
  const canonical = ossCanonicalRequest({
    method,
    uri: ossCanonicalUri(bucket, key),
    query: ossCanonicalQuery(query),
    headers: block.block,
    additional: auth.additional,
    payload: lower['x-oss-content-sha256'],
  });
  const toSign = ossStringToSign(lower['x-oss-date'], auth.region, canonical);
  return ossSignature('secret', auth.day, auth.region, toSign) === auth.signature;
}

describe('OSS V4 verifier agrees with ali-oss', () => {
  const headers = {
    'x-oss-date': '20260102T030405Z',
    'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
    'x-oss-storage-class': 'Archive',
    'x-oss-meta-seed': ' 42 ',
    'Content-Type': 'application/octet-stream',
    'Content-MD5': 'ZajifYh5KDgxtmS9i38K1A==',
    'x-custom': 'signed-too',
  };
  const key = "tiergate/a b+c/!'()*~é";
  const queries = { uploadId: 'u/1+2', partNumber: '3', uploads: null };
  const wireQuery: [string, string][] = [
    ['uploadId', 'u/1+2'],
    ['partNumber', '3'],
    ['uploads', ''],
  ];
  const signed = signUtils.authorizationV4(
    'AK',
    'secret',
    'cn-hangzhou',
    'PUT',
    { headers, queries },
    'bkt',
    key,
    ['x-custom'],
  );

  it('verifies what ali-oss signed (odd key characters, query without value, additional headers)', () => {
    assert.match(
      signed,
      /^OSS4-HMAC-SHA256 Credential=AK\/20260102\/cn-hangzhou\/oss\/aliyun_v4_request,AdditionalHeaders=x-custom,Signature=[0-9a-f]{64}$/,
    );
    assert.ok(verify('PUT', 'bkt', key, headers, wireQuery, signed));
  });

  it('fails when any signed part changes', () => {
    assert.ok(!verify('POST', 'bkt', key, headers, wireQuery, signed), 'method');
    assert.ok(!verify('PUT', 'other', key, headers, wireQuery, signed), 'bucket');
    assert.ok(!verify('PUT', 'bkt', `${key}x`, headers, wireQuery, signed), 'key');
    assert.ok(
      !verify('PUT', 'bkt', key, { ...headers, 'x-oss-storage-class': 'Standard' }, wireQuery, signed),
      'x-oss header',
    );
    assert.ok(
      !verify('PUT', 'bkt', key, { ...headers, 'x-custom': 'changed' }, wireQuery, signed),
      'additional header',
    );
    assert.ok(
      !verify('PUT', 'bkt', key, headers, [...wireQuery.slice(0, 2), ['uploads', 'x']], signed),
      'query',
    );
  });
});
