import { KEY_PROBLEMS, keyProblem } from '../http/object-key.js';
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

/** Keys S3 clients may store here (the faces' shared rule, src/http/object-key.ts), as S3 errors. */
export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem === 'too-long') throw s3Error('KeyTooLongError');
  if (problem) throw s3Error('InvalidArgument', KEY_PROBLEMS[problem]);
}
