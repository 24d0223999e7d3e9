import type { Counters } from './index-db.js';

export interface StoreStats {
  /** Bytes of all objects as written (before dedup and compression). */
  logicalBytes: number;
  objects: number;
  /** Distinct data chunks and their bytes before compression. */
  dataChunks: number;
  uniqueBytes: number;
  /** Bytes those chunks take stored (compressed, without record headers). */
  storedDataBytes: number;
  recipeChunks: number;
  /** Stored bytes of recipe nodes: the metadata cost of the dedup. */
  storedRecipeBytes: number;
  /** All stored bytes: data and recipes. */
  storedBytes: number;
  containers: number;
  /** Bytes of container files on disk, including headers, footers and not-yet-collected garbage. */
  containerBytes: number;
  /** logical / unique. */
  dedupFactor: number;
  /** unique / stored data. */
  compressionFactor: number;
  /** logical / container bytes: the whole saving on disk. */
  reductionFactor: number;
}

/** The figures quotas and emptiness checks need: kept as counters, so reading them costs the same in any unit. */
export interface StoreUsage {
  logicalBytes: number;
  uniqueBytes: number;
  objects: number;
}

export function usageOf(c: Counters): StoreUsage {
  return { logicalBytes: c.logicalBytes, uniqueBytes: c.dataRawBytes, objects: c.objects };
}

export function computeStats(c: Counters, containers: { count: number; bytes: number }): StoreStats {
  const storedBytes = c.dataStoredBytes + c.recipeStoredBytes;
  return {
    logicalBytes: c.logicalBytes,
    objects: c.objects,
    dataChunks: c.dataChunks,
    uniqueBytes: c.dataRawBytes,
    storedDataBytes: c.dataStoredBytes,
    recipeChunks: c.recipeChunks,
    storedRecipeBytes: c.recipeStoredBytes,
    storedBytes,
    containers: containers.count,
    containerBytes: containers.bytes,
    dedupFactor: ratio(c.logicalBytes, c.dataRawBytes),
    compressionFactor: ratio(c.dataRawBytes, c.dataStoredBytes),
    reductionFactor: ratio(c.logicalBytes, containers.bytes),
  };
}

function ratio(a: number, b: number): number {
  return b > 0 ? a / b : 1;
}
