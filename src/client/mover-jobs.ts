/* The messages between the mover and its workers (mover-worker.ts). */

export interface FingerprintsJob {
  data: Uint8Array;
  /** End offset of each chunk within data. */
  cuts: Uint32Array;
}

export interface PackJob {
  data: Uint8Array;
  /** [start, length] of each chunk to pack, within data. */
  chunks: Uint32Array;
  /** Their fingerprints, 32 bytes each, in the same order. */
  fingerprints: Uint8Array;
  /** zstd level: the unit's. */
  level: number;
}

export interface PackResult {
  /** A whole chunks frame in its first `length` bytes. */
  frame: Uint8Array;
  length: number;
}
