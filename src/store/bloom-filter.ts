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
    private readonly bitsPerEntry = 10,
  ) {
    this.layers.push(new Layer(Math.max(1024, initialCapacity), bitsPerEntry));
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

const PROBES = 7;

class Layer {
  readonly bits: Uint32Array;
  private readonly mask: number;
  count = 0;

  constructor(
    readonly capacity: number,
    bitsPerEntry: number,
  ) {
    // A power of two of bits, so a probe is a mask rather than a division.
    const wanted = capacity * bitsPerEntry;
    let size = 1 << 15;
    while (size < wanted) size *= 2;
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
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

/** A probe: four bytes of the fingerprint at o; each probe reads a different window. */
function probe(fp: Uint8Array, o: number): number {
  return (fp[o]! | (fp[o + 1]! << 8) | (fp[o + 2]! << 16) | (fp[o + 3]! << 24)) >>> 0;
}
