/** parse-lifecycle.ts on valid documents: every element of the schema lands in the model as sent. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basicRule, doc, errorOf, parse, rule } from '../../../test/fixtures/lifecycle-docs';
import type { RuleFilter } from './lifecycle-config';
import { randomRuleId } from './parse-lifecycle';

const STATUS = '<Status>Enabled</Status>';
const EXPIRE = '<Expiration><Days>1</Days></Expiration>';

describe('parseLifecycleConfiguration: filters', () => {
  const table: [string, string, RuleFilter][] = [
    ['legacy top-level Prefix', '<Prefix>old/</Prefix>', { kind: 'legacy-prefix', prefix: 'old/' }],
    ['empty legacy Prefix', '<Prefix></Prefix>', { kind: 'legacy-prefix', prefix: '' }],
    ['empty Filter', '<Filter></Filter>', { kind: 'all' }],
    ['self-closing Filter', '<Filter/>', { kind: 'all' }],
    ['Filter Prefix', '<Filter><Prefix>logs/</Prefix></Filter>', { kind: 'prefix', prefix: 'logs/' }],
    ['empty Filter Prefix', '<Filter><Prefix/></Filter>', { kind: 'prefix', prefix: '' }],
    [
      'Filter Tag',
      '<Filter><Tag><Key>class</Key><Value>tmp</Value></Tag></Filter>',
      { kind: 'tag', tag: { key: 'class', value: 'tmp' } },
    ],
    [
      'Filter Tag without Value',
      '<Filter><Tag><Key>class</Key></Tag></Filter>',
      { kind: 'tag', tag: { key: 'class', value: '' } },
    ],
    [
      'Filter ObjectSizeGreaterThan',
      '<Filter><ObjectSizeGreaterThan>1024</ObjectSizeGreaterThan></Filter>',
      { kind: 'size-greater-than', bytes: 1024 },
    ],
    [
      'Filter ObjectSizeLessThan',
      '<Filter><ObjectSizeLessThan>2048</ObjectSizeLessThan></Filter>',
      { kind: 'size-less-than', bytes: 2048 },
    ],
    [
      'And with every predicate',
      '<Filter><And><Prefix>a/</Prefix><Tag><Key>k1</Key><Value>v1</Value></Tag><Tag><Key>k2</Key><Value>v2</Value></Tag>' +
        '<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And></Filter>',
      {
        kind: 'and',
        prefix: 'a/',
        tags: [
          { key: 'k1', value: 'v1' },
          { key: 'k2', value: 'v2' },
        ],
        sizeGreaterThan: 10,
        sizeLessThan: 20,
      },
    ],
    [
      'And with two tags and no prefix',
      '<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value>2</Value></Tag></And></Filter>',
      {
        kind: 'and',
        prefix: undefined,
        tags: [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
        sizeGreaterThan: undefined,
        sizeLessThan: undefined,
      },
    ],
    [
      'And with an empty prefix and a size',
      '<Filter><And><Prefix></Prefix><ObjectSizeGreaterThan>0</ObjectSizeGreaterThan></And></Filter>',
      { kind: 'and', prefix: '', tags: [], sizeGreaterThan: 0, sizeLessThan: undefined },
    ],
  ];
  for (const [name, filter, expected] of table) {
    it(name, () => {
      const config = parse(doc(rule(`<ID>x</ID>${filter}${STATUS}${EXPIRE}`)));
      assert.deepEqual(config.rules[0].filter, expected);
    });
  }

  it('keeps whitespace and decodes entities in prefixes and tags', () => {
    const config = parse(
      doc(
        rule(
          `<Filter><And><Prefix> a&amp;b </Prefix><Tag><Key>k&lt;</Key><Value>&#34;v&#34;</Value></Tag></And></Filter>${STATUS}${EXPIRE}`,
        ),
      ),
    );
    assert.deepEqual(config.rules[0].filter, {
      kind: 'and',
      prefix: ' a&b ',
      tags: [{ key: 'k<', value: '"v"' }],
      sizeGreaterThan: undefined,
      sizeLessThan: undefined,
    });
  });
});

describe('parseLifecycleConfiguration: actions', () => {
  it('reads Expiration Days, Date and ExpiredObjectDeleteMarker', () => {
    const config = parse(
      doc(
        basicRule('<Expiration><Days> 30 </Days></Expiration>', 'days'),
        basicRule('<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>', 'date'),
        basicRule('<Expiration><Date>2030-01-02T02:00:00+02:00</Date></Expiration>', 'offset'),
        basicRule(
          '<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>',
          'm1',
        ),
        basicRule(
          '<Expiration><ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>',
          'm2',
        ),
      ),
    );
    assert.deepEqual(
      config.rules.map((r) => r.expiration),
      [
        { days: 30 },
        { date: '2030-01-01T00:00:00.000Z' },
        { date: '2030-01-02T00:00:00.000Z' },
        { expiredObjectDeleteMarker: true },
        { expiredObjectDeleteMarker: false },
      ],
    );
  });

  it('reads Transitions by Days (0 allowed) and by Date, in document order', () => {
    const config = parse(
      doc(
        basicRule(
          '<Transition><Days>0</Days><StorageClass>COLD</StorageClass></Transition>' +
            '<Transition><Days>30</Days><StorageClass>ARCHIVE</StorageClass></Transition>',
          'days',
        ),
        basicRule(
          '<Transition><Date>2031-06-01T00:00:00.000Z</Date><StorageClass>COLD</StorageClass></Transition>',
          'date',
        ),
      ),
    );
    assert.deepEqual(config.rules[0].transitions, [
      { days: 0, storageClass: 'COLD' },
      { days: 30, storageClass: 'ARCHIVE' },
    ]);
    assert.deepEqual(config.rules[1].transitions, [
      { date: '2031-06-01T00:00:00.000Z', storageClass: 'COLD' },
    ]);
  });

  it('reads the noncurrent actions with and without NewerNoncurrentVersions', () => {
    const config = parse(
      doc(
        basicRule(
          '<NoncurrentVersionTransition><NoncurrentDays>5</NoncurrentDays><StorageClass>COLD</StorageClass></NoncurrentVersionTransition>' +
            '<NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays><StorageClass>ARCHIVE</StorageClass>' +
            '<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionTransition>' +
            '<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>100</NewerNoncurrentVersions></NoncurrentVersionExpiration>',
        ),
      ),
    );
    const r = config.rules[0];
    assert.deepEqual(r.noncurrentVersionTransitions, [
      { noncurrentDays: 5, storageClass: 'COLD' },
      { noncurrentDays: 10, newerNoncurrentVersions: 2, storageClass: 'ARCHIVE' },
    ]);
    assert.deepEqual(r.noncurrentVersionExpiration, { noncurrentDays: 30, newerNoncurrentVersions: 100 });
  });

  it('reads AbortIncompleteMultipartUpload', () => {
    const config = parse(
      doc(
        basicRule(
          '<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>',
        ),
      ),
    );
    assert.deepEqual(config.rules[0].abortIncompleteMultipartUpload, { daysAfterInitiation: 7 });
  });
});

describe('parseLifecycleConfiguration: rules and documents', () => {
  it('generates IDs for rules without one (absent or empty) and keeps the others', () => {
    const config = parse(
      doc(
        rule(`<Prefix>a</Prefix>${STATUS}${EXPIRE}`),
        rule(`<ID></ID><Prefix>b</Prefix>${STATUS}${EXPIRE}`),
        basicRule(EXPIRE, 'mine'),
      ),
    );
    assert.deepEqual(
      config.rules.map((r) => r.id),
      ['generated-1', 'generated-2', 'mine'],
    );
  });

  it('generates AWS-like random IDs by default', () => {
    const a = randomRuleId();
    assert.equal(a.length, 48);
    assert.notEqual(a, randomRuleId());
  });

  it('keeps Disabled rules', () => {
    const config = parse(doc(rule(`<ID>off</ID><Prefix></Prefix><Status>Disabled</Status>${EXPIRE}`)));
    assert.equal(config.rules[0].status, 'Disabled');
  });

  it('accepts pretty-printed documents, the older root name and no namespace', () => {
    const pretty =
      '<LifecycleConfiguration>\n  <Rule>\n    <ID>p</ID>\n    <Filter>\n      <Prefix>x/</Prefix>\n    </Filter>\n' +
      '    <Status>Enabled</Status>\n    <Expiration>\n      <Days>3</Days>\n    </Expiration>\n  </Rule>\n</LifecycleConfiguration>\n';
    assert.deepEqual(parse(pretty).rules[0].expiration, { days: 3 });
    const older = `<BucketLifecycleConfiguration>${basicRule(EXPIRE)}</BucketLifecycleConfiguration>`;
    assert.equal(parse(older).rules.length, 1);
  });

  it('accepts exactly 1000 rules', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => basicRule(EXPIRE, `r${i}`));
    assert.equal(parse(doc(...rules)).rules.length, 1000);
  });

  it('takes the transition minimum-size mode from the header, AWS default when absent', () => {
    assert.equal(parse(doc(basicRule(EXPIRE))).transitionMinSizeMode, 'all_storage_classes_128K');
    assert.equal(
      parse(doc(basicRule(EXPIRE)), { transitionMinSizeHeader: 'varies_by_storage_class' })
        .transitionMinSizeMode,
      'varies_by_storage_class',
    );
    assert.equal(
      errorOf(doc(basicRule(EXPIRE)), { transitionMinSizeHeader: 'tiny' }).code,
      'InvalidArgument',
    );
  });
});
