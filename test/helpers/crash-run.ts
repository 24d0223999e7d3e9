import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import type { ChunkStore } from '../../src/store/store.js';
import { collect, sha256 } from './data.js';

const CHILD = fileURLToPath(new URL('./crash-child.js', import.meta.url));

export interface Acked {
  puts: Map<string, string>;
  deletes: Set<string>;
  /** Deletes started but not acknowledged: the object may be there or not. */
  maybeDeleted: Set<string>;
  /** Garbage collections the child finished before it was killed. */
  collections: number;
  /** Containers those collections compacted (copied forward). */
  rewritten: number;
}

/**
 * Runs the crash child until a random moment after it is ready, SIGKILLs it,
 * and returns what it acknowledged. Mode "gc" collects garbage after every delete.
 */
export function runAndKill(dir: string, round: number, killAfterMs: number, mode: 'ingest' | 'gc' = 'ingest'): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: Acked = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set(), collections: 0, rewritten: 0 };
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
        if (op === 'GC') {
          acked.collections++;
          acked.rewritten += Number(key ?? 0);
        }
      }
      resolve(acked);
    });
  });
}

/**
 * After a crash: every acknowledged delete stays deleted, every acknowledged
 * object reads back byte-identical, and a delete cut short is settled either
 * way (recorded in all). Returns how many objects were read back.
 */
export async function checkAcknowledged(t: Test, store: ChunkStore, all: Acked, round: number): Promise<number> {
  let checked = 0;
  for (const [key, hash] of all.puts) {
    if (all.deletes.has(key)) {
      await t.rejects(store.head(key), { code: 'NoSuchKey' }, `${key} stays deleted`);
      continue;
    }
    if (all.maybeDeleted.has(key) && !(await store.head(key).then(() => true, () => false))) {
      all.deletes.add(key);
      continue;
    }
    const data = await collect((await store.get(key)).body);
    if (sha256(data) !== hash) t.fail(`round ${round}: ${key} differs after the crash`);
    checked++;
  }
  return checked;
}
