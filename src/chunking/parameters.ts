import { randomBytes } from 'node:crypto';

/**
 * How a unit cuts data into chunks. Fixed when the unit is created: changing any
 * field would move every boundary and defeat dedup against what is stored.
 */
export interface ChunkingParameters {
  readonly algorithm: 'gear-v1';
  readonly minSize: number;
  /** Target average; a power of two. */
  readonly avgSize: number;
  readonly maxSize: number;
  /** Hex seed of the gear table (16 bytes). */
  readonly gearSeed: string;
}

export const MIN_AVG_SIZE = 1024;
export const MAX_AVG_SIZE = 4 * 1024 * 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/**
 * Chosen from the chunk-size sweep of `npm run bench` (docs/architecture.md): against 16 KiB,
 * 32 KiB loses under 2% of dedup, matches the total reduction, halves the index and is faster.
 */
export const DEFAULT_AVG_SIZE = 32 * 1024;

export function defaultChunkingParameters(
  avgSize: number = DEFAULT_AVG_SIZE,
  gearSeed: string = randomBytes(16).toString('hex'),
): ChunkingParameters {
  return validateChunkingParameters({
    algorithm: 'gear-v1',
    minSize: avgSize / 4,
    avgSize,
    maxSize: avgSize * 4,
    gearSeed,
  });
}

export function validateChunkingParameters(p: ChunkingParameters): ChunkingParameters {
  const problems: string[] = [];
  if (p.algorithm !== 'gear-v1') problems.push(`unknown chunking algorithm ${String(p.algorithm)}`);
  if (!isPowerOfTwo(p.avgSize) || p.avgSize < MIN_AVG_SIZE || p.avgSize > MAX_AVG_SIZE) {
    problems.push(`avgSize must be a power of two in [${MIN_AVG_SIZE}, ${MAX_AVG_SIZE}]`);
  }
  if (!Number.isInteger(p.minSize) || p.minSize < 64 || p.minSize > p.avgSize) {
    problems.push('minSize must be an integer in [64, avgSize]');
  }
  if (!Number.isInteger(p.maxSize) || p.maxSize < p.avgSize || p.maxSize > MAX_CHUNK_SIZE) {
    problems.push(`maxSize must be an integer in [avgSize, ${MAX_CHUNK_SIZE}]`);
  }
  if (!/^[0-9a-f]{32}$/.test(p.gearSeed)) problems.push('gearSeed must be 32 lowercase hex digits');
  if (problems.length > 0) throw new RangeError(`invalid chunking parameters: ${problems.join('; ')}`);
  return Object.freeze({ ...p });
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

/**
 * The numbers the inner loop needs. Normalized chunking (FastCDC): below the
 * average size a mask with two more bits makes cuts four times rarer, above it a
 * mask with two fewer bits makes them four times likelier, so sizes cluster
 * around the average. Masks test the top bits of a 32-bit gear hash, which
 * depend on the last 32 bytes only.
 */
export interface GearSettings {
  readonly minSize: number;
  readonly normalSize: number;
  readonly maxSize: number;
  readonly maskSmall: number;
  readonly maskLarge: number;
}

export function gearSettings(p: ChunkingParameters): GearSettings {
  const bits = Math.log2(p.avgSize);
  return {
    minSize: p.minSize,
    normalSize: p.avgSize,
    maxSize: p.maxSize,
    maskSmall: topBits(bits + 2),
    maskLarge: topBits(bits - 2),
  };
}

function topBits(n: number): number {
  return n >= 32 ? 0xffffffff : ((0xffffffff << (32 - n)) >>> 0);
}
