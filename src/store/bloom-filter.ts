/**
 * A scalable Bloom filter over fingerprints: it answers "surely absent" without
 * touching SQLite. Fingerprints are SHA-256, already uniform, so the probe
 * positions are read straight out of their bytes instead of rehashing.
 * When a layer fills, a new layer twice its size is added; nothing is rebuilt.
 */
export class FingerprintFilter {
  private readonly layers: Layer[] = [];

  constructor(
    initialCapacity: number,
    readonly bitsPerEntry = 10,
    saved?: readonly SavedLayer[],
  ) {
    if (saved && saved.length > 0) for (const l of saved) this.layers.push(Layer.restore(l, bitsPerEntry));
    else this.layers.push(new Layer(Math.max(1024, initialCapacity), bitsPerEntry));
  }

  /** A filter as saved (see filter-file.ts); throws if a layer's bits do not fit its capacity. */
  static restore(bitsPerEntry: number, layers: readonly SavedLayer[]): FingerprintFilter {
    if (layers.length === 0) throw new RangeError('a saved filter has at least one layer');
    return new FingerprintFilter(0, bitsPerEntry, layers);
  }

  /** The layers as they stand, bits shared: for saving, when nothing adds to the filter any more. */
  saved(): SavedLayer[] {
    return this.layers.map((l) => ({ capacity: l.capacity, count: l.count, bits: l.bits }));
  }

  /** Fingerprints added, over every layer; those of chunks since removed included. */
  get added(): number {
    return this.layers.reduce((sum, l) => sum + l.count, 0);
  }

  add(fp: Uint8Array, offset = 0): void {
    let top = this.layers[this.layers.length - 1]!;
    if (top.count >= top.capacity) {
      top = new Layer(top.capacity * 2, this.bitsPerEntry);
      this.layers.push(top);
    }
    top.add(fp, offset);
  }

  /** fp is 32 bytes at offset. */
  mightContain(fp: Uint8Array, offset = 0): boolean {
    for (const layer of this.layers) if (layer.mightContain(fp, offset)) return true;
    return false;
  }

  get memoryBytes(): number {
    return this.layers.reduce((sum, l) => sum + l.bits.byteLength, 0);
  }
}

export const PROBES = 7;

export interface SavedLayer {
  capacity: number;
  count: number;
  bits: Uint32Array;
}

class Layer {
  readonly bits: Uint32Array;
  private readonly mask: number;
  count = 0;

  constructor(
    readonly capacity: number,
    bitsPerEntry: number,
    bits?: Uint32Array,
  ) {
    const size = layerBits(capacity, bitsPerEntry);
    if (bits && bits.length * 32 !== size) throw new RangeError(`a layer of capacity ${capacity} has ${size} bits, not ${bits.length * 32}`);
    this.bits = bits ?? new Uint32Array(size / 32);
    this.mask = size - 1;
  }

  static restore(l: SavedLayer, bitsPerEntry: number): Layer {
    if (!Number.isSafeInteger(l.capacity) || l.capacity < 1 || !Number.isSafeInteger(l.count) || l.count < 0 || l.count > l.capacity) {
      throw new RangeError(`a layer cannot hold ${l.count} of ${l.capacity}`);
    }
    const layer = new Layer(l.capacity, bitsPerEntry, l.bits);
    layer.count = l.count;
    return layer;
  }

  add(fp: Uint8Array, offset: number): void {
    for (let i = 0; i < PROBES; i++) {
      const bit = probe(fp, offset + i * 4) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  mightContain(fp: Uint8Array, offset: number): boolean {
    for (let i = 0; i < PROBES; i++) {
      const bit = probe(fp, offset + i * 4) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** A power of two of bits, so a probe is a mask rather than a division. */
function layerBits(capacity: number, bitsPerEntry: number): number {
  const wanted = capacity * bitsPerEntry;
  let size = 1 << 15;
  while (size < wanted) size *= 2;
  return size;
}

/** A probe: four bytes of the fingerprint at o; each probe reads a different window. */
function probe(fp: Uint8Array, o: number): number {
  return (fp[o]! | (fp[o + 1]! << 8) | (fp[o + 2]! << 16) | (fp[o + 3]! << 24)) >>> 0;
}
