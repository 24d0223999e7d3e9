import { createHash } from 'node:crypto';
import { native } from './native.js';

/**
 * Chunk fingerprints are SHA-256: with SHA-NI this machine hashes one chunk at
 * about 1.9 GB/s a core, and a batch of chunks side by side at about 3.3 GB/s
 * (native/src/sha256.c), faster than any BLAKE3 we can run from Node without SIMD.
 */
export type FingerprintAlgorithm = 'sha256';
export const FINGERPRINT_ALGORITHM: FingerprintAlgorithm = 'sha256';
export const FINGERPRINT_BYTES = 32;

export function fingerprint(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The fingerprints of the chunks of data ending at each cut, end to end in one buffer (32 bytes each). */
export function fingerprintAll(data: Uint8Array, cuts: Uint32Array): Buffer {
  const out = Buffer.allocUnsafeSlow(cuts.length * FINGERPRINT_BYTES);
  if (!native.sha256Chunks(data, cuts, out)) fingerprintEach(data, cuts, out);
  return out;
}

/** One chunk at a time through OpenSSL: for CPUs without the SHA extensions, and as the tests' reference. */
export function fingerprintEach(data: Uint8Array, cuts: Uint32Array, out: Buffer): void {
  let start = 0;
  for (let i = 0; i < cuts.length; i++) {
    const end = cuts[i]!;
    createHash('sha256').update(data.subarray(start, end)).digest().copy(out, i * FINGERPRINT_BYTES);
    start = end;
  }
}
