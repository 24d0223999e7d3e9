/*
 * Generations are fed from memory, not from their files: this VM's page cache
 * is evicted unpredictably, and a source read from disk measured the disk
 * (about 360 MB/s here) instead of Cairn. The pieces are 1 MiB, the size a
 * file stream would have handed over.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';

const PIECE = 1 << 20;

export interface InMemorySource {
  bytes: number;
  /** The whole source, and the same bytes as 1 MiB views. */
  data: Buffer;
  pieces: Buffer[];
}

export function loadSource(path: string): InMemorySource {
  const fd = openSync(path, 'r');
  try {
    // One allocation, mapped on its own: when it is collected its pages go back
    // to the system at once, so the next measurement's RSS does not carry it.
    const all = Buffer.allocUnsafeSlow(fstatSync(fd).size);
    let bytes = 0;
    while (bytes < all.length) {
      const n = readSync(fd, all, bytes, all.length - bytes, bytes);
      if (n === 0) break;
      bytes += n;
    }
    touchPages(all);
    return sourceOf(all.subarray(0, bytes));
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads one byte of every page, untimed, so that whatever reads the source
 * next finds it mapped. On this VM a page the kernel filled (readSync) still
 * costs user space about 3 us at its first touch: 0.85 s a GB, on whichever
 * thread reads first. In the store path that was its main thread, inside the
 * timed run: the direct baseline measured 470 MB/s where it does 620 once the
 * source was touched (scratch/thread-cpu.mjs, 2026-11-23), and the S3 client,
 * which read the same source again, did not pay it. Every ratio to direct
 * measured on this host before this was flattered (docs/architecture.md).
 */
function touchPages(data: Buffer): void {
  let sum = 0;
  for (let o = 0; o < data.length; o += 4096) sum ^= data[o]!;
  touched ^= sum;
}
/** Kept, so the loop above is not optimised away. */
let touched = 0;

/**
 * The other way round: a page only user space has written costs the kernel
 * about 5 us at the first copy out of it, so a framed body built in memory
 * sent at 2.2-2.5 s a GB the first time and 1.0 s every time after
 * (scratch/frame-alloc.mjs, 2026-11-24): the client spent that in the timed
 * run, on a core the server needed. Reading /dev/zero into the buffer has the
 * kernel map every page, untimed.
 */
export function mapForKernel(data: Buffer): void {
  const fd = openSync('/dev/zero', 'r');
  try {
    for (let at = 0; at < data.length; ) at += readSync(fd, data, at, data.length - at, null);
  } finally {
    closeSync(fd);
  }
}

/** The bytes [start, end) of a source, as a source of their own (views, no copy). */
export function sliceSource(source: InMemorySource, start: number, end: number): InMemorySource {
  return sourceOf(source.data.subarray(start, Math.min(end, source.bytes)));
}

/** Bytes already in memory, as a source. */
export const inMemory = (data: Buffer): InMemorySource => sourceOf(data);

function sourceOf(data: Buffer): InMemorySource {
  const pieces: Buffer[] = [];
  for (let o = 0; o < data.length; o += PIECE) pieces.push(data.subarray(o, Math.min(data.length, o + PIECE)));
  return { bytes: data.length, data, pieces };
}

/** A fresh stream over the source, as many times as needed: for HTTP clients, which pipe it. */
export function streamOf(source: InMemorySource): Readable {
  return Readable.from(source.pieces, { objectMode: false });
}

/**
 * The source's pieces as the store path takes them. A baseline must be fed as
 * cheaply as it can be: through Readable.from the same store put cost 0.3-0.5
 * CPU s more per GB (V8's collector threads) and ran 10-15% slower
 * (scratch/feed-cost.mjs, 2026-11-23), which made the S3 path look better than it is.
 */
export async function* piecesOf(source: InMemorySource): AsyncGenerator<Buffer> {
  for (const piece of source.pieces) yield piece;
}

export const sourceMiB = (source: InMemorySource): number => source.bytes / 2 ** 20;
