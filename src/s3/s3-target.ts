import { percentDecode } from '../sigv4/uri-encode.js';
import { s3Error } from './s3-errors.js';

export interface Target {
  bucket: string | null;
  key: string | null;
}

/**
 * Finds the bucket and key: from the host when it is <bucket>.<domain>
 * (virtual-hosted style), else from the first path segment (path style).
 * The key is everything after, decoded, taken as given otherwise.
 */
export function parseTarget(rawPath: string, host: string | undefined, domain: string | undefined): Target {
  let path: string;
  try {
    path = percentDecode(rawPath);
  } catch {
    throw s3Error('InvalidURI', 'the request path is not valid percent-encoding');
  }
  const hostname = (host ?? '').replace(/:\d+$/, '').toLowerCase();
  if (domain && hostname.endsWith(`.${domain}`)) {
    const bucket = hostname.slice(0, -domain.length - 1);
    const key = path.replace(/^\//, '');
    return { bucket, key: key === '' ? null : key };
  }
  const trimmed = path.replace(/^\//, '');
  if (trimmed === '') return { bucket: null, key: null };
  const slash = trimmed.indexOf('/');
  if (slash < 0) return { bucket: trimmed, key: null };
  const key = trimmed.slice(slash + 1);
  return { bucket: trimmed.slice(0, slash), key: key === '' ? null : key };
}

/**
 * Keys S3 clients may store here: 1 to 1024 bytes of UTF-8, no NUL or other
 * control characters, and no "." or ".." path segments (a key like
 * "a/../b" is refused rather than stored, so no consumer that maps keys to
 * paths can be walked out of its directory).
 */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key, 'utf8') > 1024) throw s3Error('KeyTooLongError');
  if (!key.isWellFormed()) throw s3Error('InvalidArgument', 'the key is not valid UTF-8');
  if (/[\u0000-\u001f\u007f]/.test(key)) throw s3Error('InvalidArgument', 'keys may not hold control characters');
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) {
    throw s3Error('InvalidArgument', 'keys may not hold "." or ".." path segments');
  }
}
