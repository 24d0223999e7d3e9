import { join } from 'node:path';
import { containerLiveness, markLive, MarkSet, markTree, type MarkProgress } from './gc-mark.js';
import type { RecipeNode } from './recipe-format.js';
import type { StoreContext } from './store-context.js';

/*
 * Garbage collection, first part: mark, then delete the sealed containers
 * that hold nothing live. (Copying the live chunks of sparse containers
 * forward is the next step; docs/architecture.md has the design.)
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
 *    checked against the marks and removed in one synchronous index
 *    transaction, so nothing can take a reference in between. Its file goes
 *    after the commit: a crash in between leaves a file nothing points to.
 */

export interface CollectionResult {
  startedMs: number;
  durationMs: number;
  /** Sealed containers when the collection began, and those it removed. */
  containersExamined: number;
  containersRemoved: number;
  chunksRemoved: number;
  /** Bytes of container files deleted (including files an interrupted collection left). */
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

type NodeLoader = (fp: Buffer, level: number) => Promise<RecipeNode>;

export async function collect(
  ctx: StoreContext,
  dir: string,
  loadNode: NodeLoader,
  openStreams: ReadonlySet<unknown>,
  onProgress: (p: CollectionProgress) => void = () => undefined,
): Promise<CollectionResult> {
  const startedMs = Date.now();
  const marks = new MarkSet(join(dir, 'gc-mark.db'));
  const directory = ctx.directory;
  if (directory.guard) throw new Error('a garbage collection is already running in this unit');
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
    for (const r of ctx.index.recipeRootsSince(since)) await markTree(marks, loadNode, r.recipeRoot, r.recipeHeight);

    // One join finds the containers with nothing marked (or no indexed chunk at all: only data of
    // streams that never committed); each is checked again inside its own transaction.
    const liveness = new Map(containerLiveness(ctx.index, marks).map((c) => [c.container, c]));
    const looksDead = (id: number): boolean => {
      const l = liveness.get(id);
      return !l || l.deadRecords === l.records;
    };
    const result: CollectionResult = { startedMs, durationMs: 0, containersExamined: candidates.length, containersRemoved: 0, chunksRemoved: 0, bytesFreed: orphanBytes, marked, waitedSeconds };
    for (const [i, c] of candidates.entries()) {
      onProgress({ phase: 'sweeping', done: i, total: candidates.length });
      if (!looksDead(c.id)) continue;
      marks.flush();
      const removed = ctx.index.removeDeadContainer(c.id, (fp) => marks.isMarked(fp));
      if (!removed) continue;
      directory.forgetContainer(c.id);
      await ctx.containers.remove(c.id);
      result.containersRemoved++;
      result.chunksRemoved += removed.chunks;
      result.bytesFreed += c.bytes;
    }
    onProgress({ phase: 'sweeping', done: candidates.length, total: candidates.length });
    result.durationMs = Date.now() - startedMs;
    return result;
  } finally {
    directory.guard = null;
    marks.close();
  }
}
