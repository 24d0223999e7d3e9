import { FINGERPRINT_BYTES, fingerprintAll } from './fingerprint.js';
import { Md5State, md5UpdateWith } from './md5.js';
import { native } from './native.js';

const NO_BLOCKS = new Uint8Array(0);

/**
 * Whether this CPU computes fingerprints beside an MD5 chain in one pass
 * (native/src/md5_fingerprints.c, SHA-NI): a call with nothing to do says so.
 */
export const FINGERPRINTS_RIDE_ALONG = native.md5Fingerprints(
  new Uint32Array(4),
  NO_BLOCKS,
  NO_BLOCKS,
  new Uint32Array(0),
  new Uint32Array(10),
  0,
  NO_BLOCKS,
);

/**
 * A batch's chunk fingerprints, computed a slice at a time beside the
 * batch's MD5 by the worker that owes that MD5: a serial MD5 chain leaves the
 * core's SHA unit idle, so the fingerprints cost almost nothing there, where
 * on their own they cost a core about 0.35 s a GB.
 */
export class FingerprintCursor {
  readonly fingerprints: Buffer;
  /** The native cursor: the chunk being hashed, its bytes hashed, its state. */
  private readonly words = new Uint32Array(10);

  constructor(
    readonly data: Uint8Array,
    readonly cuts: Uint32Array,
  ) {
    // A buffer of its own: it is handed to the other thread, not copied.
    this.fingerprints = Buffer.allocUnsafeSlow(cuts.length * FINGERPRINT_BYTES);
  }

  /**
   * Advances state over data[from, to) and the fingerprints as far as `to`,
   * in one pass. On a CPU without SHA-NI the MD5 goes alone and the
   * fingerprints are all taken once `to` reaches the end.
   */
  withMd5(state: Md5State, from: number, to: number): void {
    md5UpdateWith(state, this.data.subarray(from, to), (words, blocks) => {
      if (!FINGERPRINTS_RIDE_ALONG) native.md5Lanes(words, [blocks], false);
      else this.advance(words, blocks, to);
    });
    if (!FINGERPRINTS_RIDE_ALONG && to === this.data.byteLength) this.takeAll();
  }

  /** Advances the fingerprints alone as far as `to` (their MD5 went side by side with other streams'). */
  alone(to: number): void {
    if (FINGERPRINTS_RIDE_ALONG) this.advance(new Uint32Array(4), NO_BLOCKS, to);
    else if (to === this.data.byteLength) this.takeAll();
  }

  private advance(md5: Uint32Array, blocks: Uint8Array, to: number): void {
    if (!native.md5Fingerprints(md5, blocks, this.data, this.cuts, this.words, to, this.fingerprints)) {
      throw new Error('md5Fingerprints refused after the CPU said it could');
    }
  }

  private takeAll(): void {
    fingerprintAll(this.data, this.cuts).copy(this.fingerprints);
  }
}
