import { createHash } from 'node:crypto';

/**
 * The 256 random words of the gear hash, derived from the unit's seed:
 * word i is the first four bytes (little-endian) of SHA-256(seed || i).
 */
export function gearTable(seedHex: string): Uint32Array {
  const seed = Buffer.from(seedHex, 'hex');
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const digest = createHash('sha256').update(seed).update(Uint8Array.of(i)).digest();
    table[i] = digest.readUInt32LE(0);
  }
  return table;
}
