/** object-headers.ts: request headers -> PutObjectOptions, tags, Content-MD5 and copy sources. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checksumHeaders,
  copySourceConditions,
  parseContentMd5,
  parseCopySource,
  parseDirective,
  parsePutHeaders,
  parseTaggingHeader,
  parseUserMetadata,
  parseWriteConditions,
  storedContentEncoding,
  validateTags,
} from './object-headers';
import { s3ErrorCode } from '../../../test/fixtures/s3-error-code';

const code = s3ErrorCode;

describe('parsePutHeaders', () => {
  it('maps content headers, metadata, tags and storage class', () => {
    const opts = parsePutHeaders({
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
      'content-disposition': 'attachment; filename="a.txt"',
      'content-language': 'en',
      'cache-control': 'no-cache',
      expires: 'Thu, 01 Dec 2094 16:00:00 GMT',
      'x-amz-meta-color': 'blue',
      'x-amz-meta-Mixed-Case': 'v',
      'x-amz-tagging': 'a=1&b=two%20words',
      'x-amz-storage-class': 'STANDARD',
      'x-amz-date': 'not metadata',
    });
    assert.deepEqual(opts, {
      contentType: 'text/plain',
      contentEncoding: 'gzip',
      contentDisposition: 'attachment; filename="a.txt"',
      contentLanguage: 'en',
      cacheControl: 'no-cache',
      expires: 'Thu, 01 Dec 2094 16:00:00 GMT',
      userMetadata: { color: 'blue', 'mixed-case': 'v' },
      tags: { a: '1', b: 'two words' },
      storageClass: 'STANDARD',
    });
  });

  it('leaves absent headers undefined', () => {
    const opts = parsePutHeaders({});
    assert.deepEqual(opts.userMetadata, {});
    assert.equal(opts.contentType, undefined);
    assert.equal(opts.tags, undefined);
    assert.equal(opts.storageClass, undefined);
  });

  it('refuses other storage classes', () => {
    assert.equal(
      code(() => parsePutHeaders({ 'x-amz-storage-class': 'GLACIER' })),
      'InvalidStorageClass',
    );
    assert.equal(
      code(() => parsePutHeaders({ 'x-amz-storage-class': 'standard' })),
      'InvalidStorageClass',
    );
  });
});

describe('storedContentEncoding', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['aws-chunked', undefined],
    ['AWS-CHUNKED', undefined],
    ['aws-chunked,gzip', 'gzip'],
    ['gzip, aws-chunked', 'gzip'],
    ['gzip,br', 'gzip,br'],
  ];
  for (const [input, expected] of cases) {
    it(`${String(input)} -> ${String(expected)}`, () => assert.equal(storedContentEncoding(input), expected));
  }
});

describe('parseUserMetadata', () => {
  it('accepts exactly 2 KB and refuses one byte more', () => {
    const value = 'x'.repeat(2048 - 'k'.length);
    assert.deepEqual(parseUserMetadata({ 'x-amz-meta-k': value }), { k: value });
    assert.equal(
      code(() => parseUserMetadata({ 'x-amz-meta-k': value + 'x' })),
      'MetadataTooLarge',
    );
  });

  it('counts keys and values of every entry', () => {
    const headers = { 'x-amz-meta-aa': 'x'.repeat(1000), 'x-amz-meta-bb': 'y'.repeat(1000) };
    assert.equal(Object.keys(parseUserMetadata(headers)).length, 2);
    assert.equal(
      code(() => parseUserMetadata({ ...headers, 'x-amz-meta-cc': 'z'.repeat(45) })),
      'MetadataTooLarge',
    );
  });
});

describe('tags', () => {
  it('parses the URL-encoded header, including empty values', () => {
    assert.deepEqual(parseTaggingHeader('k%3D=v%26&empty='), { 'k=': 'v&', empty: '' });
    assert.equal(parseTaggingHeader(undefined), undefined);
    assert.deepEqual(parseTaggingHeader(''), {});
  });

  const ok = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`]);
  const cases: [string, [string, string][], string][] = [
    ['10 tags', ok(10), 'no error'],
    ['11 tags', ok(11), 'InvalidTag'],
    ['128-character key', [['k'.repeat(128), '']], 'no error'],
    ['129-character key', [['k'.repeat(129), '']], 'InvalidTag'],
    ['128 characters of astral plane', [['😀'.repeat(128), '']], 'no error'],
    ['empty key', [['', 'v']], 'InvalidTag'],
    ['256-character value', [['k', 'v'.repeat(256)]], 'no error'],
    ['257-character value', [['k', 'v'.repeat(257)]], 'InvalidTag'],
    ['aws: prefix', [['aws:created', 'v']], 'InvalidTag'],
    [
      'duplicate key',
      [
        ['k', '1'],
        ['k', '2'],
      ],
      'InvalidTag',
    ],
  ];
  for (const [name, tags, expected] of cases) {
    it(`${name} -> ${expected}`, () =>
      assert.equal(
        code(() => validateTags(tags)),
        expected,
      ));
  }
  it('rejects a header with a duplicate key', () =>
    assert.equal(
      code(() => parseTaggingHeader('a=1&a=2')),
      'InvalidTag',
    ));
});

describe('parseContentMd5', () => {
  it('turns base64 into hex', () => {
    assert.equal(parseContentMd5('1B2M2Y8AsgTpgAmY7PhCfg=='), 'd41d8cd98f00b204e9800998ecf8427e');
    assert.equal(parseContentMd5(undefined), undefined);
  });
  for (const bad of [
    '',
    'abc',
    '1B2M2Y8AsgTpgAmY7PhCfg',
    '1B2M2Y8AsgTpgAmY7PhCfgAA',
    'd41d8cd98f00b204e9800998ecf8427e',
    '!!!!!!!!!!!!!!!!!!!!!!==',
  ]) {
    it(`${JSON.stringify(bad)} -> InvalidDigest`, () =>
      assert.equal(
        code(() => parseContentMd5(bad)),
        'InvalidDigest',
      ));
  }
});

describe('parseWriteConditions', () => {
  it('maps If-None-Match: * and If-Match', () => {
    assert.deepEqual(parseWriteConditions({ 'if-none-match': '*' }), { ifNoneMatch: true });
    assert.deepEqual(parseWriteConditions({ 'if-match': '"abc"' }), { ifMatch: '"abc"' });
    assert.deepEqual(parseWriteConditions({}), {});
  });
  it('refuses If-None-Match with an ETag', () => {
    assert.equal(
      code(() => parseWriteConditions({ 'if-none-match': '"abc"' })),
      'NotImplemented',
    );
  });
});

describe('parseCopySource', () => {
  const cases: [string, ReturnType<typeof parseCopySource>][] = [
    ['bucket/key', { bucket: 'bucket', key: 'key', versionId: undefined }],
    ['/bucket/dir/key.txt', { bucket: 'bucket', key: 'dir/key.txt', versionId: undefined }],
    ['bucket/a%20b%2Fc', { bucket: 'bucket', key: 'a b/c', versionId: undefined }],
    ['bucket/what%3Fnot', { bucket: 'bucket', key: 'what?not', versionId: undefined }],
    ['bucket/key?versionId=null', { bucket: 'bucket', key: 'key', versionId: 'null' }],
    [
      'bucket/key?versionId=019a7c2e-5d1b-7c3a-9f00-0123456789ab',
      { bucket: 'bucket', key: 'key', versionId: '019a7c2e-5d1b-7c3a-9f00-0123456789ab' },
    ],
    ['bucket/%E2%82%AC', { bucket: 'bucket', key: '€', versionId: undefined }],
  ];
  for (const [header, expected] of cases) {
    it(`${header}`, () => assert.deepEqual(parseCopySource(header), expected));
  }
  for (const bad of [undefined, '', 'bucket', 'bucket/', '/bucket', '/key-only/', 'bucket/%E2%82', '//key']) {
    it(`${String(bad)} -> InvalidArgument`, () =>
      assert.equal(
        code(() => parseCopySource(bad)),
        'InvalidArgument',
      ));
  }
  it('refuses an empty versionId, and one tiergate cannot have made', () => {
    for (const header of ['bucket/key?versionId=', 'bucket/key?versionId=v1', 'bucket/key?versionId=NULL']) {
      assert.equal(
        code(() => parseCopySource(header)),
        'InvalidArgument',
        header,
      );
    }
  });
});

describe('directives and conditions', () => {
  it('parses COPY, REPLACE and refuses anything else', () => {
    const name = 'x-amz-metadata-directive';
    assert.equal(parseDirective({}, name), 'COPY');
    assert.equal(parseDirective({ [name]: 'COPY' }, name), 'COPY');
    assert.equal(parseDirective({ [name]: 'REPLACE' }, name), 'REPLACE');
    assert.equal(
      code(() => parseDirective({ [name]: 'replace' }, name)),
      'InvalidArgument',
    );
  });
  it('reads the copy-source conditions', () => {
    assert.deepEqual(
      copySourceConditions({
        'x-amz-copy-source-if-match': 'a',
        'x-amz-copy-source-if-none-match': 'b',
        'x-amz-copy-source-if-modified-since': 'c',
        'x-amz-copy-source-if-unmodified-since': 'd',
        'if-match': 'not this one',
      }),
      { ifMatch: 'a', ifNoneMatch: 'b', ifModifiedSince: 'c', ifUnmodifiedSince: 'd' },
    );
  });
  it('names checksum headers by algorithm', () => {
    assert.deepEqual(checksumHeaders({ crc32: 'AAAAAA==', SHA256: 'x' }), {
      'x-amz-checksum-crc32': 'AAAAAA==',
      'x-amz-checksum-sha256': 'x',
    });
  });
});
