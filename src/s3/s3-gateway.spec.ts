import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Error } from './errors/s3-error';
import { parseTarget } from './s3-gateway';

describe('parseTarget', () => {
  const domains = ['s3.example.test'];
  const table: { url: string; host?: string; bucket?: string; key?: string; target: string }[] = [
    { url: '/', target: 'service' },
    { url: '/photos', bucket: 'photos', target: 'bucket' },
    { url: '/photos/', bucket: 'photos', target: 'bucket' },
    { url: '/photos?list-type=2', bucket: 'photos', target: 'bucket' },
    { url: '/photos/a/b.jpg', bucket: 'photos', key: 'a/b.jpg', target: 'object' },
    { url: '/photos/a%20b%2Fc', bucket: 'photos', key: 'a b/c', target: 'object' },
    { url: '/photos//x/', bucket: 'photos', key: '/x/', target: 'object' },
    { url: '/photos/..%2F..%2Fetc', bucket: 'photos', key: '../../etc', target: 'object' },
    { url: '/', host: 'photos.s3.example.test:9000', bucket: 'photos', target: 'bucket' },
    { url: '/a/b.jpg', host: 'photos.s3.example.test', bucket: 'photos', key: 'a/b.jpg', target: 'object' },
    { url: '/photos/x', host: 's3.example.test:9000', bucket: 'photos', key: 'x', target: 'object' },
    { url: '/photos/x', host: '127.0.0.1:9000', bucket: 'photos', key: 'x', target: 'object' },
    { url: '/photos/x', host: 'other.example.org', bucket: 'photos', key: 'x', target: 'object' },
  ];
  for (const row of table) {
    it(`${row.host ?? '(no host)'} ${row.url}`, () => {
      const t = parseTarget(row.url, row.host, domains);
      assert.equal(t.target, row.target);
      assert.equal(t.bucket, row.bucket);
      assert.equal(t.key, row.key);
    });
  }

  it('answers InvalidURI for malformed percent-encoding and relative paths', () => {
    for (const url of ['/photos/%E0%A4%A', '/photos/%zz', 'photos/x']) {
      assert.throws(
        () => parseTarget(url, undefined, domains),
        (err: unknown) => err instanceof S3Error && err.code === 'InvalidURI',
        url,
      );
    }
  });

  it('keeps the query apart from the key', () => {
    const t = parseTarget('/b/k%3Fnot-a-query?uploadId=u1&partNumber=2', undefined, []);
    assert.equal(t.key, 'k?not-a-query');
    assert.equal(t.query.get('uploadId'), 'u1');
    assert.equal(t.query.get('partNumber'), '2');
  });
});
