import type { ChunkBatch } from '../chunking/chunk-batcher.js';

/** What completing an upload needs of each part: the bytes at its two edges, and its chunks. */
export interface EdgeBytes {
  /** The part's first bytes (all of them, for a part this short). */
  head: Buffer;
  /** The part's last chunk, as its own stream cut it. */
  lastChunk: Buffer;
  /** The fingerprints of the part's chunks, end to end. */
  fingerprints: Buffer;
  rawLengths: Uint32Array;
}

/** A part's edges, tied to the recipe they were cut from. */
export interface KeptEdges extends EdgeBytes {
  uploadId: string;
  partNumber: number;
  root: Buffer;
  size: number;
}

/**
 * Process-wide bytes held for part edges. 32 MiB holds some 180 parts (a head
 * of 128 KiB, a last chunk of about 48 KiB and 8 KiB of fingerprints each): a
 * 1.4 GB upload in 8 MiB parts. Past it, the oldest parts are forgotten and
 * read back.
 */
export const DEFAULT_EDGE_BUDGET = 32 * 1024 * 1024;

/**
 * Takes a part's edges as its batches go by: the head from the first batches,
 * the last chunk from each batch in turn (a copy of at most one chunk per
 * batch; the batch buffers are reused once written), and every batch's
 * fingerprints.
 */
export class EdgeCapture {
  private readonly heads: Buffer[] = [];
  private headBytes = 0;
  private last: Buffer = Buffer.alloc(0);
  private readonly fps: Buffer[] = [];
  private readonly lengths: number[] = [];

  constructor(private readonly headLimit: number) {}

  /** A batch, in stream order, with its chunks' fingerprints. */
  take(batch: ChunkBatch, fingerprints: Buffer): void {
    const n = batch.cuts.length;
    if (n === 0) return;
    if (this.headBytes < this.headLimit) {
      const piece = batch.data.subarray(0, Math.min(batch.data.length, this.headLimit - this.headBytes));
      this.heads.push(Buffer.from(piece));
      this.headBytes += piece.length;
    }
    this.last = Buffer.from(batch.data.subarray(n > 1 ? batch.cuts[n - 2]! : 0, batch.cuts[n - 1]!));
    this.fps.push(fingerprints);
    for (let i = 0, start = 0; i < n; start = batch.cuts[i++]!) this.lengths.push(batch.cuts[i]! - start);
  }

  result(): EdgeBytes {
    return {
      head: Buffer.concat(this.heads),
      lastChunk: this.last,
      fingerprints: Buffer.concat(this.fps),
      rawLengths: Uint32Array.from(this.lengths),
    };
  }
}

/**
 * What UploadPart keeps for CompleteMultipartUpload, so that the seams are
 * re-cut from memory rather than read back from the containers and decoded,
 * and the parts' chunks named without loading their recipes. Only a cache:
 * an entry is used only for the part whose recipe it was cut from, and
 * anything forgotten (budget, restart, UploadPartCopy) is read back.
 */
export class PartEdges {
  private static sharedInstance: PartEdges | null = null;
  /** In insertion order: the first entry is the oldest. */
  private readonly entries = new Map<string, KeptEdges>();
  private readonly byUpload = new Map<string, Set<number>>();
  private bytes = 0;
  private hitCount = 0;
  private missCount = 0;

  constructor(readonly budget: number = DEFAULT_EDGE_BUDGET) {}

  static shared(): PartEdges {
    return (PartEdges.sharedInstance ??= new PartEdges());
  }

  keep(edges: KeptEdges): void {
    const { uploadId, partNumber } = edges;
    this.remove(uploadId, partNumber);
    const size = footprint(edges);
    if (size > this.budget) return;
    this.entries.set(entryKey(uploadId, partNumber), edges);
    let parts = this.byUpload.get(uploadId);
    if (!parts) this.byUpload.set(uploadId, (parts = new Set()));
    parts.add(partNumber);
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.budget) break;
      this.remove(e.uploadId, e.partNumber, k);
    }
  }

  /** The part's edges, if kept from the upload that stored this recipe. */
  get(uploadId: string, partNumber: number, root: Buffer | null, size: number): KeptEdges | undefined {
    if (root === null) return undefined; // an empty part: nothing to keep
    const e = this.entries.get(entryKey(uploadId, partNumber));
    const hit = e !== undefined && e.size === size && e.root.equals(root);
    if (hit) this.hitCount++;
    else this.missCount++;
    return hit ? e : undefined;
  }

  /** Forgets an upload's parts (completed or aborted). */
  forget(uploadId: string): void {
    for (const n of [...(this.byUpload.get(uploadId) ?? [])]) this.remove(uploadId, n);
  }

  /** Bytes held, and how often a completion found a part's edges kept. */
  stats(): { bytes: number; parts: number; hits: number; misses: number } {
    return { bytes: this.bytes, parts: this.entries.size, hits: this.hitCount, misses: this.missCount };
  }

  private remove(uploadId: string, partNumber: number, key = entryKey(uploadId, partNumber)): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.bytes -= footprint(e);
    const parts = this.byUpload.get(uploadId)!;
    parts.delete(partNumber);
    if (parts.size === 0) this.byUpload.delete(uploadId);
  }
}

/** Counted per entry beside its bytes, so that a flood of tiny parts is bounded too. */
const ENTRY_OVERHEAD = 256;

const footprint = (e: EdgeBytes): number =>
  e.head.length + e.lastChunk.length + e.fingerprints.length + e.rawLengths.byteLength + ENTRY_OVERHEAD;
const entryKey = (uploadId: string, partNumber: number): string => `${uploadId}/${partNumber}`;
