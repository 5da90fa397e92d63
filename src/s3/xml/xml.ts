/**
 * S3 XML: a small builder for response documents (element order is the order of the object's keys, arrays become
 * repeated elements, undefined is omitted) and a strict parser for request bodies (anything malformed is
 * MalformedXML; no DTDs or entities are processed).
 */
import { decodeXmlEntities, parseXmlDocument } from '../../common/xml-document';
import { S3Error } from '../errors/s3-error';

/** The S3 namespace every response root carries. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/**
 * Elements of different names in one given order, where a node's keys cannot say it (ListObjectVersions interleaves
 * Version and DeleteMarker). The key it is stored under is not written.
 */
export class XmlSequence {
  constructor(readonly elements: readonly (readonly [name: string, value: XmlValue])[]) {}
}

/** A value the builder can write. */
export type XmlValue =
  string | number | boolean | Date | XmlNode | XmlSequence | XmlValue[] | undefined | null;
/** An element's children by name. */
export interface XmlNode {
  [name: string]: XmlValue;
}

/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return '&#13;';
    }
  });
}

function write(name: string, value: XmlValue, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) write(name, v, out);
    return;
  }
  if (value instanceof XmlSequence) {
    for (const [n, v] of value.elements) write(n, v, out);
    return;
  }
  if (value instanceof Date) {
    out.push(`<${name}>${value.toISOString()}</${name}>`);
    return;
  }
  if (typeof value === 'object') {
    out.push(`<${name}>`);
    for (const [k, v] of Object.entries(value)) write(k, v, out);
    out.push(`</${name}>`);
    return;
  }
  out.push(`<${name}>${escapeXml(String(value))}</${name}>`);
}

/** A complete S3 XML document with `root` in the S3 namespace. */
export function xmlDocument(root: string, body: XmlNode, namespace: string | null = S3_NS): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(namespace ? `<${root} xmlns="${namespace}">` : `<${root}>`);
  for (const [k, v] of Object.entries(body)) write(k, v, out);
  out.push(`</${root}>`);
  return out.join('');
}

export { decodeXmlEntities };

/** Parses a request body and returns the children of its root element, which must be `root`. */
export function parseXml(body: Buffer | string, root: string): Record<string, unknown> {
  const doc = parseXmlDocument(body);
  if (!doc) throw new S3Error('MalformedXML');
  const top = doc[root];
  if (top === undefined) throw new S3Error('MalformedXML');
  return typeof top === 'object' && top !== null ? (top as Record<string, unknown>) : {};
}

/** A parsed child that may occur once or many times, as an array. */
export function asArray<T = unknown>(value: unknown): T[] {
  if (value === undefined || value === null || value === '') return [];
  return (Array.isArray(value) ? value : [value]) as T[];
}

/** A parsed child as text ('' when absent). */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return ''; // absent, or an element where text was expected
}
