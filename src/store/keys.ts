import { InvalidKeyError } from './errors.js';

export const MAX_KEY_BYTES = 1024;

/**
 * Object keys are opaque UTF-8 strings of 1 to 1024 bytes. They are stored as
 * bytes (so they sort in UTF-8 binary order, as S3 lists them) and never touch
 * the file system.
 */
export function encodeKey(key: string): Buffer {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError('key must be a non-empty string');
  if (!key.isWellFormed()) throw new InvalidKeyError('key is not valid UTF-8 (lone surrogate)');
  const bytes = Buffer.from(key, 'utf8');
  if (bytes.length > MAX_KEY_BYTES) {
    throw new InvalidKeyError(`key is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  }
  return bytes;
}

export function decodeKey(bytes: Buffer): string {
  return bytes.toString('utf8');
}
