import { randomUUID } from 'node:crypto';
import type { CollectionProgress, CollectionResult } from '../store/collector.js';
import type { MarkProgress } from '../store/gc-mark.js';
import type { ReclaimEstimate } from '../store/reclaim-estimate.js';
import type { VerifyProgress, VerifyReport } from '../store/verify.js';

export type JobState = 'running' | 'succeeded' | 'failed';

/** What each kind of job reports while it runs and when it is done. */
export interface JobKinds {
  verify: { progress: VerifyProgress; result: VerifyReport };
  'reclaim-estimate': { progress: MarkProgress; result: ReclaimEstimate };
  gc: { progress: CollectionProgress; result: CollectionResult };
}
export type JobKind = keyof JobKinds;

export interface Job<K extends JobKind = JobKind> {
  id: string;
  kind: K;
  unit: string;
  state: JobState;
  startedMs: number;
  finishedMs: number | null;
  progress: JobKinds[K]['progress'] | null;
  result: JobKinds[K]['result'] | null;
  error: string | null;
}

/** Long-running work started by admins (verify, reclaim estimates), followed by id. Keeps the last 100 finished. */
export class Jobs {
  private readonly jobs = new Map<string, Job>();

  start<K extends JobKind>(kind: K, unit: string, run: (onProgress: (p: JobKinds[K]['progress']) => void) => Promise<JobKinds[K]['result']>): Job<K> {
    const job: Job<K> = {
      id: randomUUID(),
      kind,
      unit,
      state: 'running',
      startedMs: Date.now(),
      finishedMs: null,
      progress: null,
      result: null,
      error: null,
    };
    this.jobs.set(job.id, job as unknown as Job);
    run((p) => (job.progress = p)).then(
      (result) => Object.assign(job, { state: 'succeeded', result, finishedMs: Date.now() }),
      (err: Error) => Object.assign(job, { state: 'failed', error: err.message, finishedMs: Date.now() }),
    );
    this.prune();
    return job;
  }

  /** Whether a job of this kind is running on the unit. */
  running(kind: JobKind, unit: string): boolean {
    return [...this.jobs.values()].some((j) => j.kind === kind && j.unit === unit && j.state === 'running');
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((j) => j.state !== 'running');
    for (const j of finished.slice(0, Math.max(0, finished.length - 100))) this.jobs.delete(j.id);
  }
}
