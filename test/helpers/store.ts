import type { Test } from 'tap';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { ChunkStore, type OpenOptions } from '../../src/store/store.js';
import { freshSubdir } from './test-dir.js';

export const TEST_SEED = '0f0e0d0c0b0a09080706050403020100';

/** A store in a fresh directory, with small chunks and containers so tests exercise trees and rollovers. */
export async function openTestStore(t: Test, options: OpenOptions = {}, dir: string = freshSubdir(t, 'store')): Promise<{ store: ChunkStore; dir: string }> {
  const store = await ChunkStore.open(dir, {
    create: { chunking: defaultChunkingParameters(4096, TEST_SEED), containerSize: 256 * 1024 },
    ...options,
  });
  t.teardown(() => store.close());
  return { store, dir };
}
