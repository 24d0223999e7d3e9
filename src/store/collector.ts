import { join } from 'node:path';
import { Compactor } from './compactor.js';
import { classifyContainer, containerLiveness, markLive, MarkSet, markTree, type MarkProgress } from './gc-mark.js';
import type { RecipeNode } from './recipe-format.js';
import { DEFAULT_COMPACT_BELOW } from './reclaim-estimate.js';
import type { StoreContext } from './store-context.js';

/*
 * Garbage collection: mark, then delete the sealed containers that hold
 * nothing live and copy the live chunks of sparse ones forward (compaction).
 *
 * Safe while backups run:
 * 1. The guard goes up first: from then on every committed chunk the
 *    directory tells anyone about (dedup hits, ingest queries and recipe
 *    entries, reads) is marked live at once.
 * 2. Streams open before the guard took references it never saw: the
 *    collection waits for them to commit or abort before it marks.
 * 3. The mark walks every object and in-progress part; then every object or
 *    part written since the guard went up is walked again (a copy made during
 *    the walk shares a recipe the walk may have passed).
 * 4. Only containers sealed before the guard went up are candidates; each is
 *    checked against the marks and removed (or, compacted, repointed at its
 *    copies) in one synchronous index transaction, so nothing can take a
 *    reference in between. Its file goes after the commit, once reads begun
 *    before it have ended: a crash in between leaves a file nothing points to.
 */

export interface CollectionResult {
  startedMs: number;
  durationMs: number;
  /** Sealed containers when the collection began, and those it removed. */
  containersExamined: number;
  containersRemoved: number;
  /** Sparse containers whose live chunks were copied forward, and what that moved. */
  containersRewritten: number;
  chunksMoved: number;
  bytesCopied: number;
  /** Sparse containers left alone: a stream leaned on one of their dead chunks meanwhile, or a record failed its checks. */
  containersSkipped: number;
  compactBelow: number;
  chunksRemoved: number;
  /** Container bytes given back, net of the bytes copied forward (including files an interrupted collection left). */
  bytesFreed: number;
  marked: MarkProgress;
  /** Seconds spent waiting for streams that were open when the collection began. */
  waitedSeconds: number;
}

export interface CollectionProgress {
  phase: 'waiting' | 'marking' | 'sweeping';
  done: number;
  total: number;
}

export interface CollectOptions {
  /** Sealed containers with a smaller live share than this are compacted (0 never, 1 whenever anything in them is dead). */
  compactBelow?: number;
  onProgress?: (p: CollectionProgress) => void;
  /** Stops the collection at its next step (the unit is closing). */
  stop?: AbortSignal;
}

type NodeLoader = (fp: Buffer, level: number) => Promise<RecipeNode>;

export async function collect(
  ctx: StoreContext,
  dir: string,
  loadNode: NodeLoader,
  openStreams: ReadonlySet<unknown>,
  options: CollectOptions = {},
): Promise<CollectionResult> {
  const startedMs = Date.now();
  const compactBelow = options.compactBelow ?? DEFAULT_COMPACT_BELOW;
  const stop = options.stop;
  // Every step that changes something is whole in the index: stopping between steps leaves a consistent unit.
  const onProgress = (p: CollectionProgress): void => {
    stop?.throwIfAborted();
    options.onProgress?.(p);
  };
  const directory = ctx.directory;
  // Containers no stream is filling become candidates too: their dead data would otherwise wait for more writes.
  await ctx.containers.sealIdle();
  if (directory.guard) throw new Error('a garbage collection is already running in this unit');
  const marks = new MarkSet(join(dir, 'gc-mark.db'));
  directory.guard = (fp) => marks.mark(fp);
  // Both snapshots in the same turn as the guard: a stream that starts, or a container that seals,
  // after this point is covered by the guard, so it must not be waited for nor swept.
  const candidates = ctx.index.containers().filter((c) => c.state === 'sealed');
  const before = [...openStreams];
  try {
    // Commits stamp rows with Date.now(); a second of margin covers a clock that steps back a little.
    const since = startedMs - 1000;
    // Files a crash left between an earlier collection's commit and its unlink.
    const orphanBytes = await ctx.containers.removeOrphans();

    const waitStart = Date.now();
    for (let pending = before.filter((s) => openStreams.has(s)); pending.length > 0; pending = pending.filter((s) => openStreams.has(s))) {
      onProgress({ phase: 'waiting', done: before.length - pending.length, total: before.length });
      await new Promise((r) => setTimeout(r, 50));
    }
    const waitedSeconds = (Date.now() - waitStart) / 1000;

    const marked = await markLive(ctx.index, loadNode, marks, (p) => onProgress({ phase: 'marking', done: p.roots, total: 0 }));
    stop?.throwIfAborted();
    for (const r of ctx.index.recipeRootsSince(since)) await markTree(marks, loadNode, r.recipeRoot, r.recipeHeight);
    stop?.throwIfAborted();

    // One join sorts the candidates; each is checked again inside its own transaction. A candidate
    // with no indexed chunk at all holds only data of streams that never committed.
    const liveness = new Map((await containerLiveness(ctx.index, marks)).map((c) => [c.container, c]));
    const compactor = new Compactor(ctx, marks);
    try {
      for (const [i, c] of candidates.entries()) {
        onProgress({ phase: 'sweeping', done: i, total: candidates.length });
        const l = liveness.get(c.id);
        const kind = l ? classifyContainer(l, compactBelow) : 'empty';
        if (kind === 'empty') compactor.removeDead(c.id, c.bytes);
        else if (kind === 'sparse') await compactor.compact(c.id, c.bytes);
      }
      await compactor.finish();
    } catch (err) {
      await compactor.abandon();
      throw err;
    }
    // Files no read holds are gone when the collection says it is done; the rest go as their reads end.
    await ctx.containers.removalsSettled();
    onProgress({ phase: 'sweeping', done: candidates.length, total: candidates.length });
    const t = compactor.tally;
    return {
      startedMs,
      durationMs: Date.now() - startedMs,
      containersExamined: candidates.length,
      ...t,
      compactBelow,
      bytesFreed: orphanBytes + t.bytesFreed,
      marked,
      waitedSeconds,
    };
  } finally {
    directory.guard = null;
    marks.close();
  }
}
