/**
 * Strict reading of the LifecycleConfiguration XML: the document is parsed into a tree of elements
 * (fast-xml-parser, no DTDs or entities beyond XML's own), and the accessors below refuse what AWS's schema
 * refuses with MalformedXML: a single-valued element given twice, an element the schema does not know, text where
 * elements belong, elements where text belongs. Whitespace between elements is allowed (pretty-printed bodies).
 *
 * The parser itself (settings, DTD refusal, entity decoding) is the one `s3/xml/xml.ts` uses, in `common/`.
 */
import { parseXmlDocument } from '../../common/xml-document';
import { LifecycleError } from './lifecycle-config';

/** An element with child elements: children by name (an array when the name repeats). */
export type XmlElement = Record<string, unknown>;

const TEXT = '#text';
/** MalformedXML with AWS's message. */
export function malformed(): LifecycleError {
  return new LifecycleError('MalformedXML');
}

/** Parses `body` and returns the root element `root` (AWS also accepts the older `BucketLifecycleConfiguration`). */
export function parseDocument(body: Buffer | string, roots: readonly string[]): XmlElement {
  const doc = parseXmlDocument(body);
  if (!doc) throw malformed();
  const names = Object.keys(doc);
  if (names.length !== 1 || !roots.includes(names[0])) throw malformed();
  return asElement(doc[names[0]]);
}

/** An element's children; an empty or whitespace-only element has none. Text content is MalformedXML. */
export function asElement(value: unknown): XmlElement {
  if (typeof value === 'string') {
    if (value.trim() !== '') throw malformed();
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed();
  const element = value as XmlElement;
  const text = element[TEXT];
  if (text !== undefined && (typeof text !== 'string' || text.trim() !== '')) throw malformed();
  return element;
}

/** Refuses children other than `allowed` (the schema's element names). */
export function onlyChildren(element: XmlElement, allowed: readonly string[]): void {
  for (const name of Object.keys(element)) {
    if (name !== TEXT && !allowed.includes(name)) throw malformed();
  }
}

/** A child that may appear at most once (undefined when absent). */
export function optional(element: XmlElement, name: string): unknown {
  if (!Object.hasOwn(element, name)) return undefined;
  const value = element[name];
  if (Array.isArray(value)) throw malformed();
  return value;
}

/** A child that may repeat, as a list (empty when absent). */
export function repeated(element: XmlElement, name: string): unknown[] {
  if (!Object.hasOwn(element, name)) return [];
  const value = element[name];
  return Array.isArray(value) ? value : [value];
}

/** The text of a leaf element (an empty element is ''). Child elements are MalformedXML. */
export function asText(value: unknown): string {
  if (typeof value !== 'string') throw malformed();
  return value;
}

/**
 * An xsd integer (surrounding whitespace and a sign allowed), at most `max`; anything else is MalformedXML, as AWS's
 * schema validation answers. Range checks below `max` are left to validation, which has AWS's specific messages.
 */
export function asInteger(value: unknown, max: number): number {
  const text = asText(value).trim();
  if (!/^[+-]?\d+$/.test(text)) throw malformed();
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n > max) throw malformed();
  return n;
}

/** An xsd boolean (`true`, `false`, `1`, `0`). */
export function asBoolean(value: unknown): boolean {
  const text = asText(value).trim();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw malformed();
}

/** A value the XML writer of the S3 layer can render (structurally its `XmlValue`). */
export type XmlTreeValue = string | number | XmlTree | XmlTree[] | undefined;
/** An element's children by name, in document order; arrays become repeated elements, undefined is omitted. */
export interface XmlTree {
  [name: string]: XmlTreeValue;
}
