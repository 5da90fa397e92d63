/**
 * The S3 side of bucket lifecycle: the GET document rendered by the S3 XML writer parses back to the same
 * configuration (every element), and lifecycle errors become S3 errors with the same code and message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicRule, doc, parse, rule } from '../../../test/fixtures/lifecycle-docs';
import { lifecycleToXml } from '../../lifecycle/rules/lifecycle-to-xml';
import { LifecycleError } from '../../lifecycle/rules/lifecycle-config';
import { S3Error } from '../errors/s3-error';
import { xmlDocument } from '../xml/xml';
import { withS3Errors } from './bucket-lifecycle.helpers';

describe('GetBucketLifecycleConfiguration document', () => {
  const sent = doc(
    rule(
      '<ID>legacy</ID><Prefix>old/</Prefix><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>',
    ),
    rule(
      '<ID>all</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
    ),
    rule(
      '<ID>tag</ID><Filter><Tag><Key>k&amp;</Key><Value>&lt;v&gt;</Value></Tag></Filter><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>',
    ),
    rule(
      '<ID>gt</ID><Filter><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>',
    ),
    rule(
      '<ID>lt</ID><Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>',
    ),
    rule(
      '<ID>and</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag>' +
        '<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter><Status>Enabled</Status>' +
        '<Transition><Days>0</Days><StorageClass>COLD</StorageClass></Transition><Transition><Days>10</Days><StorageClass>ARCHIVE</StorageClass></Transition>' +
        '<Expiration><Days>20</Days></Expiration>' +
        '<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass></NoncurrentVersionTransition>' +
        '<NoncurrentVersionTransition><NoncurrentDays>2</NoncurrentDays><StorageClass>ARCHIVE</StorageClass><NewerNoncurrentVersions>4</NewerNoncurrentVersions></NoncurrentVersionTransition>' +
        '<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
    ),
    basicRule(
      '<Transition><Date>2031-01-01T00:00:00Z</Date><StorageClass>COLD</StorageClass></Transition>',
      'date',
    ),
    basicRule(
      '<AbortIncompleteMultipartUpload><DaysAfterInitiation>4</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
      'abort',
    ),
  );

  it('parses back to the configuration it was written from', () => {
    const config = parse(sent);
    const written = xmlDocument('LifecycleConfiguration', lifecycleToXml(config));
    assert.deepEqual(parse(written), config);
  });

  it('writes the elements in the order AWS answers them', () => {
    const written = xmlDocument('LifecycleConfiguration', lifecycleToXml(parse(sent)));
    assert.match(
      written,
      /^<\?xml version="1.0" encoding="UTF-8"\?><LifecycleConfiguration xmlns="http:\/\/s3.amazonaws.com\/doc\/2006-03-01\/"><Rule><ID>legacy<\/ID><Prefix>old\/<\/Prefix><Status>Disabled<\/Status><Expiration><Days>1<\/Days><\/Expiration><\/Rule>/,
    );
    assert.ok(written.includes('<Rule><ID>all</ID><Filter></Filter><Status>Enabled</Status>'), written);
    assert.ok(written.includes('<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>'), written);
    assert.ok(written.includes('<Tag><Key>k&amp;</Key><Value>&lt;v&gt;</Value></Tag>'), written);
  });
});

describe('withS3Errors', () => {
  it('turns a LifecycleError into the S3Error with its code and message', () => {
    assert.throws(
      () =>
        withS3Errors(() => {
          throw new LifecycleError('InvalidArgument', 'why');
        }),
      (err: unknown) =>
        err instanceof S3Error &&
        err.code === 'InvalidArgument' &&
        err.message === 'why' &&
        err.status === 400,
    );
    assert.throws(
      () =>
        withS3Errors(() => {
          throw new LifecycleError('InvalidStorageClass');
        }),
      (err: unknown) => err instanceof S3Error && err.code === 'InvalidStorageClass' && err.status === 400,
    );
  });

  it('passes other errors and results through', () => {
    assert.equal(
      withS3Errors(() => 5),
      5,
    );
    assert.throws(
      () =>
        withS3Errors(() => {
          throw new RangeError('x');
        }),
      RangeError,
    );
  });
});
