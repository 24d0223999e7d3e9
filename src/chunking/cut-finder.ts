import { gearTable } from './gear-table.js';
import { findCutsReference } from './gear-chunker.js';
import { native } from './native.js';
import { gearSettings, type ChunkingParameters, type GearSettings } from './parameters.js';

/** Finds chunk boundaries for one unit's parameters. */
export interface CutFinder {
  readonly parameters: ChunkingParameters;
  /** See findCutsReference for the contract. */
  findCuts(data: Uint8Array, final: boolean, cuts: Uint32Array): number;
}

/** native: the vector search where the CPU has it; scalar: the native one-byte-at-a-time search (for tests). */
export type CutFinderImplementation = 'native' | 'scalar' | 'reference';

export function createCutFinder(
  parameters: ChunkingParameters,
  implementation: CutFinderImplementation = 'native',
): CutFinder {
  const gear = gearTable(parameters.gearSeed);
  const settings = gearSettings(parameters);
  if (implementation === 'reference') {
    return { parameters, findCuts: (data, final, cuts) => findCutsReference(data, final, gear, settings, cuts) };
  }
  const packed = packSettings(settings);
  const vector = implementation === 'native';
  return { parameters, findCuts: (data, final, cuts) => native.findCuts(data, final, gear, packed, cuts, vector) };
}

function packSettings(g: GearSettings): Uint32Array {
  return Uint32Array.of(g.minSize, g.normalSize, g.maxSize, g.maskSmall, g.maskLarge);
}

/** Enough room for the cuts of any buffer of this length. */
export function cutCapacity(length: number, minSize: number): number {
  return Math.floor(length / minSize) + 1;
}
