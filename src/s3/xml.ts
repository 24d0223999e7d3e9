import { XMLParser } from 'fast-xml-parser';
import { s3Error } from './s3-errors.js';

export const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** An XML element tree as nested arrays: [name, children | text]. Absent values are skipped. */
export type Node = [string, Node[] | string | number | boolean] | null | undefined | false;

function render(node: Node): string {
  if (!node) return '';
  const [name, value] = node;
  if (Array.isArray(value)) return `<${name}>${value.map(render).join('')}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** A whole S3 document: declaration, root with the S3 namespace (errors have none); the root holds elements or text. */
export function document(root: string, content: Node[] | string, namespaced = true): string {
  const ns = namespaced ? ` xmlns="${S3_NAMESPACE}"` : '';
  const inner = typeof content === 'string' ? escapeXml(content) : content.map(render).join('');
  if (inner === '') return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}/>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${inner}</${root}>`;
}

/** S3's timestamps: ISO 8601 with milliseconds, UTC. */
export function isoTime(d: Date): string {
  return d.toISOString();
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
  // Numeric character references (&#34;, as Go's encoder writes quotes) must decode; this is the switch for them.
  htmlEntities: true,
  isArray: (name) => ['Object', 'Part', 'Tag'].includes(name),
});

/**
 * Parses a request document. Refuses DTDs and entity declarations outright
 * (no entity expansion games) and anything that is not well formed.
 */
export function parseXml(body: Buffer): Record<string, unknown> {
  const text = body.toString('utf8');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw s3Error('MalformedXML', 'document type declarations are not accepted');
  try {
    const parsed = parser.parse(text, true) as Record<string, unknown>;
    if (typeof parsed !== 'object' || parsed === null) throw new Error('empty');
    return parsed;
  } catch {
    throw s3Error('MalformedXML');
  }
}
