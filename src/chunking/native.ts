import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The C inner loops built by `npm install` (native/). */
export interface NativeBinding {
  /**
   * The cuts of data (see findCutsReference), sixteen positions at a time where
   * the CPU has AVX-512 VBMI (findCutsVectorized) unless `vector` is false.
   */
  findCuts(data: Uint8Array, final: boolean, gear: Uint32Array, params: Uint32Array, cuts: Uint32Array, vector?: boolean): number;
  findCutsVectorized(): boolean;
  xxh64(data: Uint8Array, seed?: bigint): bigint;
  /** memcpy(dst + offset, src): for shared buffers, which V8 copies into slowly. */
  copy(dst: Uint8Array, offset: number, src: Uint8Array): void;
  /** An exclusive flock on path (created 0600): the fd, or -1 if another open file holds it. Close the fd to release. */
  lockFile(path: string): number;
  /** kind 0 CRC-32, 1 CRC-32C, 2 CRC-64/NVME; prev is the CRC of what came before (0n to start). */
  crc(kind: 0 | 1 | 2, data: Uint8Array, prev: bigint): bigint;
  /** The CRC of A||B from the CRCs of A and B and B's length. */
  crcCombine(kind: 0 | 1 | 2, a: bigint, b: bigint, lengthB: bigint): bigint;
  /**
   * Advances MD5 states (4 words each, in order) over whole 64-byte blocks, one
   * lane of data per state; side by side if `sideBySide` (chains interleaved,
   * or vector lanes where the CPU has them), else one lane after another.
   */
  md5Lanes(states: Uint32Array, data: Uint8Array[], sideBySide: boolean): void;
  /** Whether md5Lanes can use vector lanes (AVX-512VL) here, for five lanes or more. */
  md5Vectorized(): boolean;
  /**
   * The SHA-256 of each chunk of data ending at ends[i] (the first starts at 0)
   * into out, 32 bytes each, several chunks side by side. False, with out
   * untouched, when the CPU lacks the SHA extensions. lanes (1-4, default 4):
   * how many chunks at once, for tests.
   */
  sha256Chunks(data: Uint8Array, ends: Uint32Array, out: Uint8Array, lanes?: number): boolean;
  /**
   * Advances an MD5 state (4 words) over whole 64-byte blocks and, in the same
   * pass, the SHA-256 fingerprints of the chunks of data ending at ends[i] as
   * far as byte `limit` of data, into out (32 bytes each). cursor (10 words,
   * zeros to begin) carries the fingerprints' progress from call to call.
   * The same seven again for a second stream interleaves both streams' chains.
   * False, with nothing touched, when the CPU lacks the SHA extensions. See
   * native/src/md5_fingerprints.h.
   */
  /** Advances a carried SHA-256 state (8 words) over whole blocks; with tail, total and digest, finishes it into digest. False without SHA-NI. */
  sha256Resume(state: Uint32Array, blocks: Uint8Array, tail?: Uint8Array, total?: number, digest?: Uint8Array): boolean;
  /** Seven arguments for each of one or two streams, each optionally followed by a second set as [data, ends, cursor, limit, out]. */
  md5Fingerprints(...streams: (Uint8Array | Uint32Array | number | ChunkSetArgs)[]): boolean;
}

/** A second chunk set riding along a stream's MD5: data, ends, cursor, limit, out, and whether it is open (a stream's SHA-256 going on past it). */
export type ChunkSetArgs = [Uint8Array, Uint32Array, Uint32Array, number, Uint8Array] | [Uint8Array, Uint32Array, Uint32Array, number, Uint8Array, boolean];

const require = createRequire(import.meta.url);

function load(): NativeBinding {
  // Compiled files sit at dist/src/chunking/, three levels below the package root.
  const path = fileURLToPath(new URL('../../../native/build/Release/cairn_native.node', import.meta.url));
  try {
    return require(path) as NativeBinding;
  } catch (err) {
    throw new Error(`cairn native addon not built at ${path}: run npm install (${(err as Error).message})`);
  }
}

export const native: NativeBinding = load();
