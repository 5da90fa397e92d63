/**
 * Reading an XML request body, shared by the S3 protocol (`s3/xml/xml.ts`) and lifecycle rules
 * (`lifecycle/rules/lifecycle-xml.ts`), so there is one parser configuration to get right: no DTDs, no entities
 * beyond XML's own (a body naming `<!DOCTYPE` or `<!ENTITY` is refused outright), attributes and namespace prefixes
 * ignored, every value kept as its exact text.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Decodes XML's five named entities and numeric character references in one pass (so `&amp;#34;` stays `&#34;`).
 * Go's encoder (rclone, minio-go, aws-sdk-go) writes quotes in ETags as `&#34;`.
 */
export function decodeXmlEntities(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (whole, ref: string) => {
    if (ref[0] !== '#') return NAMED[ref];
    const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: false,
  ignoreDeclaration: true,
  tagValueProcessor: (_name, value) => decodeXmlEntities(value),
});

/**
 * The parsed document (root element names to their content), or null for anything that is not well-formed XML
 * we accept: empty, a DTD or entity declaration, invalid markup, or names the parser refuses (`__proto__`...).
 */
export function parseXmlDocument(body: Buffer | string): Record<string, unknown> | null {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '' || /<!DOCTYPE|<!ENTITY/i.test(text) || XMLValidator.validate(text) !== true)
    return null;
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
}
