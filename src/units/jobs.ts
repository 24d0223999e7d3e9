import { randomUUID } from 'node:crypto';
import type { VerifyProgress, VerifyReport } from '../store/verify.js';

export type JobState = 'running' | 'succeeded' | 'failed';

export interface Job {
  id: string;
  kind: 'verify';
  unit: string;
  state: JobState;
  startedMs: number;
  finishedMs: number | null;
  progress: VerifyProgress | null;
  result: VerifyReport | null;
  error: string | null;
}

/** Long-running work started by admins (verify today), followed by id. Keeps the last 100 finished. */
export class Jobs {
  private readonly jobs = new Map<string, Job>();

  start(unit: string, run: (onProgress: (p: VerifyProgress) => void) => Promise<VerifyReport>): Job {
    const job: Job = {
      id: randomUUID(),
      kind: 'verify',
      unit,
      state: 'running',
      startedMs: Date.now(),
      finishedMs: null,
      progress: null,
      result: null,
      error: null,
    };
    this.jobs.set(job.id, job);
    run((p) => (job.progress = p)).then(
      (result) => Object.assign(job, { state: 'succeeded', result, finishedMs: Date.now() }),
      (err: Error) => Object.assign(job, { state: 'failed', error: err.message, finishedMs: Date.now() }),
    );
    this.prune();
    return job;
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
