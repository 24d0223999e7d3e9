import { parentPort, type TransferListItem } from 'node:worker_threads';
import type { JobReply } from './worker-pool.js';

/** What a job handler returns: a value, and what in it to transfer rather than copy. */
export interface JobResult {
  value: unknown;
  transfer?: TransferListItem[];
}

export type JobHandler = (payload: never) => JobResult | Promise<JobResult>;

/** Serves a WorkerPool's jobs inside a worker thread. */
export function serveJobs(handlers: Record<string, JobHandler>): void {
  const port = parentPort;
  if (!port) throw new Error('serveJobs must run inside a worker thread');
  port.on('message', async (msg: { id: number; kind: string; payload: unknown }) => {
    let reply: JobReply;
    let transfer: TransferListItem[] = [];
    try {
      const handler = handlers[msg.kind];
      if (!handler) throw new Error(`unknown job kind ${msg.kind}`);
      const result = await handler(msg.payload as never);
      reply = { id: msg.id, ok: true, value: result.value };
      transfer = result.transfer ?? [];
    } catch (err) {
      const e = err as Error & { details?: unknown };
      reply = { id: msg.id, ok: false, error: { name: e.name, message: e.message, details: e.details } };
    }
    port.postMessage(reply, transfer);
  });
}
