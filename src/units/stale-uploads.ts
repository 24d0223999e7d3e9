import type { UnitRegistry } from './unit-registry.js';

/**
 * Aborts multipart uploads left incomplete longer than the limit, in every
 * unit, as S3's AbortIncompleteMultipartUpload lifecycle rule would: a client
 * that died half-way must not pin its parts (and their chunks) for ever.
 */
export class StaleUploadReaper {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly units: UnitRegistry,
    private readonly maxAgeMs: number,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {
    this.timer = setInterval(() => this.sweep(Date.now()), Math.max(250, Math.min(3_600_000, maxAgeMs / 4)));
    this.timer.unref();
  }

  /** One pass over every unit; the number of uploads aborted. */
  sweep(nowMs: number): number {
    let aborted = 0;
    for (const name of this.units.names()) {
      try {
        const ids = this.units.unit(name).store.abortUploadsBegunBefore(nowMs - this.maxAgeMs);
        for (const uploadId of ids) this.log('stale multipart upload aborted', { unit: name, uploadId, maxAgeSeconds: this.maxAgeMs / 1000 });
        aborted += ids.length;
      } catch (err) {
        // A unit being deleted or closed: the next pass sees it gone.
        this.log('stale upload sweep skipped a unit', { unit: name, error: (err as Error).message });
      }
    }
    return aborted;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
