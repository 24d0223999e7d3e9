import { RECORD_HEADER_BYTES, readRecordHeader, xxh64, type RecordEntry } from './container-format.js';
import type { MarkSet } from './gc-mark.js';
import type { ChunkLocation } from './index-db.js';
import { RecordAppender } from './record-appender.js';
import type { StoreContext } from './store-context.js';

/** Copied bytes between syncs: one fsync covers many small containers' worth of live records. */
const BATCH_BYTES = 16 << 20;
const BATCH_CONTAINERS = 32;

export interface CompactionTally {
  /** Containers that held nothing live, deleted whole. */
  containersRemoved: number;
  containersRewritten: number;
  chunksMoved: number;
  /** Live record bytes written forward (headers included). */
  bytesCopied: number;
  chunksRemoved: number;
  /** Old container files let go, less the bytes copied out of them. */
  bytesFreed: number;
  /** Containers left as they were: a record failed its checks, or a stream leaned on a dead chunk meanwhile. */
  containersSkipped: number;
}

interface Copied {
  id: number;
  fileBytes: number;
  copiedBytes: number;
  copies: Map<string, ChunkLocation>;
}

/**
 * The sweep's changes to containers. Sealed containers holding nothing live
 * go at once. Sparse ones have their live records copied forward, byte for
 * byte (each record keeps its header and checksums), into containers of the
 * compactor's own: a batch of containers is copied, the copies are synced
 * once, then each old container is finished in one index transaction that
 * repoints its live chunks at their copies. Either way the old file is
 * retired (removed once reads begun before have ended, docs/architecture.md).
 */
export class Compactor {
  private readonly appender: RecordAppender;
  private pending: Copied[] = [];
  private pendingBytes = 0;
  readonly tally: CompactionTally = { containersRemoved: 0, containersRewritten: 0, chunksMoved: 0, bytesCopied: 0, chunksRemoved: 0, bytesFreed: 0, containersSkipped: 0 };

  constructor(
    private readonly ctx: StoreContext,
    private readonly marks: MarkSet,
  ) {
    this.appender = new RecordAppender(ctx.containers);
  }

  /** Deletes sealed container `id` (its file `fileBytes` long), which the marks say holds nothing live. */
  removeDead(id: number, fileBytes: number): void {
    this.release({ id, fileBytes, copiedBytes: 0, copies: new Map() });
  }

  /** Copies the live records of sealed container `id` (its file `fileBytes` long); finishes a batch when one is full. */
  async compact(id: number, fileBytes: number): Promise<void> {
    const copied = await this.copyLive(id, fileBytes);
    if (!copied) {
      this.tally.containersSkipped++;
      return;
    }
    this.pending.push(copied);
    this.pendingBytes += copied.copiedBytes;
    if (this.pendingBytes >= BATCH_BYTES || this.pending.length >= BATCH_CONTAINERS) await this.flush();
  }

  /** Makes the copies durable, then repoints and lets go of every container copied so far. */
  async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    this.pendingBytes = 0;
    if (batch.length === 0) return;
    await this.appender.sync();
    for (const c of batch) this.release(c);
  }

  /** Lets one container go, its copies (if any) taking its place; a compacted one left whole counts as skipped. */
  private release(c: Copied): void {
    const done = this.ctx.index.releaseContainer(c.id, c.copies, (fp) => this.marks.isMarked(fp));
    if (!done) {
      // Copies stay as records no row points to: dead weight for a later collection.
      if (c.copies.size > 0) this.tally.containersSkipped++;
      return;
    }
    this.ctx.directory.forgetContainer(c.id);
    this.ctx.containers.retire(c.id);
    if (c.copies.size > 0) this.tally.containersRewritten++;
    else this.tally.containersRemoved++;
    this.tally.chunksMoved += done.moved;
    this.tally.chunksRemoved += done.removed;
    this.tally.bytesCopied += c.copiedBytes;
    this.tally.bytesFreed += c.fileBytes - c.copiedBytes;
  }

  /** Finishes what is pending and hands the output container back. */
  async finish(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.appender.release();
    }
  }

  /** Gives up: copies not yet committed stay unreferenced (dead weight, never wrong). */
  async abandon(): Promise<void> {
    this.pending = [];
    await this.appender.release();
  }

  private async copyLive(id: number, fileBytes: number): Promise<Copied | null> {
    const bytes = await this.ctx.containers.read(id, 0, fileBytes);
    const live = this.ctx.index.chunkRowsOfContainer(id).filter((r) => this.marks.isMarked(r.fingerprint));
    const slices: Buffer[] = [];
    const entries: RecordEntry[] = [];
    let at = 0;
    for (const r of live) {
      const end = r.offset + RECORD_HEADER_BYTES + r.storedLength;
      const problem = end > bytes.length ? 'record runs past the end of the file' : recordProblem(bytes, r.offset, r.fingerprint, r.storedLength);
      if (problem) {
        // Copying it would carry damage forward under a fresh checksum of its container; verify reports it.
        this.ctx.log('warn', 'a container was not compacted: a live record failed its checks', { container: id, offset: r.offset, problem });
        return null;
      }
      slices.push(bytes.subarray(r.offset, end));
      entries.push({ fingerprint: r.fingerprint, offset: at, rawLength: r.rawLength, storedLength: r.storedLength, kind: r.kind, codec: r.codec });
      at += end - r.offset;
    }
    const copies = new Map<string, ChunkLocation>();
    if (entries.length > 0) {
      await this.appender.append(Buffer.concat(slices, at), entries, (rows) => {
        for (const row of rows) copies.set(row.fingerprint.toString('hex'), { container: row.container, offset: row.offset, storedLength: row.storedLength, rawLength: row.rawLength });
      });
    }
    return { id, fileBytes, copiedBytes: at, copies };
  }
}

function recordProblem(bytes: Buffer, offset: number, fingerprint: Buffer, storedLength: number): string | null {
  try {
    const h = readRecordHeader(bytes, offset);
    if (!h.fingerprint.equals(fingerprint)) return 'record holds a different fingerprint';
    if (h.storedLength !== storedLength) return 'record length differs from the index';
    const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + storedLength);
    if (xxh64(payload) !== h.payloadChecksum) return 'record payload checksum mismatch';
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}
