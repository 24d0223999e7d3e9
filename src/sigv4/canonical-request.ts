import { createHash } from 'node:crypto';
import { percentDecode, uriEncode } from './uri-encode.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** A request as signed: the path and query as they travel (percent-encoded), and headers with their raw values. */
export interface SignableRequest {
  method: string;
  /** The path as on the wire, percent-encoded. */
  path: string;
  /** The raw query string, without the '?'. */
  query: string;
  /** Header values by lowercase name; repeated headers keep every value in order. */
  headers: Map<string, string[]>;
  /** Take the path as the canonical URI as it is, not decoded and re-encoded (for clients that sign it so). */
  rawPath?: boolean;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The path decoded and re-encoded the SigV4 way (S3 paths are encoded once, not twice). */
export function canonicalUri(path: string): string {
  const p = path === '' ? '/' : path;
  return uriEncode(percentDecode(p), false);
}

/** Query parameters decoded, re-encoded, sorted by name then value; `omit` drops X-Amz-Signature for presigned URLs. */
export function canonicalQuery(query: string, omit?: string): string {
  if (query === '') return '';
  const pairs: [string, string][] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const name = percentDecode(rawName);
    if (name === omit) continue;
    pairs.push([uriEncode(name, true), uriEncode(percentDecode(rawValue), true)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** Trims a header value and folds runs of spaces into one, as SigV4 requires. */
function canonicalHeaderValue(value: string): string {
  return value.trim().replace(/\s+/g, ' ');
}

export function canonicalHeaders(headers: Map<string, string[]>, signed: readonly string[]): string {
  return signed.map((name) => `${name}:${(headers.get(name) ?? []).map(canonicalHeaderValue).join(',')}\n`).join('');
}

export function canonicalRequest(req: SignableRequest, signedHeaders: readonly string[], payloadHash: string, omitQuery?: string): string {
  return [
    req.method.toUpperCase(),
    req.rawPath ? req.path || '/' : canonicalUri(req.path),
    canonicalQuery(req.query, omitQuery),
    canonicalHeaders(req.headers, signedHeaders),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}
