/**
 * The schema pass of PutBucketLifecycleConfiguration (parse-rule.ts): every shape AWS's schema refuses is
 * MalformedXML, whatever else is wrong with the document.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
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

const rows: Row[] = [
  ['not XML', 'not xml', 'MalformedXML'],
  ['empty body', '', 'MalformedXML'],
  ['unclosed element', '<LifecycleConfiguration><Rule>', 'MalformedXML'],
  ['wrong root', `<Lifecycle>${basicRule(EXPIRE)}</Lifecycle>`, 'MalformedXML'],
  ['DOCTYPE', `<!DOCTYPE x [<!ENTITY e "x">]>${doc(basicRule(EXPIRE))}`, 'MalformedXML'],
  ['no rules', doc(), 'MalformedXML'],
  ['1001 rules', doc(...Array.from({ length: 1001 }, (_, i) => basicRule(EXPIRE, `r${i}`))), 'MalformedXML'],
  ['unknown child of the root', doc(basicRule(EXPIRE)).replace('</Life', '<Other/></Life'), 'MalformedXML'],
  ['unknown child of Rule', doc(basicRule(`${EXPIRE}<Bogus/>`)), 'MalformedXML'],
  ['text inside Rule', doc(basicRule(`${EXPIRE}text`)), 'MalformedXML'],
  ['two IDs', doc(basicRule(`${EXPIRE}<ID>again</ID>`)), 'MalformedXML'],
  ['two Expirations', doc(basicRule(`${EXPIRE}${EXPIRE}`)), 'MalformedXML'],
  ['Status missing', doc(rule(`<ID>x</ID><Prefix/>${EXPIRE}`)), 'MalformedXML'],
  ['Status lower case', doc(rule(`<ID>x</ID><Prefix/><Status>enabled</Status>${EXPIRE}`)), 'MalformedXML'],
  ['neither Filter nor Prefix', doc(rule(`<ID>x</ID>${S}${EXPIRE}`)), 'MalformedXML'],
  ['both Filter and Prefix', doc(rule(`<ID>x</ID><Prefix/><Filter/>${S}${EXPIRE}`)), 'MalformedXML'],
  ['Filter with Prefix and Tag', withFilter(`<Prefix>a</Prefix>${tag('k')}`, EXPIRE), 'MalformedXML'],
  [
    'Filter with And and Prefix',
    withFilter(`<Prefix>a</Prefix><And>${tag('a')}${tag('b')}</And>`, EXPIRE),
    'MalformedXML',
  ],
  [
    'Filter with both sizes outside And',
    withFilter(
      '<ObjectSizeGreaterThan>1</ObjectSizeGreaterThan><ObjectSizeLessThan>9</ObjectSizeLessThan>',
      EXPIRE,
    ),
    'MalformedXML',
  ],
  ['And with only a Prefix', withFilter('<And><Prefix>a</Prefix></And>', EXPIRE), 'MalformedXML'],
  ['And with one Tag', withFilter(`<And>${tag('a')}</And>`, EXPIRE), 'MalformedXML'],
  ['empty And', withFilter('<And></And>', EXPIRE), 'MalformedXML'],
  ['Tag without Key', withFilter('<Tag><Value>v</Value></Tag>', EXPIRE), 'MalformedXML'],
  [
    'size not a number',
    withFilter('<ObjectSizeGreaterThan>big</ObjectSizeGreaterThan>', EXPIRE),
    'MalformedXML',
  ],
  ['Days not an integer', doc(basicRule(exp('<Days>1.5</Days>'))), 'MalformedXML'],
  ['Days not a number', doc(basicRule(exp('<Days>ten</Days>'))), 'MalformedXML'],
  ['Days beyond 32 bits', doc(basicRule(exp('<Days>2147483648</Days>'))), 'MalformedXML'],
  ['empty Expiration', doc(basicRule(exp(''))), 'MalformedXML'],
  [
    'Expiration Days and Date',
    doc(basicRule(exp('<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>'))),
    'MalformedXML',
  ],
  [
    'ExpiredObjectDeleteMarker with Days',
    doc(basicRule(exp('<Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>'))),
    'MalformedXML',
  ],
  [
    'ExpiredObjectDeleteMarker not a boolean',
    doc(basicRule(exp('<ExpiredObjectDeleteMarker>yes</ExpiredObjectDeleteMarker>'))),
    'MalformedXML',
  ],
  [
    'ExpiredObjectDeleteMarker with a size filter',
    withFilter('<ObjectSizeLessThan>10</ObjectSizeLessThan>', EODM),
    'MalformedXML',
  ],
  ['Transition without StorageClass', doc(basicRule(tr('<Days>1</Days>'))), 'MalformedXML'],
  [
    'Transition without Days or Date',
    doc(basicRule(tr('<StorageClass>COLD</StorageClass>'))),
    'MalformedXML',
  ],
  [
    'Transition with Days and Date',
    doc(basicRule(tr('<Days>1</Days><Date>2030-01-01T00:00:00Z</Date><StorageClass>COLD</StorageClass>'))),
    'MalformedXML',
  ],
  [
    'NoncurrentVersionExpiration without NoncurrentDays',
    doc(basicRule(nve('<NewerNoncurrentVersions>1</NewerNoncurrentVersions>'))),
    'MalformedXML',
  ],
  [
    'NoncurrentVersionTransition without StorageClass',
    doc(basicRule(nvt('<NoncurrentDays>1</NoncurrentDays>'))),
    'MalformedXML',
  ],
  [
    'NoncurrentVersionTransition without NoncurrentDays',
    doc(basicRule(nvt('<StorageClass>COLD</StorageClass>'))),
    'MalformedXML',
  ],
  [
    'AbortIncompleteMultipartUpload without days',
    doc(basicRule('<AbortIncompleteMultipartUpload/>')),
    'MalformedXML',
  ],
];

describe('schema: MalformedXML', () => {
  for (const [name, body, expected] of rows) {
    it(`${name} -> ${expected}`, () => assert.equal(errorOf(body).code, expected));
  }
});
