import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full collection
 * left alive, in percent (V8 otherwise picks a factor of 1.1 to 4 from its
 * own timings).
 *
 * Why a server that streams backups needs this: every piece of a request body
 * arrives in a fresh Buffer, and V8 counts the Buffer memory allocated since
 * the last full collection against the old generation's headroom. With the
 * small heap Cairn keeps (15 to 20 MB; chunk data lives outside it) and the
 * headroom V8 picks for it, a few megabytes of request bodies used that room
 * up. The result was a full mark of the heap every 50 ms or so, about 170 for
 * 5 GB ingested: 0.8 CPU-seconds per GB on a two-core host, a sixth of the
 * server's CPU, which the direct store path never paid. At 300 the same
 * workload runs 2 to 6 full collections. Memory stays bounded: Buffer memory
 * still forces a collection at V8's own external limit, and a heap of 20 MB
 * may grow to 80 MB before one. Measured in docs/architecture.md ("Heap").
 */
export const HEAP_GROWING_PERCENT = 300;

/** Applies the headroom to this process (V8 reads the flag at each collection, so setting it at startup suffices). */
export function widenHeapHeadroom(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
