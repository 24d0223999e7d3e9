import type { GearSettings } from './parameters.js';

/**
 * Reference implementation of the cut search, kept beside the native one
 * (native/src/gear_cdc.c) so tests can hold the two to the same boundaries.
 *
 * Writes the end offset of every chunk fully determined by data into cuts and
 * returns how many. A chunk is determined once a content boundary is found, or
 * maxSize bytes are present, or the stream is final.
 */
export function findCutsReference(
  data: Uint8Array,
  final: boolean,
  gear: Uint32Array,
  g: GearSettings,
  cuts: Uint32Array,
): number {
  let start = 0;
  let count = 0;
  while (start < data.length && count < cuts.length) {
    const len = nextCut(data, start, data.length - start, final, gear, g);
    if (len === 0) break;
    start += len;
    cuts[count++] = start;
  }
  return count;
}

function nextCut(
  data: Uint8Array,
  start: number,
  available: number,
  final: boolean,
  gear: Uint32Array,
  g: GearSettings,
): number {
  if (available <= g.minSize) return final ? available : 0;
  const end = Math.min(available, g.maxSize);
  const normal = Math.min(g.normalSize, end);
  let h = 0;
  let i = g.minSize;
  for (; i < normal; i++) {
    h = ((h << 1) + gear[data[start + i]!]!) >>> 0;
    if ((h & g.maskSmall) === 0) return i + 1;
  }
  for (; i < end; i++) {
    h = ((h << 1) + gear[data[start + i]!]!) >>> 0;
    if ((h & g.maskLarge) === 0) return i + 1;
  }
  if (end === g.maxSize || final) return end;
  return 0;
}
