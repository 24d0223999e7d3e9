import { SlotPool } from '../compute/batch-buffers.js';
import { WorkerPool } from '../compute/worker-pool.js';
import type { PackResult } from './mover-jobs.js';

/** The mover's worker threads and batch memory, one set per process: every stream shares the cores. */
export class MoverCompute {
  private static sharedInstance: MoverCompute | null = null;
  /** Batches of every stream: shared memory reused, never allocated per stream. */
  readonly slots = new SlotPool(32, 0);

  constructor(readonly pool: WorkerPool) {}

  static shared(): MoverCompute {
    return (MoverCompute.sharedInstance ??= new MoverCompute(new WorkerPool(new URL('./mover-worker.js', import.meta.url))));
  }

  fingerprints(data: Uint8Array, cuts: Uint32Array): Promise<Buffer> {
    return this.pool.run<Uint8Array>('fingerprints', { data, cuts }).then((u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength));
  }

  /** A chunks frame of the given chunks of data ([start, length] pairs), compressed at `level`. */
  async pack(data: Uint8Array, chunks: Uint32Array, fingerprints: Uint8Array, level: number): Promise<Buffer> {
    const r = await this.pool.run<PackResult>('pack', { data, chunks, fingerprints, level });
    return Buffer.from(r.frame.buffer, r.frame.byteOffset, r.length);
  }
}
