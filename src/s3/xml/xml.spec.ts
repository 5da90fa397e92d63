import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeXmlEntities, parseXml } from './xml';

describe('XML entity decoding', () => {
  it('decodes named and numeric references once', () => {
    const table: [string, string][] = [
      ['&#34;abc&#34;', '"abc"'],
      ['&#x22;abc&#x22;', '"abc"'],
      ['a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;', 'a <b> & "c" \'d\''],
      ['&amp;#34;', '&#34;'],
      ['&#128512;', '\u{1F600}'],
      ['&nbsp;', '&nbsp;'],
    ];
    for (const [input, want] of table) assert.equal(decodeXmlEntities(input), want, input);
  });

  it('reads a Go-encoded CompleteMultipartUpload ETag', () => {
    const body =
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;fd2f&#34;</ETag>' +
      '<PartNumber>1</PartNumber></Part></CompleteMultipartUpload>';
    const parsed = parseXml(body, 'CompleteMultipartUpload') as { Part: { ETag: string } };
    assert.equal(parsed.Part.ETag, '"fd2f"');
  });
});
