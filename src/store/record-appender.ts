import type { ContainerFile } from './container-file.js';
import { CONTAINER_HEADER_BYTES, RECORD_HEADER_BYTES, type RecordEntry } from './container-format.js';
import type { ContainerSet } from './container-set.js';
import type { ChunkRow } from './index-db.js';

/**
 * One writer's hold on an open container: appends runs of records, moving to a
 * fresh container when one fills, and remembers every container it touched so
 * the commit can sync exactly those. A container whose append failed is never
 * handed to anyone else.
 */
export class RecordAppender {
  private container: ContainerFile | null = null;
  private broken = false;
  readonly touched = new Set<number>();

  constructor(private readonly containers: ContainerSet) {}

  /**
   * Appends records (entry offsets relative to `records`). `placed` learns where
   * each run landed, as index rows, before the next run is written; `check`
   * runs before each run and may throw to stop (the writer is failing).
   */
  async append(records: Uint8Array, entries: readonly RecordEntry[], placed: (rows: ChunkRow[]) => void, check: () => void = () => undefined): Promise<void> {
    const { containers } = this;
    let i = 0;
    while (i < entries.length) {
      check();
      this.container ??= await containers.acquire();
      const room = containers.targetSize - this.container.size;
      const first = entries[i]!.offset;
      let j = i;
      let bytes = 0;
      while (j < entries.length) {
        const len = RECORD_HEADER_BYTES + entries[j]!.storedLength;
        const emptyContainer = this.container.size === CONTAINER_HEADER_BYTES && j === i;
        if (bytes + len > room && !emptyContainer) break;
        bytes += len;
        j++;
      }
      if (j === i) {
        // Let go of the full container before waiting: if no new one comes, release() must not hand back one being sealed.
        const full = this.container;
        this.container = null;
        this.container = await containers.rollover(full);
        continue;
      }
      const slice = entries.slice(i, j).map((e) => ({ ...e, offset: e.offset - first }));
      let at: number;
      try {
        at = await this.container.append(records.subarray(first, first + bytes), slice);
      } catch (err) {
        this.broken = true;
        throw err;
      }
      const id = this.container.id;
      this.touched.add(id);
      placed(slice.map((e) => ({ ...e, container: id, offset: e.offset + at })));
      i = j;
    }
  }

  /** Makes every touched container durable, or rejects. */
  sync(): Promise<void> {
    return this.containers.sync(this.touched);
  }

  /**
   * Hands the container back: to the next writer when it is sound, or given up
   * (synced if it can be, sealed by recovery) after a failed append. Never throws.
   */
  async release(): Promise<void> {
    const c = this.container;
    this.container = null;
    if (!c) return;
    if (this.broken) await this.containers.discard(c).catch(() => undefined);
    else this.containers.release(c);
  }
}
