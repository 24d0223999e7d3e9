import type { FingerprintFilter } from './bloom-filter.js';
import type { ChunkLocation, ChunkRow, IndexDb } from './index-db.js';
import { fingerprintKey, type LocalityCache } from './locality-cache.js';

/** What a dedup lookup learned about a fingerprint. */
export type Presence =
  | { state: 'absent' }
  | { state: 'committed' }
  /** Written by a stream that has not committed: whoever leans on it must commit it too. */
  | { state: 'staged'; row: ChunkRow };

const ABSENT: Presence = { state: 'absent' };
const COMMITTED: Presence = { state: 'committed' };

/**
 * Answers "is this chunk stored, and where" in the order that keeps SQLite
 * out of the hot path: the filter says "surely new" for new data, the locality
 * cache answers duplicate runs, and SQLite is asked once per container.
 */
export class ChunkDirectory {
  lookups = 0;
  filterNegatives = 0;
  localityHits = 0;
  indexReads = 0;
  /**
   * Set while a garbage collection runs: every chunk a writer or a reader is
   * told about (committed, or staged by another stream) is reported, so the
   * collection keeps it live even if nothing live referenced it when the mark
   * walked by (docs/architecture.md).
   */
  guard: ((fp: Buffer) => void) | null = null;

  constructor(
    private readonly index: IndexDb,
    private readonly filter: FingerprintFilter,
    private readonly locality: LocalityCache,
  ) {}

  /** For dedup: the fingerprint is the 32 bytes of fps at offset. */
  lookup(fps: Buffer, offset: number, key: string = fingerprintKey(fps, offset)): Presence {
    this.lookups++;
    if (!this.filter.mightContain(fps, offset)) {
      this.filterNegatives++;
      return ABSENT;
    }
    if (this.locality.get(key)) {
      this.localityHits++;
      this.guard?.(Buffer.from(fps.subarray(offset, offset + 32)));
      return COMMITTED;
    }
    this.indexReads++;
    const fp = fps.subarray(offset, offset + 32);
    const loc = this.index.chunkLocation(fp);
    if (loc) {
      this.loadContainer(loc.container);
      this.guard?.(Buffer.from(fp));
      return COMMITTED;
    }
    const staged = this.index.stagedChunk(fp);
    if (!staged) return ABSENT;
    // Another stream's chunk, not yet committed, that this writer will commit a
    // reference to. Its container may already be sealed (a candidate), and its
    // owner may commit it and see its object deleted before the mark: nothing
    // the mark walks would reach it then, so it is reported too.
    this.guard?.(Buffer.from(fp));
    return { state: 'staged', row: staged };
  }

  /** For reads: where a committed chunk lives. */
  locate(fp: Buffer, key: string = fingerprintKey(fp)): ChunkLocation | undefined {
    const cached = this.locality.get(key);
    const loc = cached ?? this.index.chunkLocation(fp);
    if (loc && !cached) this.loadContainer(loc.container);
    if (loc) this.guard?.(Buffer.from(fp));
    return loc;
  }

  /** A container is gone (garbage collection): nothing may be answered from it again. */
  forgetContainer(container: number): void {
    this.locality.evict(container);
  }

  /** A chunk became known (staged or committed): the filter must never say otherwise. */
  remember(fp: Uint8Array): void {
    this.filter.add(fp);
  }

  private loadContainer(container: number): void {
    if (!this.locality.has(container)) this.locality.load(container, this.index.chunksOfContainer(container));
  }
}
