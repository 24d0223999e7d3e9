import type { FastifyRequest } from 'fastify';
import type { ObjectInfo } from '../store/object-info.js';
import { checksumHeader, type ChecksumAlgorithm } from './checksums.js';
import { s3Error } from './s3-errors.js';

/** Content headers S3 stores with an object and returns on GET and HEAD. */
const CONTENT_HEADERS = ['content-disposition', 'content-language', 'cache-control', 'expires', 'content-encoding'] as const;

export const TAGGING = 'tagging';
export const CHECKSUM_ALGORITHM = 'checksum-algorithm';
export const CHECKSUM_TYPE = 'checksum-type';
export const CHECKSUM_VALUE = 'checksum-value';

export interface RequestMetadata {
  contentType: string | undefined;
  userMetadata: Record<string, string>;
  systemMetadata: Record<string, string>;
}

const MAX_USER_METADATA = 2048;

/** The metadata a PUT, a Create or a REPLACE copy carries in its headers. */
export function metadataFromRequest(req: FastifyRequest): RequestMetadata {
  const userMetadata: Record<string, string> = {};
  let userBytes = 0;
  const systemMetadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(req.headers)) {
    const value = Array.isArray(raw) ? raw.join(',') : raw;
    if (value === undefined) continue;
    if (name.startsWith('x-amz-meta-')) {
      const key = name.slice('x-amz-meta-'.length);
      userMetadata[key] = value;
      userBytes += key.length + Buffer.byteLength(value);
    }
  }
  if (userBytes > MAX_USER_METADATA) throw s3Error('MetadataTooLarge', `user metadata is ${userBytes} bytes; the limit is ${MAX_USER_METADATA}`);
  for (const h of CONTENT_HEADERS) {
    const v = req.headers[h];
    if (typeof v !== 'string') continue;
    // aws-chunked is how the body travelled, not how the object is encoded.
    const value = h === 'content-encoding' ? v.split(',').map((x) => x.trim()).filter((x) => x !== '' && x.toLowerCase() !== 'aws-chunked').join(',') : v;
    if (value !== '') systemMetadata[h] = value;
  }
  const tagging = req.headers['x-amz-tagging'];
  if (typeof tagging === 'string' && tagging !== '') systemMetadata[TAGGING] = normalizeTagging(tagging);
  const contentType = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
  return { contentType, userMetadata, systemMetadata };
}

export interface Tag {
  key: string;
  value: string;
}

/** Parses and checks a tag set given as a query string (x-amz-tagging); returns it normalized. */
export function normalizeTagging(text: string): string {
  const tags: Tag[] = [];
  for (const [key, value] of new URLSearchParams(text)) tags.push({ key, value });
  return encodeTags(checkTags(tags));
}

export function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > 10) throw s3Error('InvalidTag', 'an object may have at most 10 tags');
  const seen = new Set<string>();
  for (const t of tags) {
    if (t.key.length < 1 || t.key.length > 128) throw s3Error('InvalidTag', 'tag keys are 1 to 128 characters');
    if (t.value.length > 256) throw s3Error('InvalidTag', 'tag values are at most 256 characters');
    if (t.key.toLowerCase().startsWith('aws:')) throw s3Error('InvalidTag', 'tag keys may not start with aws:');
    if (seen.has(t.key)) throw s3Error('InvalidTag', `tag ${t.key} is given twice`);
    seen.add(t.key);
  }
  return tags;
}

export function encodeTags(tags: Tag[]): string {
  return new URLSearchParams(tags.map((t): [string, string] => [t.key, t.value])).toString();
}

export function decodeTags(text: string | undefined): Tag[] {
  if (!text) return [];
  return [...new URLSearchParams(text)].map(([key, value]) => ({ key, value }));
}

/** The checksum stored with an object, if any. */
export function storedChecksum(info: ObjectInfo): { algorithm: ChecksumAlgorithm; value: string; type: string } | undefined {
  const s = info.systemMetadata;
  const algorithm = s[CHECKSUM_ALGORITHM] as ChecksumAlgorithm | undefined;
  const value = s[CHECKSUM_VALUE];
  if (!algorithm || !value) return undefined;
  return { algorithm, value, type: s[CHECKSUM_TYPE] ?? 'FULL_OBJECT' };
}

export function checksumMetadata(algorithm: ChecksumAlgorithm, value: string, type: string): Record<string, string> {
  return { [CHECKSUM_ALGORITHM]: algorithm, [CHECKSUM_VALUE]: value, [CHECKSUM_TYPE]: type };
}

/** The headers of a GET or HEAD answer. Checksums only when asked for and only for the whole object. */
export function objectHeaders(info: ObjectInfo, options: { checksums: boolean }): Record<string, string> {
  const h: Record<string, string> = {
    etag: `"${info.etag}"`,
    'last-modified': info.modified.toUTCString(),
    'content-type': info.contentType ?? 'binary/octet-stream',
    'accept-ranges': 'bytes',
  };
  for (const name of CONTENT_HEADERS) {
    const v = info.systemMetadata[name];
    if (v !== undefined) h[name] = v;
  }
  for (const [k, v] of Object.entries(info.userMetadata)) h[`x-amz-meta-${k}`] = v;
  const tags = decodeTags(info.systemMetadata[TAGGING]);
  if (tags.length > 0) h['x-amz-tagging-count'] = String(tags.length);
  const c = storedChecksum(info);
  if (options.checksums && c) {
    h[checksumHeader(c.algorithm)] = c.value;
    h['x-amz-checksum-type'] = c.type;
  }
  return h;
}
