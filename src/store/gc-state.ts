import type { CollectionResult } from './collector.js';
import type { IndexDb } from './index-db.js';
import { DEFAULT_COMPACT_BELOW, type ReclaimEstimate } from './reclaim-estimate.js';

/** How a unit wants its garbage collected: kept in the unit's own index, so it moves with the unit. */
export interface CollectionPolicy {
  /** Seconds between scheduled collections; null: none are scheduled (the default). */
  intervalSeconds: number | null;
  /** Sealed containers with a smaller live share are compacted. */
  compactBelow: number;
}

export const DEFAULT_POLICY: CollectionPolicy = { intervalSeconds: null, compactBelow: DEFAULT_COMPACT_BELOW };

const POLICY = 'gc_policy';
const LAST_COLLECTION = 'gc_last_collection';
const LAST_ESTIMATE = 'gc_last_estimate';

/** Why a policy cannot be taken, or null. */
export function policyProblem(p: Partial<CollectionPolicy>): string | null {
  if (p.intervalSeconds !== undefined && p.intervalSeconds !== null && (!Number.isInteger(p.intervalSeconds) || p.intervalSeconds < 60 || p.intervalSeconds > 366 * 24 * 3600)) {
    return 'intervalSeconds must be null or a whole number of seconds from 60 to a year';
  }
  if (p.compactBelow !== undefined && (typeof p.compactBelow !== 'number' || !(p.compactBelow >= 0 && p.compactBelow <= 1))) {
    return 'compactBelow must be a number from 0 to 1';
  }
  return null;
}

/**
 * A unit's collection policy and the results of its last collection and
 * estimate, kept in the index's meta table: they survive restarts, and the
 * stats need not mark anything to show them.
 */
export class CollectionState {
  constructor(private readonly index: IndexDb) {}

  policy(): CollectionPolicy {
    return { ...DEFAULT_POLICY, ...this.read<Partial<CollectionPolicy>>(POLICY) };
  }

  setPolicy(change: Partial<CollectionPolicy>): CollectionPolicy {
    const problem = policyProblem(change);
    if (problem) throw new RangeError(problem);
    const next = { ...this.policy(), ...change };
    this.index.setMeta(POLICY, JSON.stringify(next));
    return next;
  }

  lastCollection(): CollectionResult | null {
    return this.read<CollectionResult>(LAST_COLLECTION) ?? null;
  }

  lastEstimate(): ReclaimEstimate | null {
    return this.read<ReclaimEstimate>(LAST_ESTIMATE) ?? null;
  }

  noteCollection(r: CollectionResult): void {
    this.index.setMeta(LAST_COLLECTION, JSON.stringify(r));
  }

  noteEstimate(e: ReclaimEstimate): void {
    this.index.setMeta(LAST_ESTIMATE, JSON.stringify(e));
  }

  private read<T>(name: string): T | undefined {
    const v = this.index.getMeta(name);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v) as T;
    } catch {
      // A value this build cannot read is treated as absent rather than failing the unit.
      return undefined;
    }
  }
}
