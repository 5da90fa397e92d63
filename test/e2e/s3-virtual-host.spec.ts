/**
 * Virtual-host style requests (`bucket.<TIERGATE_DOMAIN>`), signed as SDKs sign them (the Host header carries the
 * bucket), interoperating with path-style requests on the same data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type TestGateway } from './harness';

describe('virtual-host style requests', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let vhost: string;

  before(async () => {
    gw = await startGateway({ env: { TIERGATE_DOMAIN: 's3.example.test' } });
    vhost = `media.s3.example.test:${gw.port}`;
  });
  after(async () => gw.close());

  it('creates a bucket, writes and lists through the virtual host, and reads it path-style', async () => {
    const created = await gw.signed({ method: 'PUT', path: '/', headers: { host: vhost } });
    assert.equal(created.status, 200, created.text);

    const body = 'hello from a virtual host';
    const put = await gw.signed({ method: 'PUT', path: '/dir/greeting.txt', headers: { host: vhost }, body });
    assert.equal(put.status, 200, put.text);

    const list = await gw.signed({ method: 'GET', path: '/?list-type=2', headers: { host: vhost } });
    assert.equal(list.status, 200, list.text);
    assert.match(list.text, /<Name>media<\/Name>/);
    assert.match(list.text, /<Key>dir\/greeting.txt<\/Key>/);

    const pathStyle = await gw.signed({ method: 'GET', path: '/media/dir/greeting.txt' });
    assert.equal(pathStyle.status, 200, pathStyle.text);
    assert.equal(pathStyle.text, body);

    const viaHost = await gw.signed({ method: 'GET', path: '/dir/greeting.txt', headers: { host: vhost } });
    assert.equal(viaHost.text, body);
  });

  it('treats a host outside the configured domains as path style', async () => {
    const res = await gw.signed({
      method: 'GET',
      path: '/dir/greeting.txt',
      headers: { host: `media.elsewhere.test:${gw.port}` },
    });
    assert.equal(res.status, 404, 'the path names bucket "dir", which does not exist');
    assert.match(res.text, /<Code>NoSuchBucket<\/Code>/);
  });
});
