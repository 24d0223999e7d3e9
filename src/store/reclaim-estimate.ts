import { join } from 'node:path';
import { classifyContainer, containerLiveness, markLive, MarkSet, type MarkProgress } from './gc-mark.js';
import type { IndexDb } from './index-db.js';
import type { RecipeNode } from './recipe-format.js';

/** A container whose live share is below this would be compacted by a collection (its live chunks copied forward). */
export const DEFAULT_COMPACT_BELOW = 0.5;

export interface ReclaimEstimate {
  /** When the estimate was made (ms since the epoch) and how long marking took. */
  atMs: number;
  durationMs: number;
  liveChunks: number;
  deadChunks: number;
  /** Stored bytes (record headers included) no live recipe reaches, in every container. */
  deadBytes: number;
  /**
   * Raw bytes of the data chunks no live recipe reaches: what the unit's
   * unique bytes come down to once they are collected.
   */
  deadDataRawBytes: number;
  /** Sealed containers holding nothing live: a collection deletes them. */
  emptyContainers: number;
  /** Sealed containers below the live share: a collection copies their live chunks forward. */
  sparseContainers: number;
  /** What a collection would give back: empty containers whole, the dead bytes of sparse ones. */
  reclaimableBytes: number;
  compactBelow: number;
}

/**
 * Marks what is live and measures what is not, without changing anything.
 * Open containers are left out of the reclaimable figures: they are still
 * being written. Chunks that streams commit during the walk may count as
 * dead here; an estimate, not a collection.
 */
export async function estimateReclaimable(
  dir: string,
  index: IndexDb,
  loadNode: (fp: Buffer, level: number) => Promise<RecipeNode>,
  o: { compactBelow?: number; onProgress?: (p: MarkProgress) => void; stop?: AbortSignal } = {},
): Promise<ReclaimEstimate> {
  const started = Date.now();
  const compactBelow = o.compactBelow ?? DEFAULT_COMPACT_BELOW;
  const marks = new MarkSet(join(dir, 'gc-mark.db'));
  try {
    await markLive(index, loadNode, marks, (p) => {
      o.stop?.throwIfAborted();
      o.onProgress?.(p);
    });
    o.stop?.throwIfAborted();
    const e: ReclaimEstimate = { atMs: started, durationMs: 0, liveChunks: 0, deadChunks: 0, deadBytes: 0, deadDataRawBytes: 0, emptyContainers: 0, sparseContainers: 0, reclaimableBytes: 0, compactBelow };
    for (const c of await containerLiveness(index, marks)) {
      e.liveChunks += c.records - c.deadRecords;
      e.deadChunks += c.deadRecords;
      e.deadBytes += c.deadBytes;
      e.deadDataRawBytes += c.deadDataRawBytes;
      if (!c.sealed) continue;
      const kind = classifyContainer(c, compactBelow);
      if (kind === 'empty') e.emptyContainers++;
      else if (kind === 'sparse') e.sparseContainers++;
      else continue;
      e.reclaimableBytes += c.deadBytes;
    }
    e.durationMs = Date.now() - started;
    return e;
  } finally {
    marks.close();
  }
}
