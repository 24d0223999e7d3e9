/** A batch's shared memory: the chunks cut into it, and the records they are encoded into. */
export interface Slot {
  input: Uint8Array;
  output: Uint8Array;
}

/** One stream's (or one read's) slots out of a SlotPool, counted by the pool as it hands them out and takes them back. */
export interface SlotHolder {
  out: number;
}

/**
 * Every stream's batch buffers come from here, one process-wide set reused
 * forever: shared memory is never allocated per stream. (Worker threads keep
 * their views of a shared buffer until their own, rare, garbage collection;
 * buffers allocated per stream therefore pile up in a busy server.) At most
 * `cap` slots are out, except that a holder with no more than its `floor`
 * out may always take one more, so streams cannot starve each other into a
 * deadlock.
 */
export class SlotPool {
  private readonly free = new Map<string, Slot[]>();
  private out = 0;
  private waiters: (() => void)[] = [];

  constructor(
    readonly cap: number,
    private readonly recordHeaderBytes: number,
  ) {}

  /**
   * A slot of these sizes for `holder`. Whether the holder is within its floor
   * is asked again at every wake-up: its own slots keep coming back while it waits.
   */
  async take(inputSize: number, outputSize: number, holder: SlotHolder, floor: number): Promise<Slot> {
    while (this.out >= this.cap && holder.out > floor) await new Promise<void>((r) => this.waiters.push(r));
    this.out++;
    holder.out++;
    const reused = this.free.get(`${inputSize}/${outputSize}`)?.pop();
    if (reused) return reused;
    return { input: new Uint8Array(new SharedArrayBuffer(inputSize)), output: new Uint8Array(new SharedArrayBuffer(outputSize)) };
  }

  give(slot: Slot, holder: SlotHolder): void {
    this.out--;
    holder.out--;
    const key = `${slot.input.length}/${slot.output.length}`;
    const list = this.free.get(key) ?? [];
    // Up to twice the cap are kept: streams past the cap (see take) are common
    // under concurrency, and a slot dropped here stays resident in the workers
    // until they collect, so dropping and reallocating costs more than keeping.
    if (list.length < 2 * this.cap) list.push(slot);
    this.free.set(key, list);
    // Every waiter looks again, not just the first: this slot may have come
    // from a holder that is itself waiting and is now within its floor. Waking
    // only the first once left every stream holding the one buffer it filled,
    // all waiting on the cap and none able to give back: a deadlock as soon as
    // as many streams ran as there are slots.
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The output a batch of `size` bytes needs: every chunk raw, each with its record header. */
  outputFor(size: number, minChunk: number): number {
    return size + (Math.floor(size / minChunk) + 1) * this.recordHeaderBytes;
  }

  get slotsOut(): number {
    return this.out;
  }
}

/**
 * One stream's share of the pool: at most `limit` batches between the source
 * and the container, so a fast source waits for the workers and the disk.
 */
export class BatchBuffers {
  private readonly held = new Map<Uint8Array, Slot>();
  private readonly holder: SlotHolder = { out: 0 };
  private reserved: Slot | null = null;
  private waiters: { resolve(): void; reject(err: Error): void }[] = [];
  private failure: Error | null = null;

  constructor(
    private readonly pool: SlotPool,
    private readonly limit: number,
    private readonly size: number,
    private readonly minChunk: number,
    /** Whether batches need an output buffer too (records encoded beside them). */
    private readonly withOutput = true,
  ) {}

  /** For ChunkBatcher: takes the slot reserved by waitForRoom(). */
  readonly allocate = (size: number): Uint8Array => {
    const slot = this.reserved;
    if (!slot || size !== this.size) throw new Error('batch buffer allocated without room reserved');
    this.reserved = null;
    this.held.set(slot.input, slot);
    return slot.input;
  };

  /** Whether a slot is reserved: a batch may start without waiting. */
  get ready(): boolean {
    return this.reserved !== null && !this.failure;
  }

  /** Waits until the stream may start another batch, with a slot reserved for it. */
  async waitForRoom(): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.held.size < this.limit) break;
      await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    }
    if (!this.reserved) {
      // Holding at most the buffer being filled, a stream may always go on (see SlotPool).
      const slot = await this.pool.take(this.size, this.withOutput ? this.pool.outputFor(this.size, this.minChunk) : 0, this.holder, 1);
      if (this.failure) {
        this.pool.give(slot, this.holder);
        throw this.failure;
      }
      this.reserved = slot;
    }
  }

  /** The output buffer paired with an input buffer. */
  outputFor(input: Uint8Array): Uint8Array {
    return this.held.get(input)!.output;
  }

  /** A batch has left the pipeline: its slot goes back to the pool. */
  release(input: Uint8Array): void {
    const slot = this.held.get(input);
    if (!slot) return;
    this.held.delete(input);
    this.pool.give(slot, this.holder);
    this.waiters.shift()?.resolve();
  }

  /** Wakes every waiter with the error: the stream is failing. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  /** At the end of the stream, when nothing reads its buffers any more: every slot goes back. */
  dispose(): void {
    if (this.reserved) this.pool.give(this.reserved, this.holder);
    this.reserved = null;
    for (const slot of this.held.values()) this.pool.give(slot, this.holder);
    this.held.clear();
  }
}
