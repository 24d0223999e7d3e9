/*
 * A worker for WorkerPool tests: "hold" keeps its thread busy until the test
 * lets it go (a shared flag), and every job answers which thread ran it.
 */
import { threadId } from 'node:worker_threads';
import { serveJobs } from '../../src/compute/worker-host.js';

serveJobs({
  hold: (job: { flag: Int32Array }) => {
    Atomics.wait(job.flag, 0, 0);
    return { value: threadId };
  },
  where: () => ({ value: threadId }),
});
