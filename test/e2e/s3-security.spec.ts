/**
 * Attacks a reviewer found on the authentication layer, pinned so they stay closed: headers added to a presigned
 * URL, query strings that could mean two things under one signature, and payload-hash values that name JavaScript
 * object internals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from './harness';

describe('authentication hardening', { timeout: 60_000 }, () => {
  let gw: TestGateway;

  before(async () => {
    gw = await startGateway();
    for (const bucket of ['private', 'pub']) {
      assert.equal((await gw.signed({ method: 'PUT', path: `/${bucket}` })).status, 200);
    }
    const put = await gw.signed({ method: 'PUT', path: '/private/secret', body: 'TOPSECRET' });
    assert.equal(put.status, 200);
  });
  after(async () => gw.close());

  it('refuses x-amz-* headers added to a presigned URL (a presigned PUT cannot become a copy)', async () => {
    const url = await gw.presignPath('PUT', '/pub/upload', 300);
    const copy = await gw.unsigned({
      method: 'PUT',
      path: url,
      headers: { 'x-amz-copy-source': '/private/secret' },
      body: '',
    });
    assert.equal(copy.status, 403, copy.text);
    assert.match(copy.text, /<Code>AccessDenied<\/Code>/);
    const meta = await gw.unsigned({
      method: 'PUT',
      path: url,
      headers: { 'x-amz-meta-evil': '1' },
      body: 'x',
    });
    assert.equal(meta.status, 403, meta.text);
    assert.equal(
      (await gw.signed({ method: 'GET', path: '/pub/upload' })).status,
      404,
      'nothing was written',
    );
    const plain = await gw.unsigned({ method: 'PUT', path: url, body: 'fine' });
    assert.equal(plain.status, 200, 'the presigned URL itself still works');
  });

  it('refuses a repeated query parameter and malformed query escapes', async () => {
    const repeated = await gw.signed({ method: 'GET', path: '/pub?list-type=2&prefix=a&prefix=b' });
    assert.equal(repeated.status, 400, repeated.text);
    assert.match(repeated.text, /<Code>InvalidArgument<\/Code>/);
    const malformed = await gw.signed({ method: 'GET', path: '/pub?list-type=2&prefix=%FF' });
    assert.equal(malformed.status, 400, malformed.text);
    const encoded = await gw.signed({ method: 'GET', path: '/pub?list-type=2&prefix=%25FF' });
    assert.equal(encoded.status, 200, 'a well-formed escape of "%FF" is fine');
  });

  it('answers InvalidArgument, not a crash, for payload hashes naming object internals', async () => {
    for (const payloadHash of ['constructor', '__proto__', 'toString']) {
      const res = await gw.signed({ method: 'PUT', path: '/pub/x', body: 'x' }, { payloadHash });
      assert.equal(res.status, 400, `${payloadHash}: ${res.text}`);
      assert.match(res.text, /<Code>InvalidArgument<\/Code>/);
    }
  });
});
