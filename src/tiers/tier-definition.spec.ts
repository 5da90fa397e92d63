import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateTierDefinition, type TierDefinition } from './tier-definition';
import { TierError } from './tier-error';
import { parseRestoreHeader, formatRestoreHeader } from './restore-header';

const good: TierDefinition = {
  name: 'COLD',
  type: 's3',
  region: 'eu-west-1',
  bucket: 'my-bucket',
  prefix: 'tiergate/',
  storageClass: 'GLACIER',
};

describe('validateTierDefinition', () => {
  it('accepts a complete definition, with or without keys', () => {
    validateTierDefinition(good);
    validateTierDefinition({ ...good, accessKey: 'a', secretKey: 'b', endpoint: 'https://s3.example.com' });
    validateTierDefinition({
      ...good,
      type: 'oss',
      storageClass: 'ColdArchive',
      region: 'oss-cn-hangzhou',
      prefix: '',
    });
  });
  const bad: [string, Partial<TierDefinition>][] = [
    ['lower-case name', { name: 'cold' }],
    ['reserved name', { name: 'STANDARD' }],
    ['unknown type', { type: 'gcs' as never }],
    ['storage class of the other cloud', { storageClass: 'Archive' }],
    ['prefix without a trailing slash', { prefix: 'tiergate' }],
    ['only one key', { accessKey: 'a' }],
    ['endpoint with a path', { endpoint: 'https://s3.example.com/bucket' }],
    ['endpoint that is not a URL', { endpoint: 's3.example.com' }],
    ['bad bucket', { bucket: 'My_Bucket' }],
  ];
  for (const [why, change] of bad) {
    it(`refuses ${why}`, () => {
      assert.throws(
        () => validateTierDefinition({ ...good, ...change }),
        (err: unknown) => err instanceof TierError && err.code === 'InvalidConfig' && !err.retryable,
      );
    });
  }
});

describe('restore header', () => {
  it('parses both states and formats them back', () => {
    assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
    const done = parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"');
    assert.deepEqual(done, { ongoing: false, expiry: new Date('2012-12-21T00:00:00Z') });
    assert.equal(
      formatRestoreHeader(done),
      'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"',
    );
    assert.equal(parseRestoreHeader(undefined), undefined);
    assert.equal(parseRestoreHeader('garbage'), undefined);
  });
});
