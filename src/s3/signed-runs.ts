import { createHash } from 'node:crypto';
import { native } from '../chunking/native.js';

/** A signed chunk whose data lay whole in one piece of the body: checked once the piece is decoded. */
export interface SignedRun {
  /** Where its data lies in the piece. */
  start: number;
  end: number;
  /** The chunk-signature it came with, and the one it chains from. */
  signature: string;
  previous: string;
}

/**
 * The SHA-256 of each run's data, 32 bytes each, in order. The runs of one
 * piece (a read from the socket holds about sixteen of minio-go's 64 KiB
 * chunks) are hashed side by side on the SHA extensions, with the framing
 * between them hashed as runs of its own and dropped: one native call
 * instead of a chain of OpenSSL updates, each waiting on the last, which
 * took the main thread 0.78 CPU-s per GB of a signed stream.
 */
export function hashRuns(piece: Uint8Array, runs: readonly SignedRun[]): Buffer {
  const base = runs[0]!.start;
  const ends = new Uint32Array(2 * runs.length - 1);
  for (let i = 0; i < runs.length; i++) {
    ends[2 * i] = runs[i]!.end - base;
    if (i + 1 < runs.length) ends[2 * i + 1] = runs[i + 1]!.start - base;
  }
  const all = Buffer.allocUnsafe(32 * ends.length);
  const data = piece.subarray(base, runs[runs.length - 1]!.end);
  const out = Buffer.allocUnsafe(32 * runs.length);
  if (native.sha256Chunks(data, ends, all)) {
    for (let i = 0; i < runs.length; i++) all.copy(out, 32 * i, 64 * i, 64 * i + 32);
  } else {
    for (let i = 0; i < runs.length; i++) createHash('sha256').update(piece.subarray(runs[i]!.start, runs[i]!.end)).digest().copy(out, 32 * i);
  }
  return out;
}
