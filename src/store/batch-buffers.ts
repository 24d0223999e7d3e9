/**
 * The buffers one stream's batches are cut into: shared memory, so worker
 * threads read them in place, and a fixed number in flight, so a fast source
 * waits for the workers instead of filling the heap.
 */
export class BatchBuffers {
  private readonly free: Uint8Array[] = [];
  /** The records of a batch are encoded into the output buffer paired with its input buffer. */
  private readonly outputs = new WeakMap<Uint8Array, Uint8Array>();
  private inUse = 0;
  private waiters: { resolve(): void; reject(err: Error): void }[] = [];
  private failure: Error | null = null;

  constructor(private readonly limit: number) {}

  /** For ChunkBatcher: never blocks; waitForRoom() is the brake. */
  readonly allocate = (size: number): Uint8Array => {
    this.inUse++;
    const reused = this.free.pop();
    if (reused && reused.length === size) return reused;
    return new Uint8Array(new SharedArrayBuffer(size));
  };

  /** The shared output buffer that goes with an input buffer: room for every chunk raw plus its record header. */
  outputFor(buffer: Uint8Array, recordHeaderBytes: number, minChunk: number): Uint8Array {
    let out = this.outputs.get(buffer);
    if (!out) {
      const size = buffer.length + (Math.floor(buffer.length / minChunk) + 1) * recordHeaderBytes;
      out = new Uint8Array(new SharedArrayBuffer(size));
      this.outputs.set(buffer, out);
    }
    return out;
  }

  release(buffer: Uint8Array): void {
    this.inUse--;
    if (this.free.length < this.limit) this.free.push(buffer);
    while (this.inUse < this.limit && this.waiters.length > 0) this.waiters.shift()!.resolve();
  }

  waitForRoom(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inUse < this.limit) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Wakes every waiter with the error: the stream is failing. */
  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}
