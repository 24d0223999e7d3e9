import type { FastifyRequest } from 'fastify';
import { s3Error } from './s3-errors.js';

/** What conditions are held against: the object's ETag and time. */
export interface Validators {
  etag: string;
  modified: Date;
}

function etagList(header: string): string[] {
  return header.split(',').map((e) => e.trim().replace(/^W\//, '').replace(/^"|"$/g, ''));
}

function matches(header: string, etag: string): boolean {
  return etagList(header).some((e) => e === '*' || e === etag);
}

/** Seconds: HTTP dates carry no milliseconds. */
function seconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}

function date(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
}

/**
 * If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since
 * (304), in the order and with the precedence RFC 9110 and S3 give them.
 * `prefix` reads the x-amz-copy-source-if-* family for copies, where every
 * failure is a 412.
 */
export function checkConditions(req: FastifyRequest, v: Validators, prefix = ''): 'proceed' | 'not-modified' {
  const get = (name: string): string | undefined => {
    const h = req.headers[`${prefix}${name}`];
    return typeof h === 'string' ? h : undefined;
  };
  const ifMatch = get('if-match');
  const ifUnmodifiedSince = date(get('if-unmodified-since'));
  const ifNoneMatch = get('if-none-match');
  const ifModifiedSince = date(get('if-modified-since'));
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, v.etag)) throw s3Error('PreconditionFailed');
  } else if (ifUnmodifiedSince !== undefined && seconds(v.modified) > ifUnmodifiedSince) {
    throw s3Error('PreconditionFailed');
  }
  const notModified = prefix ? () => { throw s3Error('PreconditionFailed'); } : () => 'not-modified' as const;
  if (ifNoneMatch !== undefined) {
    if (matches(ifNoneMatch, v.etag)) return notModified();
  } else if (ifModifiedSince !== undefined && seconds(v.modified) <= ifModifiedSince) {
    return notModified();
  }
  return 'proceed';
}
