import { s3Error } from './s3-errors.js';

/**
 * A single byte range, as S3 serves them: bytes=a-b, bytes=a- and bytes=-n.
 * Returns [start, end) clamped to the object, null to serve the whole object
 * (no header, or one S3 ignores: several ranges, another unit, bad syntax),
 * and throws InvalidRange when nothing of the object is in range.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  const unsatisfiable = () => s3Error('InvalidRange', undefined, { RangeRequested: header, ActualObjectSize: String(size) });
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && last < start) return null;
  if (start >= size) throw unsatisfiable();
  return { start, end: Math.min(last, size - 1) + 1 };
}
