import type { CollectOptions, CollectionResult } from '../../src/store/collector.js';

export interface CollectionRun {
  collections: number;
  removed: number;
  rewritten: number;
}

/**
 * Runs collections back to back for `ms`, beside whatever the test has
 * writing: every other one compacts whatever holds anything dead (threshold
 * 1), so copies race the writers too, and the others use the default 0.5.
 */
export async function collectFor(ms: number, collect: (o: CollectOptions) => Promise<CollectionResult>): Promise<CollectionRun> {
  const run: CollectionRun = { collections: 0, removed: 0, rewritten: 0 };
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const r = await collect({ compactBelow: run.collections % 2 === 0 ? 1 : 0.5 });
    run.collections++;
    run.removed += r.containersRemoved;
    run.rewritten += r.containersRewritten;
    await new Promise((r) => setTimeout(r, 30));
  }
  return run;
}
