import { availableParallelism } from 'node:os';
import { Worker, type TransferListItem } from 'node:worker_threads';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  worker: PooledWorker;
  cost: number;
}

interface PooledWorker {
  readonly worker: Worker;
  readonly index: number;
  outstanding: number;
  /** The estimated work of the jobs sent and not yet answered. */
  load: number;
}

/** What a worker sends back for one job. */
export interface JobReply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; details?: unknown };
}

/** An error raised inside a worker, rebuilt on this side with its name and details. */
export class WorkerJobError extends Error {
  constructor(
    name: string,
    message: string,
    readonly details: unknown,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * A fixed set of worker threads running one script. Jobs go to the worker with
 * the least estimated work outstanding, or to a chosen one when their order
 * matters (a worker takes its messages first in, first out). Counting jobs
 * rather than their work sent a stream's fingerprints to the worker that holds
 * its MD5 chain (four 2 MiB updates queued count as four jobs, but are the
 * work of ten fingerprint jobs), and that serial chain is what one stream's
 * speed is bound by. Workers hold the process open only while they have work.
 */
export class WorkerPool {
  private readonly workers: PooledWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly script: URL,
    size: number = availableParallelism(),
  ) {
    for (let i = 0; i < Math.max(1, size); i++) this.workers.push(this.spawn(i));
  }

  get size(): number {
    return this.workers.length;
  }

  /**
   * Runs kind(payload) on a worker; `pin` chooses the worker (modulo size).
   * `cost` estimates the job's work, in any unit the caller uses for all its jobs.
   */
  run<T>(kind: string, payload: unknown, transfer: readonly TransferListItem[] = [], pin?: number, cost = 1): Promise<T> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    const target = pin === undefined ? this.leastLoaded() : this.workers[pin % this.workers.length]!;
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, worker: target, cost });
      target.load += cost;
      if (target.outstanding++ === 0) target.worker.ref();
      target.worker.postMessage({ id, kind, payload }, transfer as TransferListItem[]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    for (const p of this.pending.values()) p.reject(new Error('worker pool closed'));
    this.pending.clear();
  }

  private leastLoaded(): PooledWorker {
    let best = this.workers[0]!;
    for (const w of this.workers) if (w.load < best.load) best = w;
    return best;
  }

  private spawn(index: number): PooledWorker {
    const worker = new Worker(this.script);
    const pooled: PooledWorker = { worker, index, outstanding: 0, load: 0 };
    worker.on('message', (reply: JobReply) => this.settle(reply));
    worker.on('error', (err) => this.failWorker(pooled, err));
    worker.on('exit', (code) => {
      if (!this.closed) this.failWorker(pooled, new Error(`worker ${index} exited with code ${code}`));
    });
    // After the listeners: adding a 'message' listener refs the worker again.
    worker.unref();
    return pooled;
  }

  private settle(reply: JobReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    p.worker.load -= p.cost;
    if (--p.worker.outstanding === 0) {
      p.worker.worker.unref();
      // Costs are estimates that sum back to zero; this keeps rounding from drifting.
      p.worker.load = 0;
    }
    if (reply.ok) p.resolve(reply.value);
    else p.reject(new WorkerJobError(reply.error!.name, reply.error!.message, reply.error!.details));
  }

  /** A crashed worker is a bug: fail its jobs loudly and replace it. */
  private failWorker(pooled: PooledWorker, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker === pooled) {
        this.pending.delete(id);
        p.reject(err);
      }
    }
    if (this.closed) return;
    const i = this.workers.indexOf(pooled);
    if (i >= 0) {
      void pooled.worker.terminate();
      this.workers[i] = this.spawn(pooled.index);
    }
  }
}
