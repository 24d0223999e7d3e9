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
 * Buffers for parts' heads, as captured and as trimmed, taken back once no
 * one reads them. On this host a fresh buffer costs 3-20 us a page at its
 * first touch: a fresh 512 KiB head cost the main thread 0.4-2.5 ms a part
 * (about a tenth of a CPU-second a GB of 8 MiB parts); a reused one, 0.02.
 * Holds at most `capacity` bytes of free buffers.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;

  constructor(readonly capacity: number) {}

  /** A buffer of exactly `size` bytes, of unspecified content. */
  take(size: number): Buffer {
    const b = this.free.get(size)?.pop();
    if (!b) return Buffer.allocUnsafeSlow(size);
    this.freeBytes -= size;
    return b;
  }

  /** A buffer no one will read again. Only whole allocations: a view would hand out memory it does not span. */
  give(b: Buffer): void {
    if (b.byteOffset !== 0 || b.byteLength !== b.buffer.byteLength || b.length === 0) return;
    if (this.freeBytes + b.length > this.capacity) return;
    let list = this.free.get(b.length);
    if (!list) this.free.set(b.length, (list = []));
    list.push(b);
    this.freeBytes += b.length;
  }

  get bytes(): number {
    return this.freeBytes;
  }
}

/** Free head buffers kept for the next parts: some sixteen heads of the seam's reach. */
export const DEFAULT_HEAD_POOL = 8 * 1024 * 1024;

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

  constructor(
    private readonly headLimit: number,
    private readonly buffers: BufferPool | null = null,
  ) {}

  /** A batch, in stream order, with its chunks' fingerprints. */
  take(batch: ChunkBatch, fingerprints: Buffer): void {
    const n = batch.cuts.length;
    if (n === 0) return;
    if (this.headBytes < this.headLimit) {
      this.head ??= this.buffers ? this.buffers.take(this.headLimit) : Buffer.allocUnsafeSlow(this.headLimit);
      const piece = batch.data.subarray(0, Math.min(batch.data.length, this.headLimit - this.headBytes));
      native.copy(this.head, this.headBytes, piece);
      this.headBytes += piece.length;
    }
    this.last = Buffer.from(batch.data.subarray(n > 1 ? batch.cuts[n - 2]! : 0, batch.cuts[n - 1]!));
    this.fps.push(fingerprints);
    for (let i = 0, start = 0; i < n; start = batch.cuts[i++]!) this.lengths.push(batch.cuts[i]! - start);
  }

  result(): EdgeBytes {
    let head = this.head ?? Buffer.alloc(0);
    if (head.length !== this.headBytes) {
      // A part shorter than the limit gets a head of its own length: a view would hold the whole allocation, uncounted.
      head = Buffer.from(head.subarray(0, this.headBytes));
      this.buffers?.give(this.head!);
    }
    return {
      head,
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
  /** Uploads whose completion is reading their parts' heads: none of those is reused until it ends. */
  private readonly busy = new Map<string, number>();
  readonly buffers: BufferPool;
  private hitCount = 0;
  private missCount = 0;
  private readBackBytes = 0;

  /** edgeBytes false keeps chunk lists only (a smaller cache, or a test of that path). */
  constructor(
    readonly budget: number = DEFAULT_EDGE_BUDGET,
    private readonly edgeBytes = true,
    headPool: number = DEFAULT_HEAD_POOL,
  ) {
    this.buffers = new BufferPool(headPool);
  }

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

  /**
   * Runs `read` while it may hold the upload's heads across its awaits (a
   * completion): a head let go meanwhile is left to the collector, not reused
   * for another part, whose bytes would then show through it.
   */
  async reading<T>(uploadId: string, read: () => Promise<T>): Promise<T> {
    this.busy.set(uploadId, (this.busy.get(uploadId) ?? 0) + 1);
    try {
      return await read();
    } finally {
      const n = this.busy.get(uploadId)! - 1;
      if (n === 0) this.busy.delete(uploadId);
      else this.busy.set(uploadId, n);
    }
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
    const head = this.buffers.take(length);
    e.bytes.head.copy(head, 0, 0, length);
    const long = e.bytes.head;
    e.bytes = { head, lastChunk: e.bytes.lastChunk };
    this.bytes += footprint(e);
    this.letGo(uploadId, long);
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

  /** A head no entry holds any more: reused, unless a completion of its upload may still be reading it. */
  private letGo(uploadId: string, head: Buffer): void {
    if (!this.busy.has(uploadId)) this.buffers.give(head);
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
      if (e.bytes) this.letGo(e.uploadId, e.bytes.head);
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
    if (e.bytes) this.letGo(uploadId, e.bytes.head);
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
