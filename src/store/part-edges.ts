import type { ChunkBatch } from '../chunking/chunk-batcher.js';
import { native } from '../chunking/native.js';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import type { ChunkList } from './recipe-cursor.js';

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

/** What is kept of a part: its chunk list always, its edge bytes until the budget needs them. */
export interface KeptPart {
  uploadId: string;
  partNumber: number;
  root: Buffer;
  size: number;
  chunks: ChunkList;
  /**
   * The part's first bytes and its last chunk; null once given up for room.
   * The head is captured as far as a seam may reach, and cut back to the first
   * look once the seam into the part is known to close within it (trimHead).
   */
  bytes: { head: Buffer; lastChunk: Buffer } | null;
}

/**
 * Process-wide bytes held for parts. 32 MiB holds some 180 parts whole (a head
 * of 128 KiB, a last chunk of about 48 KiB and 8 KiB of chunk list each; the
 * one in four or so whose seam reaches further keeps a head of 512 KiB): a 1.4
 * GB upload in 8 MiB parts. Past that the oldest parts give up their bytes and
 * keep their chunk lists, which 32 MiB holds for some 3,800 parts (30 GB);
 * past that the oldest are forgotten and read back.
 */
export const DEFAULT_EDGE_BUDGET = 32 * 1024 * 1024;

/**
 * Takes a part's edges as its batches go by: the head from the first batches,
 * the last chunk from each batch in turn (a copy of at most one chunk per
 * batch; the batch buffers are reused once written), and every batch's
 * fingerprints.
 */
export class EdgeCapture {
  /** Allocated at the first batch and filled in place: one copy of the head, not a copy per batch and another to join them. */
  private head: Buffer | null = null;
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
      this.head ??= Buffer.allocUnsafeSlow(this.headLimit);
      const piece = batch.data.subarray(0, Math.min(batch.data.length, this.headLimit - this.headBytes));
      native.copy(this.head, this.headBytes, piece);
      this.headBytes += piece.length;
    }
    this.last = Buffer.from(batch.data.subarray(n > 1 ? batch.cuts[n - 2]! : 0, batch.cuts[n - 1]!));
    this.fps.push(fingerprints);
    for (let i = 0, start = 0; i < n; start = batch.cuts[i++]!) this.lengths.push(batch.cuts[i]! - start);
  }

  result(): EdgeBytes {
    return {
      // A part shorter than the limit gets a head of its own length: a view would hold the whole allocation, uncounted.
      head: this.head === null ? Buffer.alloc(0) : this.headBytes === this.head.length ? this.head : Buffer.from(this.head.subarray(0, this.headBytes)),
      lastChunk: this.last,
      fingerprints: Buffer.concat(this.fps),
      rawLengths: Uint32Array.from(this.lengths),
    };
  }
}

/**
 * What UploadPart keeps for CompleteMultipartUpload, so that the seams are
 * re-cut from memory rather than read back from the containers and decoded,
 * and the parts' chunks named (and their bytes found) without loading their
 * recipes. Only a cache: an entry is used only for the part whose recipe it
 * was cut from, and anything forgotten (budget, restart, UploadPartCopy) is
 * read back. The chunk lists outlast the bytes: a part's bytes are a few
 * hundred KiB, its list a few KiB, and the list alone spares a completion the
 * part's recipe nodes.
 */
export class PartEdges {
  private static sharedInstance: PartEdges | null = null;
  /** Parts kept whole, in insertion order: the first is the oldest. */
  private readonly whole = new Map<string, KeptPart>();
  /** Parts that gave up their bytes, oldest first. */
  private readonly listsOnly = new Map<string, KeptPart>();
  private readonly byUpload = new Map<string, Set<number>>();
  private bytes = 0;
  private hitCount = 0;
  private missCount = 0;
  private readBackBytes = 0;

  /** edgeBytes false keeps chunk lists only (a smaller cache, or a test of that path). */
  constructor(
    readonly budget: number = DEFAULT_EDGE_BUDGET,
    private readonly edgeBytes = true,
  ) {}

  static shared(): PartEdges {
    return (PartEdges.sharedInstance ??= new PartEdges());
  }

  keep(edges: KeptEdges): void {
    const { uploadId, partNumber } = edges;
    this.remove(uploadId, partNumber);
    // A list that does not add up to the part is a capture gone wrong: better read back than trusted.
    if (edges.rawLengths.reduce((a, n) => a + n, 0) !== edges.size) return;
    if (edges.fingerprints.length !== edges.rawLengths.length * FINGERPRINT_BYTES) return;
    const part: KeptPart = {
      uploadId,
      partNumber,
      root: edges.root,
      size: edges.size,
      chunks: { fingerprints: edges.fingerprints, rawLengths: edges.rawLengths },
      bytes: { head: edges.head, lastChunk: edges.lastChunk },
    };
    if (!this.edgeBytes || footprint(part) > this.budget) part.bytes = null;
    if (footprint(part) > this.budget) return;
    (part.bytes ? this.whole : this.listsOnly).set(entryKey(uploadId, partNumber), part);
    let parts = this.byUpload.get(uploadId);
    if (!parts) this.byUpload.set(uploadId, (parts = new Set()));
    parts.add(partNumber);
    this.bytes += footprint(part);
    this.makeRoom();
  }

  /** What is kept of the part, if kept from the upload that stored this recipe. */
  get(uploadId: string, partNumber: number, root: Buffer | null, size: number): KeptPart | undefined {
    if (root === null) return undefined; // an empty part: nothing to keep
    const e = this.peek(uploadId, partNumber);
    const hit = e !== undefined && e.size === size && e.root.equals(root);
    if (hit) this.hitCount++;
    else this.missCount++;
    return hit ? e : undefined;
  }

  /** What is kept of a part, whichever recipe it was cut from, without counting a hit or a miss. */
  peek(uploadId: string, partNumber: number): KeptPart | undefined {
    const key = entryKey(uploadId, partNumber);
    return this.whole.get(key) ?? this.listsOnly.get(key);
  }

  /**
   * Keeps only the first `length` bytes of a part's head, if the part kept is
   * still the one cut from `root`: its seam will not need more. Copied, so the
   * longer capture is let go.
   */
  trimHead(uploadId: string, partNumber: number, root: Buffer, length: number): void {
    const e = this.whole.get(entryKey(uploadId, partNumber));
    if (!e?.bytes || !e.root.equals(root) || e.bytes.head.length <= length) return;
    this.bytes -= footprint(e);
    e.bytes = { head: Buffer.from(e.bytes.head.subarray(0, length)), lastChunk: e.bytes.lastChunk };
    this.bytes += footprint(e);
  }

  /** Bytes a completion had to read back from the store: parts' edges it did not find kept. */
  countReadBack(bytes: number): void {
    this.readBackBytes += bytes;
  }

  /** Forgets an upload's parts (completed or aborted). */
  forget(uploadId: string): void {
    for (const n of [...(this.byUpload.get(uploadId) ?? [])]) this.remove(uploadId, n);
  }

  /** Bytes held, parts kept (and how many of them as lists only), how often a completion found a part kept, and what it read back. */
  stats(): { bytes: number; parts: number; listsOnly: number; hits: number; misses: number; readBackBytes: number } {
    return {
      bytes: this.bytes,
      parts: this.whole.size + this.listsOnly.size,
      listsOnly: this.listsOnly.size,
      hits: this.hitCount,
      misses: this.missCount,
      readBackBytes: this.readBackBytes,
    };
  }

  /**
   * Over budget: the oldest whole parts give up their bytes first, then the
   * oldest lists go (in the order they became lists). Lists go last because
   * they are what a large upload's completion keeps of most of its parts; an
   * abandoned upload's lists stay until pushed out or its upload expires.
   */
  private makeRoom(): void {
    for (const [k, e] of this.whole) {
      if (this.bytes <= this.budget) return;
      this.bytes -= footprint(e);
      this.whole.delete(k);
      e.bytes = null;
      this.listsOnly.set(k, e);
      this.bytes += footprint(e);
    }
    for (const e of this.listsOnly.values()) {
      if (this.bytes <= this.budget) return;
      this.remove(e.uploadId, e.partNumber);
    }
  }

  private remove(uploadId: string, partNumber: number): void {
    const key = entryKey(uploadId, partNumber);
    const e = this.whole.get(key) ?? this.listsOnly.get(key);
    if (!e) return;
    this.whole.delete(key);
    this.listsOnly.delete(key);
    this.bytes -= footprint(e);
    const parts = this.byUpload.get(uploadId)!;
    parts.delete(partNumber);
    if (parts.size === 0) this.byUpload.delete(uploadId);
  }
}

/** Counted per entry beside its bytes, so that a flood of tiny parts is bounded too. */
const ENTRY_OVERHEAD = 256;

const footprint = (e: KeptPart): number =>
  (e.bytes ? e.bytes.head.length + e.bytes.lastChunk.length : 0) + e.chunks.fingerprints.length + e.chunks.rawLengths.byteLength + ENTRY_OVERHEAD;
const entryKey = (uploadId: string, partNumber: number): string => `${uploadId}/${partNumber}`;
