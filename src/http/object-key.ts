/**
 * The keys clients may create, whichever face they come through (S3 or
 * ingest): 1 to 1024 bytes of UTF-8, no NUL or other control characters, and
 * no "." or ".." path segments, so no consumer that maps keys to paths can be
 * walked out of its directory. The store itself takes any opaque key; this is
 * the faces' policy, kept in one place so the two cannot drift apart.
 */
export type KeyProblem = 'too-long' | 'not-utf8' | 'control-character' | 'dot-segment';

export const KEY_PROBLEMS: Record<KeyProblem, string> = {
  'too-long': 'keys are limited to 1024 bytes of UTF-8',
  'not-utf8': 'the key is not valid UTF-8',
  'control-character': 'keys may not hold control characters',
  'dot-segment': 'keys may not hold "." or ".." path segments',
};

export function keyProblem(key: string): KeyProblem | undefined {
  if (Buffer.byteLength(key, 'utf8') > 1024) return 'too-long';
  if (!key.isWellFormed()) return 'not-utf8';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'control-character';
  if (key.split('/').some((segment) => segment === '..' || segment === '.')) return 'dot-segment';
  return undefined;
}

/** A header value the server can send back as it was given: printable ASCII and tabs. */
export function isHeaderSafe(value: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(value);
}
