/**
 * Pure pieces of the multipart handlers: part numbers, x-amz-copy-source-range, the CompleteMultipartUpload
 * document, the Location URL, and the ListParts / ListMultipartUploads bodies (grouping, paging, element order).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MultipartUploadInfo } from '../../storage/object-layer';
import { S3Error } from '../errors/s3-error';
import { xmlDocument } from '../xml/xml';
import { objectLocation, parseCompleteParts } from './complete-multipart-upload.handler';
import {
  groupUploads,
  listUploadsBody,
  parseListUploadsParams,
  type ListUploadsParams,
} from './list-multipart-uploads.handler';
import { listPartsBody, parseListPartsParams } from './list-parts.handler';
import { MULTIPART_HANDLERS } from './multipart.handlers';
import { parseCopySourceRange } from './upload-part-copy.handler';
import { parsePartNumber } from './upload-part.handler';

/** Asserts `fn` throws the S3Error `code`, optionally with a message matching `message`. */
function throwsS3(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof S3Error, `expected an S3Error, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Names of the elements of an XML document, in document order. */
const elementOrder = (xml: string): string[] => [...xml.matchAll(/<([A-Za-z]+)[ >]/g)].map((m) => m[1]);

describe('MULTIPART_HANDLERS', () => {
  it('registers all seven multipart operations', () => {
    assert.deepEqual(Object.keys(MULTIPART_HANDLERS).sort(), [
      'AbortMultipartUpload',
      'CompleteMultipartUpload',
      'CreateMultipartUpload',
      'ListMultipartUploads',
      'ListParts',
      'UploadPart',
      'UploadPartCopy',
    ]);
  });
});

describe('parsePartNumber', () => {
  const q = (v: string): URLSearchParams => new URLSearchParams({ partNumber: v, uploadId: 'u' });
  it('accepts 1 through 10000', () => {
    assert.equal(parsePartNumber(q('1')), 1);
    assert.equal(parsePartNumber(q('137')), 137);
    assert.equal(parsePartNumber(q('10000')), 10000);
  });
  for (const bad of ['0', '10001', '', 'abc', '1.5', '-1', ' 1', '1e3', '99999999999']) {
    it(`refuses ${JSON.stringify(bad)} with InvalidArgument`, () => {
      throwsS3(() => parsePartNumber(q(bad)), 'InvalidArgument', /between 1 and 10000/);
    });
  }
  it('refuses a missing partNumber', () => {
    throwsS3(() => parsePartNumber(new URLSearchParams('uploadId=u')), 'InvalidArgument');
  });
});

describe('parseCopySourceRange', () => {
  it('copies the whole source when absent', () => {
    assert.equal(parseCopySourceRange(undefined, 10), undefined);
  });
  it('resolves bytes=first-last, both inclusive', () => {
    assert.deepEqual(parseCopySourceRange('bytes=0-4', 10), { start: 0, end: 4 });
    assert.deepEqual(parseCopySourceRange('bytes=5-9', 10), { start: 5, end: 9 });
    assert.deepEqual(parseCopySourceRange('bytes=3-3', 10), { start: 3, end: 3 });
  });
  for (const bad of [
    'bytes=-5',
    'bytes=5-',
    '0-5',
    'bytes=0-1,2-3',
    'bytes=a-b',
    'bytes=5-2',
    'items=0-1',
    '',
  ]) {
    it(`refuses the malformed ${JSON.stringify(bad)} with InvalidArgument`, () => {
      throwsS3(
        () => parseCopySourceRange(bad, 10),
        'InvalidArgument',
        /must be of the form bytes=first-last/,
      );
    });
  }
  it('refuses a range past the end of the source, naming its size', () => {
    throwsS3(() => parseCopySourceRange('bytes=0-10', 10), 'InvalidRange', /source object of size: 10$/);
    throwsS3(() => parseCopySourceRange('bytes=10-12', 10), 'InvalidRange', /size: 10/);
    throwsS3(() => parseCopySourceRange('bytes=0-0', 0), 'InvalidRange', /size: 0/);
  });
  it('names the header and the value in the error', () => {
    try {
      parseCopySourceRange('bytes=0-', 10);
      assert.fail('expected a throw');
    } catch (err) {
      assert.ok(err instanceof S3Error);
      assert.deepEqual(err.extra, { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: 'bytes=0-' });
    }
  });
});

describe('parseCompleteParts', () => {
  it('reads PartNumber and ETag in document order, ignoring checksums and the namespace', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>' +
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      '<Part><ETag>"aaa"</ETag><PartNumber>1</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n' +
      '  <Part><PartNumber>3</PartNumber><ETag>bbb</ETag></Part>' +
      '<Part><PartNumber> 2 </PartNumber><ETag>&quot;ccc&quot;</ETag></Part>' +
      '</CompleteMultipartUpload>';
    assert.deepEqual(parseCompleteParts(xml), [
      { partNumber: 1, etag: '"aaa"' },
      { partNumber: 3, etag: 'bbb' },
      { partNumber: 2, etag: '"ccc"' },
    ]);
  });
  it('reads a single part', () => {
    const xml =
      '<CompleteMultipartUpload><Part><PartNumber>7</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>';
    assert.deepEqual(parseCompleteParts(Buffer.from(xml)), [{ partNumber: 7, etag: 'x' }]);
  });
  const bad: Record<string, string> = {
    empty: '',
    'not XML': 'hello',
    unclosed: '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>',
    'wrong root': '<CompleteUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteUpload>',
    'no parts': '<CompleteMultipartUpload></CompleteMultipartUpload>',
    'empty part': '<CompleteMultipartUpload><Part></Part></CompleteMultipartUpload>',
    'no ETag': '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>',
    'no PartNumber': '<CompleteMultipartUpload><Part><ETag>x</ETag></Part></CompleteMultipartUpload>',
    'text PartNumber':
      '<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
    'negative PartNumber':
      '<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>',
  };
  for (const [name, xml] of Object.entries(bad)) {
    it(`refuses ${name} with MalformedXML`, () => {
      throwsS3(() => parseCompleteParts(xml), 'MalformedXML');
    });
  }
});

describe('objectLocation', () => {
  it('names bucket and key on the request host in path style, encoding the key but not its slashes', () => {
    assert.equal(
      objectLocation('http', '127.0.0.1:9000', 'pics', 'a b/c+d.jpg', []),
      'http://127.0.0.1:9000/pics/a%20b/c%2Bd.jpg',
    );
  });
  it('leaves the bucket out when it is the virtual host', () => {
    assert.equal(
      objectLocation('https', 'pics.s3.example.com', 'pics', 'k', ['s3.example.com']),
      'https://pics.s3.example.com/k',
    );
    assert.equal(
      objectLocation('https', 's3.example.com', 'pics', 'k', ['s3.example.com']),
      'https://s3.example.com/pics/k',
    );
  });
});

describe('ListParts', () => {
  it('parses the markers and caps max-parts at 1000', () => {
    assert.deepEqual(parseListPartsParams(new URLSearchParams('uploadId=u')), {
      partNumberMarker: 0,
      maxParts: 1000,
    });
    assert.deepEqual(parseListPartsParams(new URLSearchParams('part-number-marker=4&max-parts=5000')), {
      partNumberMarker: 4,
      maxParts: 1000,
    });
    throwsS3(() => parseListPartsParams(new URLSearchParams('max-parts=-1')), 'InvalidArgument');
    throwsS3(() => parseListPartsParams(new URLSearchParams('part-number-marker=x')), 'InvalidArgument');
  });
  it('writes the ListPartsResult elements in the AWS order', () => {
    const body = listPartsBody(
      { bucket: 'b', key: 'k', uploadId: 'u1' },
      { partNumberMarker: 1, maxParts: 2 },
      {
        parts: [
          { partNumber: 2, etag: 'e2', size: 5, lastModified: new Date('2024-01-02T03:04:05.678Z') },
          { partNumber: 3, etag: 'e3', size: 6, lastModified: new Date('2024-01-02T03:04:06Z') },
        ],
        isTruncated: true,
        nextPartNumberMarker: 3,
      },
      { ID: 'id', DisplayName: 'me' },
      'STANDARD',
    );
    const xml = xmlDocument('ListPartsResult', body);
    assert.deepEqual(elementOrder(xml), [
      'ListPartsResult',
      'Bucket',
      'Key',
      'UploadId',
      'PartNumberMarker',
      'NextPartNumberMarker',
      'MaxParts',
      'IsTruncated',
      ...['Part', 'PartNumber', 'LastModified', 'ETag', 'Size'],
      ...['Part', 'PartNumber', 'LastModified', 'ETag', 'Size'],
      ...['Initiator', 'ID', 'DisplayName'],
      ...['Owner', 'ID', 'DisplayName'],
      'StorageClass',
    ]);
    assert.match(xml, /<NextPartNumberMarker>3<\/NextPartNumberMarker><MaxParts>2<\/MaxParts>/);
    assert.match(xml, /<IsTruncated>true<\/IsTruncated>/);
    assert.match(xml, /<LastModified>2024-01-02T03:04:05.678Z<\/LastModified><ETag>&quot;e2&quot;<\/ETag>/);
  });
  it('leaves NextPartNumberMarker out of a last page', () => {
    const xml = xmlDocument(
      'ListPartsResult',
      listPartsBody(
        { bucket: 'b', key: 'k', uploadId: 'u' },
        { partNumberMarker: 0, maxParts: 1000 },
        { parts: [], isTruncated: false },
        { ID: 'id', DisplayName: 'me' },
        'STANDARD',
      ),
    );
    assert.doesNotMatch(xml, /NextPartNumberMarker/);
    assert.match(xml, /<IsTruncated>false<\/IsTruncated>/);
  });
});

describe('ListMultipartUploads', () => {
  const at = new Date('2024-03-01T00:00:00Z');
  const up = (key: string, uploadId: string): MultipartUploadInfo => ({
    bucket: 'b',
    key,
    uploadId,
    initiated: at,
    storageClass: 'STANDARD',
  });
  const params = (over: Partial<ListUploadsParams> = {}): ListUploadsParams => ({
    prefix: '',
    delimiter: '',
    keyMarker: '',
    uploadIdMarker: '',
    maxUploads: 1000,
    encodeUrl: false,
    ...over,
  });
  const all = [
    up('a/1', 'u1'),
    up('a/2', 'u2'),
    up('b', 'u3'),
    up('b', 'u4'),
    up('c/x/1', 'u5'),
    up('d', 'u6'),
  ];

  it('parses the query, capping max-uploads and refusing unknown encodings', () => {
    assert.deepEqual(
      parseListUploadsParams(
        new URLSearchParams('uploads&prefix=p&delimiter=/&key-marker=k&upload-id-marker=i&max-uploads=9999'),
      ),
      params({ prefix: 'p', delimiter: '/', keyMarker: 'k', uploadIdMarker: 'i', maxUploads: 1000 }),
    );
    assert.equal(parseListUploadsParams(new URLSearchParams('encoding-type=url')).encodeUrl, true);
    throwsS3(() => parseListUploadsParams(new URLSearchParams('encoding-type=base64')), 'InvalidArgument');
    throwsS3(() => parseListUploadsParams(new URLSearchParams('max-uploads=many')), 'InvalidArgument');
  });

  it('without a delimiter pages uploads, with both next markers', () => {
    const page = groupUploads(all, params({ maxUploads: 3 }));
    assert.deepEqual(
      page.uploads.map((u) => u.uploadId),
      ['u1', 'u2', 'u3'],
    );
    assert.deepEqual(page.commonPrefixes, []);
    assert.equal(page.isTruncated, true);
    assert.equal(page.complete, true);
    assert.equal(page.nextKeyMarker, 'b');
    assert.equal(page.nextUploadIdMarker, 'u3');
  });

  it('is not truncated and wants more input when the uploads run out first', () => {
    const page = groupUploads(all, params({ maxUploads: 6 }));
    assert.equal(page.uploads.length, 6);
    assert.equal(page.isTruncated, false);
    assert.equal(page.complete, false);
    assert.equal(page.nextKeyMarker, undefined);
  });

  it('rolls keys up at the delimiter, counting each common prefix once', () => {
    const page = groupUploads(all, params({ delimiter: '/', maxUploads: 3 }));
    assert.deepEqual(page.commonPrefixes, ['a/']);
    assert.deepEqual(
      page.uploads.map((u) => u.uploadId),
      ['u3', 'u4'],
    );
    assert.equal(page.isTruncated, true);
    assert.equal(page.nextKeyMarker, 'b');
    assert.equal(page.nextUploadIdMarker, 'u4');
    const next = groupUploads(
      all.slice(4),
      params({ delimiter: '/', maxUploads: 1, keyMarker: 'b', uploadIdMarker: 'u4' }),
    );
    assert.deepEqual(next.commonPrefixes, ['c/']);
    assert.equal(next.nextKeyMarker, 'c/');
    assert.equal(next.nextUploadIdMarker, undefined);
  });

  it('rolls up below the prefix only', () => {
    const page = groupUploads(all, params({ prefix: 'c/', delimiter: '/' }));
    assert.deepEqual(page.commonPrefixes, ['c/x/']);
    assert.deepEqual(page.uploads, []);
  });

  it("skips a common prefix that was the previous page's key-marker", () => {
    const rest = all.slice(0, 2); // what storage returns after key-marker "a/" (keys after it)
    const page = groupUploads(rest, params({ delimiter: '/', keyMarker: 'a/' }));
    assert.deepEqual(page.commonPrefixes, []);
    assert.deepEqual(page.uploads, []);
  });

  it('returns an empty, untruncated page for max-uploads=0', () => {
    const page = groupUploads(all, params({ maxUploads: 0 }));
    assert.deepEqual(page.uploads, []);
    assert.equal(page.isTruncated, false);
    assert.equal(page.complete, true);
  });

  it('writes the ListMultipartUploadsResult elements in the AWS order, URL-encoding keys on request', () => {
    const p = params({ delimiter: '/', maxUploads: 2, prefix: 'x y/', keyMarker: 'x y/0', encodeUrl: true });
    const body = listUploadsBody(
      'b',
      p,
      {
        uploads: [up('x y/a+b', 'u1')],
        commonPrefixes: ['x y/dir/'],
        isTruncated: true,
        nextKeyMarker: 'x y/dir/',
        complete: true,
      },
      { ID: 'id', DisplayName: 'me' },
    );
    const xml = xmlDocument('ListMultipartUploadsResult', body);
    assert.deepEqual(elementOrder(xml), [
      'ListMultipartUploadsResult',
      'Bucket',
      'KeyMarker',
      'UploadIdMarker',
      'NextKeyMarker',
      'Prefix',
      'Delimiter',
      'MaxUploads',
      'IsTruncated',
      ...['Upload', 'Key', 'UploadId', 'Initiator', 'ID', 'DisplayName', 'Owner', 'ID', 'DisplayName'],
      ...['StorageClass', 'Initiated'],
      ...['CommonPrefixes', 'Prefix'],
      'EncodingType',
    ]);
    assert.match(xml, /<KeyMarker>x%20y\/0<\/KeyMarker><UploadIdMarker><\/UploadIdMarker>/);
    assert.match(xml, /<NextKeyMarker>x%20y\/dir\/<\/NextKeyMarker>/);
    assert.match(xml, /<Key>x%20y\/a%2Bb<\/Key>/);
    assert.match(xml, /<CommonPrefixes><Prefix>x%20y\/dir\/<\/Prefix><\/CommonPrefixes>/);
    assert.match(xml, /<Initiated>2024-03-01T00:00:00.000Z<\/Initiated>/);
    assert.match(xml, /<EncodingType>url<\/EncodingType>/);
  });

  it('leaves the next markers, Delimiter and EncodingType out when not applicable', () => {
    const xml = xmlDocument(
      'ListMultipartUploadsResult',
      listUploadsBody(
        'b',
        params(),
        { uploads: [up('k', 'u1')], commonPrefixes: [], isTruncated: false, complete: false },
        { ID: 'id', DisplayName: 'me' },
      ),
    );
    assert.doesNotMatch(xml, /NextKeyMarker|NextUploadIdMarker|Delimiter|EncodingType|CommonPrefixes/);
    assert.match(xml, /<Key>k<\/Key><UploadId>u1<\/UploadId>/);
  });
});
