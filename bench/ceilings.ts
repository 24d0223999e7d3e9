import { createHash } from 'node:crypto';
import { createCutFinder, cutCapacity } from '../src/chunking/cut-finder.js';
import type { ChunkingParameters } from '../src/chunking/parameters.js';
import { ChunkCodec } from '../src/compute/codec.js';
import { native } from '../src/chunking/native.js';
import { fingerprintAll } from '../src/chunking/fingerprint.js';
import { Md5State, md5Update } from '../src/chunking/md5.js';
import { FingerprintCursor, ride, ridesInPairs } from '../src/chunking/md5-fingerprints.js';

export interface Ceilings {
  /** OpenSSL through node:crypto, one chunk at a time. */
  sha256: number;
  /** The store's fingerprints: a batch of chunks side by side (native/src/sha256.c). */
  sha256Batch: number;
  /** OpenSSL through node:crypto, one stream. */
  md5: number;
  /** The store's ETag MD5, one stream (native/src/md5.c). */
  md5Native: number;
  /** The same, two and four streams side by side (parts in flight): all their bytes per second. */
  md5Native2: number;
  md5Native4: number;
  /** The store's MD5 with the chunks' fingerprints riding along (native/src/md5_fingerprints.c), one stream and two. */
  md5Riding: number;
  md5Riding2: number;
  /**
   * A worker's rounds of 3, 5 and 6 riders (512 KiB a stream a round, as Md5Rounds
   * takes them): in pairs by ride(), an odd one alone, against the MD5s side by
   * side and the fingerprints after; all their bytes, and what ridesInPairs picks.
   */
  rounds: { riders: number; pairs: number; side: number; picked: 'pairs' | 'side' }[];
  zstd: number;
  zstdRatio: number;
  xxh64: number;
  /** The native cut search as the store runs it: sixteen positions at a time where the CPU has AVX-512 VBMI. */
  chunkingNative: number;
  /** The native one-byte-at-a-time search on the same sample: the vector search's baseline. */
  chunkingScalar: number;
  chunkingNativeRandom: number;
  chunkingReference: number;
}

function mbps(bytes: number, fn: () => void): number {
  fn(); // warm
  const t0 = process.hrtime.bigint();
  fn();
  return bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * What one core does alone on the same data: the upper bounds the store's
 * figures are read against. Hashing and compression run per chunk, as the store
 * runs them; chunking runs on the whole sample.
 */
export function ceilings(sample: Buffer, random: Buffer, chunking: ChunkingParameters, level: number): Ceilings {
  const chunk = 16 * 1024;
  const sha256 = mbps(sample.length, () => {
    for (let o = 0; o < sample.length; o += chunk) createHash('sha256').update(sample.subarray(o, o + chunk)).digest();
  });
  const ends = new Uint32Array(Math.floor(sample.length / chunk)).map((_, i) => (i + 1) * chunk);
  const sha256Batch = mbps(sample.length, () => fingerprintAll(sample, ends));
  const md5 = mbps(sample.length, () => createHash('md5').update(sample).digest());
  const md5Native = mbps(sample.length, () => md5Update([{ state: new Md5State(), data: sample }]));
  // Each of n streams hashes its own nth of the sample: the same bytes in all.
  const md5Streams = (n: number): number => {
    const part = Math.floor(sample.length / n / 64) * 64;
    const datas = Array.from({ length: n }, (_, i) => sample.subarray(i * part, (i + 1) * part));
    return mbps(n * part, () => md5Update(datas.map((data) => ({ state: new Md5State(), data }))));
  };
  const md5Native2 = md5Streams(2);
  const md5Native4 = md5Streams(4);
  // The same nths, each with its chunks' fingerprints taken in the same pass.
  const riding = (n: number): number => {
    const part = Math.floor(sample.length / n / chunk) * chunk;
    const partEnds = ends.subarray(0, part / chunk);
    return mbps(n * part, () =>
      ride(Array.from({ length: n }, (_, i) => ({ cursor: new FingerprintCursor(sample.subarray(i * part, (i + 1) * part), partEnds), state: new Md5State(), from: 0, to: part }))),
    );
  };
  const md5Riding = riding(1);
  const md5Riding2 = riding(2);
  const rounds = [3, 5, 6].map((n) => {
    const part = Math.floor(sample.length / n / chunk) * chunk;
    const partEnds = ends.subarray(0, part / chunk);
    const each = (how: 'pairs' | 'side'): number =>
      mbps(n * part, () => {
        const riders = Array.from({ length: n }, (_, i) => ({ cursor: new FingerprintCursor(sample.subarray(i * part, (i + 1) * part), partEnds), state: new Md5State() }));
        for (let from = 0; from < part; from += 512 * 1024) {
          const to = Math.min(part, from + 512 * 1024);
          if (how === 'pairs') for (let i = 0; i < n; i += 2) ride(riders.slice(i, i + 2).map((r) => ({ ...r, from, to })));
          else {
            md5Update(riders.map((r) => ({ state: r.state, data: r.cursor.data.subarray(from, to) })));
            for (const r of riders) r.cursor.alone(to);
          }
        }
      });
    return { riders: n, pairs: each('pairs'), side: each('side'), picked: ridesInPairs(n) ? ('pairs' as const) : ('side' as const) };
  });
  const codec = new ChunkCodec(level);
  const out = Buffer.allocUnsafe(2 * chunk);
  let stored = 0;
  const zstd = mbps(sample.length, () => {
    stored = 0;
    for (let o = 0; o < sample.length; o += chunk) stored += codec.encodeInto(sample.subarray(o, o + chunk), out, 0).length;
  });
  const xxh64 = mbps(sample.length, () => {
    for (let o = 0; o < sample.length; o += chunk) native.xxh64(sample.subarray(o, o + chunk));
  });
  const cuts = new Uint32Array(cutCapacity(Math.max(sample.length, random.length), chunking.minSize));
  const nat = createCutFinder(chunking, 'native');
  const ref = createCutFinder(chunking, 'reference');
  const scalar = createCutFinder(chunking, 'scalar');
  return {
    sha256,
    sha256Batch,
    md5,
    md5Native,
    md5Native2,
    md5Native4,
    md5Riding,
    md5Riding2,
    rounds,
    zstd,
    zstdRatio: sample.length / stored,
    xxh64,
    chunkingNative: mbps(sample.length, () => nat.findCuts(sample, true, cuts)),
    chunkingScalar: mbps(sample.length, () => scalar.findCuts(sample, true, cuts)),
    chunkingNativeRandom: mbps(random.length, () => nat.findCuts(random, true, cuts)),
    chunkingReference: mbps(random.length, () => ref.findCuts(random, true, cuts)),
  };
}
