/**
 * Pure helpers of the bucket operations: tag validation, list parameter parsing, continuation tokens, the
 * ListBucketResult documents (v1 and v2, with and without encoding-type=url), the Delete and
 * CreateBucketConfiguration parsers, the integrity-header rule of DeleteObjects and the handler table.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { ListObjectsResult, ObjectInfo } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import { ROUTES, S3_OPERATIONS } from '../router/routes';
import { xmlDocument } from '../xml/xml';
import { BUCKET_HANDLERS } from './bucket.handlers';
import { checkContentMd5, hasIntegrityHeader, OWNER_ID, s3UrlEncode } from './bucket.helpers';
import {
  decodeBucketTags,
  encodeBucketTags,
  parseTaggingXml,
  taggingXml,
  validateBucketTags,
  type BucketTag,
} from './bucket-tagging.helpers';
import { checkLocationConstraint, parseLocationConstraint } from './create-bucket.handler';
import { parseDeleteXml } from './delete-objects.handler';
import { locationConstraintXml } from './get-bucket-location.handler';
import {
  decodeContinuationToken,
  encodeContinuationToken,
  listObjectsV1Xml,
  listObjectsV2Xml,
  parseListParams,
  parseMaxKeys,
} from './list-objects.helpers';

function s3Code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an S3Error');
}

function tags(n: number): BucketTag[] {
  return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
}

function info(key: string, over: Partial<ObjectInfo> = {}): ObjectInfo {
  return {
    bucket: 'b',
    key,
    versionId: 'null',
    isLatest: true,
    deleteMarker: false,
    size: 11,
    etag: 'd41d8cd98f00b204e9800998ecf8427e',
    modTime: new Date('2024-05-06T07:08:09.010Z'),
    userMetadata: {},
    tags: {},
    checksums: {},
    storageClass: 'STANDARD',
    parts: [],
    ...over,
  };
}

const OWNER = { ID: OWNER_ID, DisplayName: 'tiergateadmin' };
const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('bucket tagging', () => {
  it('parses a Tagging document in order, keeping spaces and escaped characters', () => {
    const xml =
      '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>' +
      '<Tag><Key>a b</Key><Value>x &amp; y</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet></Tagging>';
    assert.deepEqual(parseTaggingXml(xml), [
      { key: 'a b', value: 'x & y' },
      { key: 'c', value: '' },
    ]);
  });

  it('parses an empty TagSet as no tags, and refuses a missing TagSet, Key or Value', () => {
    assert.deepEqual(parseTaggingXml('<Tagging><TagSet></TagSet></Tagging>'), []);
    assert.equal(
      s3Code(() => parseTaggingXml('<Tagging></Tagging>')),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseTaggingXml('<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>')),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseTaggingXml('<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>')),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseTaggingXml('<Other/>')),
      'MalformedXML',
    );
  });

  it('accepts 50 tags and AWS limits exactly, refuses 51', () => {
    validateBucketTags(tags(50));
    validateBucketTags([{ key: 'k'.repeat(128), value: 'v'.repeat(256) }]);
    validateBucketTags([{ key: 'é'.repeat(128), value: '+-=._:/@ 9' }]);
    assert.equal(
      s3Code(() => validateBucketTags(tags(51))),
      'InvalidTag',
    );
  });

  it('refuses empty, long, duplicate, aws: and out-of-alphabet keys and values with InvalidTag', () => {
    const bad: BucketTag[][] = [
      [{ key: '', value: 'v' }],
      [{ key: 'k'.repeat(129), value: 'v' }],
      [{ key: 'k', value: 'v'.repeat(257) }],
      [
        { key: 'dup', value: '1' },
        { key: 'dup', value: '2' },
      ],
      [{ key: 'aws:cloudformation', value: 'v' }],
      [{ key: 'bad*key', value: 'v' }],
      [{ key: 'k', value: 'bad<value>' }],
    ];
    for (const set of bad)
      assert.equal(
        s3Code(() => validateBucketTags(set)),
        'InvalidTag',
        JSON.stringify(set),
      );
  });

  it('round-trips the stored document and renders GetBucketTagging', () => {
    const set = [
      { key: 'k', value: 'v' },
      { key: 'e', value: '' },
    ];
    assert.deepEqual(decodeBucketTags(encodeBucketTags(set)), set);
    assert.throws(() => decodeBucketTags(Buffer.from('{"tags":[]}')));
    assert.equal(
      xmlDocument('Tagging', taggingXml(set), null),
      '<?xml version="1.0" encoding="UTF-8"?><Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>' +
        '<Tag><Key>e</Key><Value></Value></Tag></TagSet></Tagging>',
    );
  });
});

describe('list parameters', () => {
  it('defaults, caps and validates max-keys', () => {
    assert.equal(parseMaxKeys(null), 1000);
    assert.equal(parseMaxKeys('0'), 0);
    assert.equal(parseMaxKeys('7'), 7);
    assert.equal(parseMaxKeys('5000'), 1000);
    for (const v of ['-1', 'abc', '', '1.5', '99999999999'])
      assert.equal(
        s3Code(() => parseMaxKeys(v)),
        'InvalidArgument',
        v,
      );
  });

  it('accepts only encoding-type=url', () => {
    assert.equal(parseListParams(q('encoding-type=url')).encodeUrl, true);
    assert.equal(parseListParams(q('prefix=a')).encodeUrl, false);
    assert.equal(
      s3Code(() => parseListParams(q('encoding-type=base64'))),
      'InvalidArgument',
    );
    assert.deepEqual(parseListParams(q('prefix=p%2F&delimiter=%2F&max-keys=3')), {
      prefix: 'p/',
      delimiter: '/',
      maxKeys: 3,
      encodeUrl: false,
    });
  });

  it('round-trips continuation tokens and refuses ones it did not issue', () => {
    for (const key of ['a', 'dir/sub/ü 🙂', 'x'.repeat(1024)]) {
      const token = encodeContinuationToken(key);
      assert.notEqual(token, key);
      assert.equal(decodeContinuationToken(token), key);
    }
    for (const bad of ['!!!', 'YQ', '////', '%%'])
      assert.equal(
        s3Code(() => decodeContinuationToken(bad)),
        'InvalidArgument',
        bad,
      );
  });

  it('url-encodes as S3 does: %20 for space, / kept, UTF-8 bytes upper-case hex', () => {
    assert.equal(
      s3Code(() => parseListParams(q('encoding-type=URL2'))),
      'InvalidArgument',
    );
    assert.equal(s3UrlEncode('quux ab/thud'), 'quux%20ab/thud');
    assert.equal(s3UrlEncode('foo+1/'), 'foo%2B1/');
    assert.equal(s3UrlEncode('a-b_c.d~e'), 'a-b_c.d~e');
    assert.equal(s3UrlEncode('é*\x01'), '%C3%A9%2A%01');
  });
});

describe('ListBucketResult documents', () => {
  const page: ListObjectsResult = {
    objects: [info('a b'), info('c', { checksums: { crc32: 'AAAAAA==' } })],
    commonPrefixes: ['d+/'],
    isTruncated: true,
    nextMarker: 'd+/',
  };

  it('v1 without delimiter: Marker always, Owner on entries, no NextMarker even when truncated', () => {
    const params = parseListParams(q('max-keys=3'));
    const xml = xmlDocument('ListBucketResult', listObjectsV1Xml('bkt', params, '', page, OWNER));
    assert.ok(
      xml.includes(
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bkt</Name><Prefix></Prefix>' +
          '<Marker></Marker><MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated><Contents><Key>a b</Key>' +
          '<LastModified>2024-05-06T07:08:09.010Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>' +
          `<Size>11</Size><Owner><ID>${OWNER_ID}</ID><DisplayName>tiergateadmin</DisplayName></Owner>` +
          '<StorageClass>STANDARD</StorageClass></Contents>',
      ),
      xml,
    );
    assert.ok(xml.includes('<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><Size>'), xml);
    assert.ok(!xml.includes('NextMarker'), xml);
    assert.ok(!xml.includes('<Delimiter>'), xml);
  });

  it('v1 with delimiter and url encoding: NextMarker, encoded keys, prefixes, marker and EncodingType', () => {
    const params = parseListParams(q('delimiter=/&prefix=a b&encoding-type=url'));
    const xml = xmlDocument('ListBucketResult', listObjectsV1Xml('bkt', params, 'm m', page, OWNER));
    for (const part of [
      '<Prefix>a%20b</Prefix>',
      '<Marker>m%20m</Marker>',
      '<NextMarker>d%2B/</NextMarker>',
      '<Delimiter>/</Delimiter><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>',
      '<Key>a%20b</Key>',
      '<CommonPrefixes><Prefix>d%2B/</Prefix></CommonPrefixes>',
    ]) {
      assert.ok(xml.includes(part), `${part} in ${xml}`);
    }
  });

  it('v2: KeyCount counts keys and prefixes, NextContinuationToken decodes to the last entry, no Owner', () => {
    const params = parseListParams(q('list-type=2&delimiter=/'));
    const body = listObjectsV2Xml('bkt', params, { continuationToken: '', startAfter: 'a' }, page, undefined);
    const xml = xmlDocument('ListBucketResult', body);
    const token = body.NextContinuationToken;
    assert.equal(body.KeyCount, 3);
    assert.ok(typeof token === 'string');
    assert.equal(decodeContinuationToken(token), 'd+/');
    assert.ok(
      xml.includes(
        '<Name>bkt</Name><Prefix></Prefix><StartAfter>a</StartAfter><ContinuationToken></ContinuationToken>' +
          `<NextContinuationToken>${token}</NextContinuationToken><KeyCount>3</KeyCount>` +
          '<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>',
      ),
      xml,
    );
    assert.ok(!xml.includes('<Owner>'), xml);
  });

  it('v2 last page: no NextContinuationToken; fetch-owner adds the Owner', () => {
    const last: ListObjectsResult = {
      objects: [info('z')],
      commonPrefixes: [],
      isTruncated: false,
      nextMarker: 'z',
    };
    const body = listObjectsV2Xml('bkt', parseListParams(q('')), {}, last, OWNER);
    const xml = xmlDocument('ListBucketResult', body);
    assert.equal(body.NextContinuationToken, undefined);
    assert.ok(xml.includes('<IsTruncated>false</IsTruncated>'), xml);
    assert.ok(xml.includes(`<Owner><ID>${OWNER_ID}</ID>`), xml);
    assert.ok(!xml.includes('StartAfter') && !xml.includes('ContinuationToken'), xml);
  });
});

describe('DeleteObjects body', () => {
  it('parses keys, version ids and quiet, keeping whitespace inside keys', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n' +
      '  <Quiet>true</Quiet>\n  <Object><Key> sp </Key></Object>\n' +
      '  <Object><Key>a&amp;b</Key><VersionId>v1</VersionId></Object>\n</Delete>';
    assert.deepEqual(parseDeleteXml(xml), {
      quiet: true,
      objects: [
        { key: ' sp ', versionId: undefined },
        { key: 'a&b', versionId: 'v1' },
      ],
    });
    assert.equal(parseDeleteXml('<Delete><Object><Key>k</Key></Object></Delete>').quiet, false);
  });

  it('refuses no objects, more than 1000, or an Object without Key', () => {
    const many = (n: number): string =>
      `<Delete>${Array.from({ length: n }, (_, i) => `<Object><Key>k${i}</Key></Object>`).join('')}</Delete>`;
    assert.equal(parseDeleteXml(many(1000)).objects.length, 1000);
    assert.equal(
      s3Code(() => parseDeleteXml(many(1001))),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseDeleteXml('<Delete><Quiet>true</Quiet></Delete>')),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseDeleteXml('<Delete><Object><VersionId>v</VersionId></Object></Delete>')),
      'MalformedXML',
    );
    assert.equal(
      s3Code(() => parseDeleteXml('<Delete><Object><Key>k</Key></Object>')),
      'MalformedXML',
    );
  });

  it('requires Content-MD5 or an x-amz-checksum-* header (or trailer)', () => {
    assert.equal(hasIntegrityHeader({}), false);
    assert.equal(hasIntegrityHeader({ 'x-amz-checksum-type': 'FULL_OBJECT' }), false);
    assert.equal(hasIntegrityHeader({ 'content-md5': 'x' }), true);
    assert.equal(hasIntegrityHeader({ 'x-amz-checksum-crc32': 'AAAAAA==' }), true);
    assert.equal(hasIntegrityHeader({ 'x-amz-trailer': 'x-amz-checksum-crc64nvme' }), true);
  });

  it('checks Content-MD5: absent passes, malformed is InvalidDigest, mismatch is BadDigest', () => {
    const body = Buffer.from('<Delete/>');
    const md5 = createHash('md5').update(body).digest('base64');
    checkContentMd5({}, body);
    checkContentMd5({ 'content-md5': md5 }, body);
    assert.equal(
      s3Code(() => checkContentMd5({ 'content-md5': 'nope' }, body)),
      'InvalidDigest',
    );
    const other = createHash('md5').update('other').digest('base64');
    assert.equal(
      s3Code(() => checkContentMd5({ 'content-md5': other }, body)),
      'BadDigest',
    );
  });
});

describe('bucket location', () => {
  it('accepts no body, an empty constraint or our region; refuses another region', () => {
    assert.equal(parseLocationConstraint(Buffer.alloc(0)), '');
    assert.equal(parseLocationConstraint(Buffer.from('<CreateBucketConfiguration/>')), '');
    const eu =
      '<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>';
    assert.equal(parseLocationConstraint(Buffer.from(eu)), 'eu-west-1');
    checkLocationConstraint('', 'us-east-1');
    checkLocationConstraint('eu-west-1', 'eu-west-1');
    assert.equal(
      s3Code(() => checkLocationConstraint('eu-west-1', 'us-east-1')),
      'InvalidLocationConstraint',
    );
    assert.equal(
      s3Code(() => parseLocationConstraint(Buffer.from('<Bogus/>'))),
      'MalformedXML',
    );
  });

  it('answers an empty LocationConstraint for us-east-1 and the region otherwise', () => {
    assert.match(
      locationConstraintXml('us-east-1'),
      /<LocationConstraint xmlns="[^"]+"><\/LocationConstraint>$/,
    );
    assert.match(locationConstraintXml('eu-west-1'), />eu-west-1<\/LocationConstraint>$/);
  });
});

describe('BUCKET_HANDLERS', () => {
  it('has a handler for every bucket-level operation of the routing table', () => {
    // Service and bucket rows, except the multipart upload listing, which the multipart handlers own.
    const expected = [
      ...new Set(
        ROUTES.filter((r) => r.target !== 'object' && r.op !== 'ListMultipartUploads').map((r) => r.op),
      ),
    ];
    assert.deepEqual(Object.keys(BUCKET_HANDLERS).sort(), [...expected].sort());
    for (const op of expected) {
      assert.ok(S3_OPERATIONS.includes(op), op);
      assert.equal(typeof BUCKET_HANDLERS[op], 'function', op);
    }
  });
});
