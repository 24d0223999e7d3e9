import type { Jobs } from './jobs.js';
import type { UnitRegistry } from './unit-registry.js';

/**
 * Starts the garbage collections that units' policies schedule (none by
 * default). A collection is due once its interval has passed since the last
 * one began, or since the server started when the unit has none on record;
 * it runs as an ordinary gc job, so the admin API shows its progress and a
 * collection already running (started by hand) is not doubled.
 */
export class GcScheduler {
  private readonly timer: NodeJS.Timeout;
  private readonly startedMs = Date.now();
  /** When this scheduler last started each unit's collection: one that failed is not retried before its interval. */
  private readonly attempted = new Map<string, number>();

  constructor(
    private readonly units: UnitRegistry,
    private readonly jobs: Jobs,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
    checkEveryMs = 30_000,
  ) {
    this.timer = setInterval(() => this.tick(Date.now()), checkEveryMs);
    this.timer.unref();
  }

  /** Starts every collection due at nowMs; the names of the units it started. */
  tick(nowMs: number): string[] {
    const started: string[] = [];
    for (const name of this.units.names()) {
      try {
        const unit = this.units.unit(name);
        const { intervalSeconds } = unit.store.collectionPolicy();
        if (intervalSeconds === null || this.jobs.running('gc', name)) continue;
        const last = Math.max(unit.store.lastCollection()?.startedMs ?? this.startedMs, this.attempted.get(name) ?? 0);
        if (nowMs - last < intervalSeconds * 1000) continue;
        this.attempted.set(name, nowMs);
        const job = this.jobs.start('gc', name, (onProgress) => unit.collectGarbage({ onProgress }));
        this.log('scheduled garbage collection started', { unit: name, job: job.id, intervalSeconds });
        started.push(name);
      } catch (err) {
        // A unit being deleted or closed: the next tick sees it gone.
        this.log('garbage collection schedule skipped a unit', { unit: name, error: (err as Error).message });
      }
    }
    return started;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
