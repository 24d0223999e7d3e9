import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

export interface Acked {
  puts: Map<string, string>;
  deletes: Set<string>;
  /** Deletes started but not acknowledged: the object may be there or not. */
  maybeDeleted: Set<string>;
  /** Garbage collections the child finished before it was killed. */
  collections: number;
}

/**
 * Runs the crash child until a random moment after it is ready, SIGKILLs it,
 * and returns what it acknowledged. Mode "gc" collects garbage after every delete.
 */
export function runAndKill(dir: string, round: number, killAfterMs: number, mode: 'ingest' | 'gc' = 'ingest'): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: Acked = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set(), collections: 0 };
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY\n') && !(child as { timer?: NodeJS.Timeout }).timer) {
        (child as { timer?: NodeJS.Timeout }).timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited ${code}: ${err}`));
      for (const line of out.split('\n')) {
        const [op, key, hash] = line.split(' ');
        if (op === 'PUT') acked.puts.set(key!, hash!);
        if (op === 'DELETING') acked.maybeDeleted.add(key!);
        if (op === 'DEL') {
          acked.deletes.add(key!);
          acked.maybeDeleted.delete(key!);
        }
        if (op === 'GC') acked.collections++;
      }
      resolve(acked);
    });
  });
}
