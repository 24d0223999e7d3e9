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

  add(fp: Uint8Array): void {
    let top = this.layers[this.layers.length - 1]!;
    if (top.count >= top.capacity) {
      top = new Layer(top.capacity * 2, this.bitsPerEntry);
      this.layers.push(top);
    }
    top.add(fp);
  }

  mightContain(fp: Uint8Array): boolean {
    for (const layer of this.layers) if (layer.mightContain(fp)) return true;
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

  add(fp: Uint8Array): void {
    for (let i = 0; i < PROBES; i++) {
      const bit = probe(fp, i) & this.mask;
      this.bits[bit >>> 5]! |= 1 << (bit & 31);
    }
    this.count++;
  }

  mightContain(fp: Uint8Array): boolean {
    for (let i = 0; i < PROBES; i++) {
      const bit = probe(fp, i) & this.mask;
      if ((this.bits[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** The i-th probe: four bytes of the fingerprint, a different window for each probe. */
function probe(fp: Uint8Array, i: number): number {
  const o = i * 4;
  return (fp[o]! | (fp[o + 1]! << 8) | (fp[o + 2]! << 16) | (fp[o + 3]! << 24)) >>> 0;
}
