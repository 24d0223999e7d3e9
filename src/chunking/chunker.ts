import { ChunkBatcher } from './chunk-batcher.js';
import type { CutFinder } from './cut-finder.js';

/**
 * Cuts a stream into chunks on the calling thread. For tools and tests; the
 * store and the mover use ChunkBatcher directly to hand whole batches to workers.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  cutter: CutFinder,
  batchSize = 4 * 1024 * 1024,
): AsyncGenerator<Uint8Array> {
  const batcher = new ChunkBatcher(cutter, (size) => new Uint8Array(size), batchSize);
  for await (const piece of source) {
    for (const batch of batcher.push(piece)) yield* splitBatch(batch.data, batch.cuts);
  }
  for (const batch of batcher.finish()) yield* splitBatch(batch.data, batch.cuts);
}

function* splitBatch(data: Uint8Array, cuts: Uint32Array): Generator<Uint8Array> {
  let start = 0;
  for (const end of cuts) {
    yield data.subarray(start, end);
    start = end;
  }
}
