/** stored-lifecycle.ts: the versioned JSON form round-trips, and what it cannot read is refused, not guessed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicRule, doc, parse, rule } from '../../../test/fixtures/lifecycle-docs';
import { decodeLifecycle, encodeLifecycle } from './stored-lifecycle';

describe('stored lifecycle documents', () => {
  it('round-trip every element', () => {
    const config = parse(
      doc(
        rule('<Prefix>old/</Prefix><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>'),
        basicRule(
          '<Transition><Days>1</Days><StorageClass>COLD</StorageClass></Transition>' +
            '<Expiration><Days>9</Days></Expiration>' +
            '<NoncurrentVersionTransition><NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionTransition>' +
            '<NoncurrentVersionExpiration><NoncurrentDays>5</NoncurrentDays></NoncurrentVersionExpiration>' +
            '<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
          'all',
        ),
        rule(
          '<ID>and</ID><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>' +
            '<Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>',
        ),
      ),
      { transitionMinSizeHeader: 'varies_by_storage_class' },
    );
    assert.deepEqual(decodeLifecycle(encodeLifecycle(config)), JSON.parse(JSON.stringify(config)));
  });

  it('starts with its format name and version', () => {
    const text = encodeLifecycle(parse(doc(basicRule('<Expiration><Days>1</Days></Expiration>')))).toString();
    assert.match(text, /^\{"format":"tiergate\.bucket-lifecycle","version":1,/);
  });

  const bad: [string, string][] = [
    ['not JSON', '{'],
    ['another format', '{"format":"tiergate.bucket-tagging","version":1,"tags":[]}'],
    ['a later version', '{"format":"tiergate.bucket-lifecycle","version":2,"config":{}}'],
    [
      'no rules',
      '{"format":"tiergate.bucket-lifecycle","version":1,"config":{"rules":[],"transitionMinSizeMode":"all_storage_classes_128K"}}',
    ],
    [
      'a damaged rule',
      '{"format":"tiergate.bucket-lifecycle","version":1,"config":{"rules":[{"id":1}],"transitionMinSizeMode":"all_storage_classes_128K"}}',
    ],
  ];
  for (const [name, text] of bad) {
    it(`refuses ${name}`, () => assert.throws(() => decodeLifecycle(Buffer.from(text))));
  }
});
