import type { CollectOptions, CollectionResult } from '../../src/store/collector.js';

export interface CollectionRun {
  collections: number;
  removed: number;
  rewritten: number;
}

/** What a run must have shown before it stops: several collections, and one that found something to take. */
const ENOUGH = (run: CollectionRun): boolean => run.collections >= 3 && run.removed + run.rewritten > 0;

/**
 * Runs collections back to back for `ms`, beside whatever the test has
 * writing: every other one compacts whatever holds anything dead (threshold
 * 1), so copies race the writers too, and the others use the default 0.5.
 * On a loaded host the writers may not have made garbage by then (a CI run
 * saw 7 writes in 8 s): the run goes on, up to four times as long, until it
 * has shown ENOUGH, so that the test's checks are not vacuous.
 */
export async function collectFor(ms: number, collect: (o: CollectOptions) => Promise<CollectionResult>): Promise<CollectionRun> {
  const run: CollectionRun = { collections: 0, removed: 0, rewritten: 0 };
  const start = Date.now();
  while (Date.now() < start + ms || (!ENOUGH(run) && Date.now() < start + 4 * ms)) {
    const r = await collect({ compactBelow: run.collections % 2 === 0 ? 1 : 0.5 });
    run.collections++;
    run.removed += r.containersRemoved;
    run.rewritten += r.containersRewritten;
    await new Promise((r) => setTimeout(r, 30));
  }
  return run;
}
