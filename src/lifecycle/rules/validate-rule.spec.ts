/**
 * Every way PutBucketLifecycleConfiguration refuses a well-formed document after its schema (validate-rule.ts),
 * with the code AWS answers, and the boundary on the accepted side next to each limit (255-character ID,
 * 1024-character prefix, 100 NewerNoncurrentVersions...), so a check that is too strict fails here as well as one
 * that is missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  abortAfter as abort,
  basicRule,
  doc,
  ENABLED as S,
  errorOf,
  type ErrorRow as Row,
  EXPIRE_1 as EXPIRE,
  EXPIRE_MARKERS as EODM,
  expiration as exp,
  noncurrentExpiration as nve,
  noncurrentTransition as nvt,
  rule,
  tagXml as tag,
  transition as tr,
  withFilter,
} from '../../../test/fixtures/lifecycle-docs';
import { MAX_OBJECT_SIZE_FILTER } from './lifecycle-config';
import { normaliseLifecycleDate } from './validate-rule';

const invalidArgument: Row[] = [
  ['ID of 256 characters', doc(basicRule(EXPIRE, 'i'.repeat(256))), 'InvalidArgument'],
  ['ID of 255 characters', doc(basicRule(EXPIRE, 'i'.repeat(255))), 'no error'],
  ['two rules with one ID', doc(basicRule(EXPIRE, 'same'), basicRule(EXPIRE, 'same')), 'InvalidArgument'],
  ['Expiration Days 0', doc(basicRule(exp('<Days>0</Days>'))), 'InvalidArgument'],
  ['Expiration Days -1', doc(basicRule(exp('<Days>-1</Days>'))), 'InvalidArgument'],
  ['Date not ISO 8601', doc(basicRule(exp('<Date>01/01/2030</Date>'))), 'InvalidArgument'],
  ['Date that does not exist', doc(basicRule(exp('<Date>2030-02-30T00:00:00Z</Date>'))), 'InvalidArgument'],
  ['Date not at midnight', doc(basicRule(exp('<Date>2030-01-01T12:00:00Z</Date>'))), 'InvalidArgument'],
  [
    'Date at local midnight only',
    doc(basicRule(exp('<Date>2030-01-01T00:00:00+01:00</Date>'))),
    'InvalidArgument',
  ],
  ['Date in the past', doc(basicRule(exp('<Date>2001-01-01T00:00:00Z</Date>'))), 'no error'],
  [
    'Transition Days -1',
    doc(basicRule(tr('<Days>-1</Days><StorageClass>COLD</StorageClass>'))),
    'InvalidArgument',
  ],
  [
    'Transitions on the same day',
    doc(
      basicRule(
        tr('<Days>5</Days><StorageClass>COLD</StorageClass>') +
          tr('<Days>5</Days><StorageClass>ARCHIVE</StorageClass>'),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'Expiration not after a Transition (Days)',
    doc(basicRule(tr('<Days>30</Days><StorageClass>COLD</StorageClass>') + exp('<Days>30</Days>'))),
    'InvalidArgument',
  ],
  [
    'Expiration one day after a Transition',
    doc(basicRule(tr('<Days>30</Days><StorageClass>COLD</StorageClass>') + exp('<Days>31</Days>'))),
    'no error',
  ],
  [
    'Expiration not after a Transition (Date)',
    doc(
      basicRule(
        tr('<Date>2030-01-02T00:00:00Z</Date><StorageClass>COLD</StorageClass>') +
          exp('<Date>2030-01-01T00:00:00Z</Date>'),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'NoncurrentDays 0 for expiration',
    doc(basicRule(nve('<NoncurrentDays>0</NoncurrentDays>'))),
    'InvalidArgument',
  ],
  [
    'NewerNoncurrentVersions 0',
    doc(
      basicRule(
        nve('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0</NewerNoncurrentVersions>'),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'NewerNoncurrentVersions 101',
    doc(
      basicRule(
        nve('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions>'),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'NewerNoncurrentVersions 100',
    doc(
      basicRule(
        nve('<NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>100</NewerNoncurrentVersions>'),
      ),
    ),
    'no error',
  ],
  [
    'NewerNoncurrentVersions 101 on a transition',
    doc(
      basicRule(
        nvt(
          '<NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass><NewerNoncurrentVersions>101</NewerNoncurrentVersions>',
        ),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'NoncurrentDays -1 for a transition',
    doc(basicRule(nvt('<NoncurrentDays>-1</NoncurrentDays><StorageClass>COLD</StorageClass>'))),
    'InvalidArgument',
  ],
  [
    'NoncurrentDays 0 for a transition',
    doc(basicRule(nvt('<NoncurrentDays>0</NoncurrentDays><StorageClass>COLD</StorageClass>'))),
    'no error',
  ],
  [
    'noncurrent transitions on the same day',
    doc(
      basicRule(
        nvt('<NoncurrentDays>3</NoncurrentDays><StorageClass>COLD</StorageClass>') +
          nvt('<NoncurrentDays>3</NoncurrentDays><StorageClass>ARCHIVE</StorageClass>'),
      ),
    ),
    'InvalidArgument',
  ],
  [
    'noncurrent expiration not after the noncurrent transition',
    doc(
      basicRule(
        nvt('<NoncurrentDays>3</NoncurrentDays><StorageClass>COLD</StorageClass>') +
          nve('<NoncurrentDays>3</NoncurrentDays>'),
      ),
    ),
    'InvalidArgument',
  ],
  ['DaysAfterInitiation 0', doc(basicRule(abort('0'))), 'InvalidArgument'],
];

const invalidRequest: Row[] = [
  ['a rule without actions', doc(basicRule('')), 'InvalidRequest'],
  [
    'prefix of 1025 characters',
    doc(rule(`<Prefix>${'p'.repeat(1025)}</Prefix>${S}${EXPIRE}`)),
    'InvalidRequest',
  ],
  ['prefix of 1024 characters', doc(rule(`<Prefix>${'p'.repeat(1024)}</Prefix>${S}${EXPIRE}`)), 'no error'],
  [
    'Filter prefix of 1025 characters',
    withFilter(`<Prefix>${'p'.repeat(1025)}</Prefix>`, EXPIRE),
    'InvalidRequest',
  ],
  [
    'And prefix of 1025 characters',
    withFilter(`<And><Prefix>${'p'.repeat(1025)}</Prefix>${tag('a')}</And>`, EXPIRE),
    'InvalidRequest',
  ],
  ['empty tag key', withFilter(tag(''), EXPIRE), 'InvalidRequest'],
  ['tag key of 129 characters', withFilter(tag('k'.repeat(129)), EXPIRE), 'InvalidRequest'],
  ['tag key of 128 characters', withFilter(tag('k'.repeat(128)), EXPIRE), 'no error'],
  ['tag value of 257 characters', withFilter(tag('k', 'v'.repeat(257)), EXPIRE), 'InvalidRequest'],
  ['tag value of 256 characters', withFilter(tag('k', 'v'.repeat(256)), EXPIRE), 'no error'],
  ['duplicate tag keys', withFilter(`<And>${tag('a', '1')}${tag('a', '2')}</And>`, EXPIRE), 'InvalidRequest'],
  [
    'negative ObjectSizeGreaterThan',
    withFilter('<ObjectSizeGreaterThan>-1</ObjectSizeGreaterThan>', EXPIRE),
    'InvalidRequest',
  ],
  [
    'ObjectSizeLessThan 0',
    withFilter('<ObjectSizeLessThan>0</ObjectSizeLessThan>', EXPIRE),
    'InvalidRequest',
  ],
  [
    'ObjectSizeLessThan past the maximum',
    withFilter(`<ObjectSizeLessThan>${MAX_OBJECT_SIZE_FILTER + 1}</ObjectSizeLessThan>`, EXPIRE),
    'InvalidRequest',
  ],
  [
    'ObjectSizeGreaterThan not below ObjectSizeLessThan',
    withFilter(
      '<And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></And>',
      EXPIRE,
    ),
    'InvalidRequest',
  ],
  ['ExpiredObjectDeleteMarker with a Tag filter', withFilter(tag('k'), EODM), 'InvalidRequest'],
  [
    'ExpiredObjectDeleteMarker with a tag in And',
    withFilter(`<And><Prefix>a</Prefix>${tag('k')}</And>`, EODM),
    'InvalidRequest',
  ],
  ['AbortIncompleteMultipartUpload with a Tag filter', withFilter(tag('k'), abort('1')), 'InvalidRequest'],
  [
    'AbortIncompleteMultipartUpload with a size filter',
    withFilter('<ObjectSizeGreaterThan>5</ObjectSizeGreaterThan>', abort('1')),
    'InvalidRequest',
  ],
  [
    'AbortIncompleteMultipartUpload with a prefix',
    withFilter('<Prefix>up/</Prefix>', abort('1')),
    'no error',
  ],
  [
    'Transitions mixing Date and Days',
    doc(
      basicRule(
        tr('<Days>5</Days><StorageClass>COLD</StorageClass>') +
          tr('<Date>2030-01-01T00:00:00Z</Date><StorageClass>ARCHIVE</StorageClass>'),
      ),
    ),
    'InvalidRequest',
  ],
  [
    'Expiration Date with Transition Days',
    doc(
      basicRule(
        tr('<Days>5</Days><StorageClass>COLD</StorageClass>') + exp('<Date>2030-01-01T00:00:00Z</Date>'),
      ),
    ),
    'InvalidRequest',
  ],
  [
    'two Transitions to one class',
    doc(
      basicRule(
        tr('<Days>5</Days><StorageClass>COLD</StorageClass>') +
          tr('<Days>9</Days><StorageClass>COLD</StorageClass>'),
      ),
    ),
    'InvalidRequest',
  ],
  [
    'two noncurrent Transitions to one class',
    doc(
      basicRule(
        nvt('<NoncurrentDays>1</NoncurrentDays><StorageClass>COLD</StorageClass>') +
          nvt('<NoncurrentDays>2</NoncurrentDays><StorageClass>COLD</StorageClass>'),
      ),
    ),
    'InvalidRequest',
  ],
];

const invalidStorageClass: Row[] = [
  [
    'Transition to an unknown class',
    doc(basicRule(tr('<Days>5</Days><StorageClass>GLACIER</StorageClass>'))),
    'InvalidStorageClass',
  ],
  [
    'Transition to STANDARD',
    doc(basicRule(tr('<Days>5</Days><StorageClass>STANDARD</StorageClass>'))),
    'InvalidStorageClass',
  ],
  [
    'noncurrent Transition to an unknown class',
    doc(basicRule(nvt('<NoncurrentDays>1</NoncurrentDays><StorageClass>cold</StorageClass>'))),
    'InvalidStorageClass',
  ],
];

for (const [title, rows] of [
  ['InvalidArgument', invalidArgument],
  ['InvalidRequest', invalidRequest],
  ['InvalidStorageClass', invalidStorageClass],
] as const) {
  describe(`validation: ${title}`, () => {
    for (const [name, body, expected] of rows) {
      it(`${name} -> ${expected}`, () => assert.equal(errorOf(body).code, expected));
    }
  });
}

describe('validation messages', () => {
  const cases: [string, string][] = [
    [doc(basicRule(exp('<Days>0</Days>'))), "'Days' for Expiration action must be a positive integer"],
    [
      doc(basicRule(abort('0'))),
      "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer",
    ],
    [doc(basicRule(exp('<Date>2030-01-01T12:00:00Z</Date>'))), "'Date' must be at midnight GMT"],
    [doc(basicRule(EXPIRE, 'i'.repeat(256))), 'ID length should not exceed allowed limit of 255'],
    [
      doc(basicRule(EXPIRE, 'x'), basicRule(EXPIRE, 'x')),
      'Rule ID must be unique. Found same ID for more than one rule',
    ],
    [withFilter(tag('k'), abort('1')), 'AbortIncompleteMultipartUpload cannot be specified with Tags.'],
    [doc(basicRule('')), 'At least one action needs to be specified in a rule'],
    [
      doc(basicRule(tr('<Days>30</Days><StorageClass>COLD</StorageClass>') + exp('<Days>2</Days>'))),
      "'Days' in the Expiration action for filter '(prefix=logs/)' must be greater than 'Days' in the Transition action",
    ],
  ];
  for (const [body, message] of cases) {
    it(message, () => assert.equal(errorOf(body).message, message));
  }
});

describe('storage classes', () => {
  it('refuses every transition while no tier registry answers', () => {
    const noTiers = { isKnownStorageClass: () => false };
    assert.equal(
      errorOf(doc(basicRule(tr('<Days>1</Days><StorageClass>COLD</StorageClass>'))), noTiers).code,
      'InvalidStorageClass',
    );
    assert.equal(errorOf(doc(basicRule(EXPIRE)), noTiers).code, 'no error');
  });

  it('asks the registry about each class it names', () => {
    const asked: string[] = [];
    const known = (name: string): boolean => {
      asked.push(name);
      return true;
    };
    errorOf(
      doc(
        basicRule(
          tr('<Days>1</Days><StorageClass>A</StorageClass>') +
            nvt('<NoncurrentDays>1</NoncurrentDays><StorageClass>B</StorageClass>'),
        ),
      ),
      { isKnownStorageClass: known },
    );
    assert.deepEqual(asked, ['A', 'B']);
  });
});

describe('normaliseLifecycleDate', () => {
  it('writes every accepted spelling of a midnight one way', () => {
    for (const text of [
      '2030-05-06T00:00:00Z',
      '2030-05-06T00:00:00.000Z',
      '2030-05-06T00:00:00',
      ' 2030-05-06T01:30:00+01:30 ',
    ]) {
      assert.equal(normaliseLifecycleDate(text), '2030-05-06T00:00:00.000Z', text);
    }
  });
});
