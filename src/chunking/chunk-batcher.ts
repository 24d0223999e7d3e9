import { cutCapacity, type CutFinder } from './cut-finder.js';
import { native } from './native.js';

/** A run of whole chunks laid end to end in one buffer. */
export interface ChunkBatch {
  /** The bytes of the chunks: data.length equals the last cut. */
  readonly data: Uint8Array;
  /** End offset of each chunk within data, ascending. */
  readonly cuts: Uint32Array;
  /** The buffer data was cut from, as handed out by the allocator. */
  readonly buffer: Uint8Array;
}

export type BatchAllocator = (size: number) => Uint8Array;

/**
 * Gathers a stream into fixed-size buffers and cuts them into chunks. The bytes
 * after the last determined boundary move to the next buffer, so boundaries do
 * not depend on how the stream was split when it arrived, and each batch holds
 * only whole chunks (what hashing and compression in other threads need).
 */
export class ChunkBatcher {
  readonly batchSize: number;
  private current: Uint8Array;
  private fill = 0;
  private finished = false;

  constructor(
    private readonly cutter: CutFinder,
    private readonly allocate: BatchAllocator,
    batchSize: number,
  ) {
    // Two maximal chunks per buffer guarantee that a full buffer yields a cut.
    this.batchSize = Math.max(batchSize, 2 * cutter.parameters.maxSize);
    this.current = allocate(this.batchSize);
  }

  /** Bytes push() takes before the current buffer is full and it needs a new one. */
  get room(): number {
    return this.batchSize - this.fill;
  }

  /** The largest piece push() takes while allocating at most one new buffer. */
  get maxPush(): number {
    return this.batchSize - this.cutter.parameters.maxSize;
  }

  /**
   * The current buffer's unfilled end. Bytes written there and then pushed
   * (the same memory, from its start) are taken where they lie, not copied.
   */
  get free(): Uint8Array {
    return this.current.subarray(this.fill);
  }

  /** Appends data and returns the batches it completed. */
  push(data: Uint8Array): ChunkBatch[] {
    if (this.finished) throw new Error('ChunkBatcher: push after finish');
    const out: ChunkBatch[] = [];
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(this.batchSize - this.fill, data.length - offset);
      const inPlace = offset === 0 && data.buffer === this.current.buffer && data.byteOffset === this.current.byteOffset + this.fill;
      if (!inPlace) native.copy(this.current, this.fill, data.subarray(offset, offset + n));
      this.fill += n;
      offset += n;
      if (this.fill === this.batchSize) out.push(this.cut(false));
    }
    return out;
  }

  /** Cuts what remains; returns no batch for an empty remainder. */
  finish(): ChunkBatch[] {
    if (this.finished) return [];
    this.finished = true;
    if (this.fill === 0) return [];
    return [this.cut(true)];
  }

  private cut(final: boolean): ChunkBatch {
    const buffer = this.current;
    const filled = buffer.subarray(0, this.fill);
    const cuts = new Uint32Array(cutCapacity(filled.length, this.cutter.parameters.minSize));
    const count = this.cutter.findCuts(filled, final, cuts);
    const end = count === 0 ? 0 : cuts[count - 1]!;
    if (!final) {
      const tail = filled.subarray(end);
      this.current = this.allocate(this.batchSize);
      native.copy(this.current, 0, tail);
      this.fill = tail.length;
    } else {
      this.fill = 0;
    }
    return { data: buffer.subarray(0, end), cuts: cuts.subarray(0, count), buffer };
  }
}
