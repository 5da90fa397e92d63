/** object-tagging.ts: the Tagging document, parsed and built. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { xmlDocument } from '../xml/xml';
import { parseTaggingXml, taggingXml } from './object-tagging';
import { s3ErrorCode } from '../../../test/fixtures/s3-error-code';

const code = s3ErrorCode;

const doc = (tags: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>${tags}</TagSet></Tagging>`;

describe('parseTaggingXml', () => {
  it('reads one tag, many tags and an empty set', () => {
    assert.deepEqual(parseTaggingXml(doc('<Tag><Key>a</Key><Value>1</Value></Tag>')), { a: '1' });
    assert.deepEqual(
      parseTaggingXml(
        doc('<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b c</Key><Value>&lt;2&gt;</Value></Tag>'),
      ),
      { a: '1', 'b c': '<2>' },
    );
    assert.deepEqual(parseTaggingXml(doc('')), {});
  });

  it('accepts an empty or missing value and keeps whitespace', () => {
    assert.deepEqual(parseTaggingXml(doc('<Tag><Key>a</Key><Value></Value></Tag><Tag><Key>b</Key></Tag>')), {
      a: '',
      b: '',
    });
    assert.deepEqual(parseTaggingXml(doc('<Tag><Key> k </Key><Value> v </Value></Tag>')), { ' k ': ' v ' });
  });

  it('accepts pretty-printed documents', () => {
    const pretty =
      '<Tagging>\n  <TagSet>\n    <Tag>\n      <Key>a</Key>\n      <Value>1</Value>\n    </Tag>\n  </TagSet>\n</Tagging>';
    assert.deepEqual(parseTaggingXml(pretty), { a: '1' });
  });

  const bad: [string, string, string][] = [
    ['no TagSet', '<Tagging></Tagging>', 'MalformedXML'],
    ['wrong root', '<Tags><TagSet></TagSet></Tags>', 'MalformedXML'],
    ['broken XML', '<Tagging><TagSet>', 'MalformedXML'],
    ['tag without key', doc('<Tag><Value>1</Value></Tag>'), 'MalformedXML'],
    ['empty key', doc('<Tag><Key></Key><Value>1</Value></Tag>'), 'InvalidTag'],
    [
      'duplicate key',
      doc('<Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag>'),
      'InvalidTag',
    ],
    [
      '11 tags',
      doc(Array.from({ length: 11 }, (_, i) => `<Tag><Key>k${i}</Key><Value/></Tag>`).join('')),
      'InvalidTag',
    ],
  ];
  for (const [name, body, expected] of bad) {
    it(`${name} -> ${expected}`, () =>
      assert.equal(
        code(() => parseTaggingXml(body)),
        expected,
      ));
  }
});

describe('taggingXml', () => {
  it('round-trips through the parser', () => {
    const tags = { a: '1', 'x&y': '<z>' };
    assert.deepEqual(parseTaggingXml(xmlDocument('Tagging', taggingXml(tags))), tags);
  });
  it('writes an empty TagSet for no tags', () => {
    assert.match(xmlDocument('Tagging', taggingXml({})), /<TagSet><\/TagSet>/);
  });
});
