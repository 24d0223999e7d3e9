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

/** What one killed child acknowledged, and where the kill landed. */
export interface KilledRun extends Acked {
  /** The kill landed between a collection's start and its acknowledgement. */
  killedCollecting: boolean;
}

/**
 * When the kill lands. "ready": `ms` after the child is ready. "first-ack": `ms`
 * after it acknowledged its first object, so a round on a loaded host, where
 * the child may take seconds to get going, still kills it mid-ingest with
 * something acknowledged to check. "collection":
 * at the start of the child's second garbage collection, plus `fraction` of
 * how long its first one took, so the kill lands inside a collection (or just
 * after it) however fast or loaded the host is.
 */
export type KillAt = { after: 'ready' | 'first-ack'; ms: number } | { after: 'collection'; fraction: number };

/**
 * Runs the crash child, SIGKILLs it at the moment `at` picks, and returns
 * what it acknowledged. Mode "gc" collects garbage after every fifth object.
 */
export function runAndKill(dir: string, round: number, at: KillAt, mode: 'ingest' | 'gc' = 'ingest'): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: KilledRun = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set(), collections: 0, rewritten: 0, killedCollecting: false };
    let pending = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    let collecting = false;
    let firstCollectionStart = 0;
    let firstCollectionMs = -1;
    const kill = (ms: number): void => {
      timer ??= setTimeout(() => child.kill('SIGKILL'), ms);
    };
    const onLine = (line: string): void => {
      const [op, key, hash] = line.split(' ');
      if (op === 'READY' && at.after === 'ready') kill(at.ms);
      if (op === 'PUT') {
        acked.puts.set(key!, hash!);
        if (at.after === 'first-ack') kill(at.ms);
      }
      if (op === 'DELETING') acked.maybeDeleted.add(key!);
      if (op === 'DEL') {
        acked.deletes.add(key!);
        acked.maybeDeleted.delete(key!);
      }
      if (op === 'COLLECTING') {
        collecting = true;
        if (firstCollectionMs >= 0 && at.after === 'collection') kill(Math.round(firstCollectionMs * at.fraction));
        if (acked.collections === 0) firstCollectionStart = Date.now();
      }
      if (op === 'GC') {
        collecting = false;
        if (acked.collections === 0) firstCollectionMs = Date.now() - firstCollectionStart;
        acked.collections++;
        acked.rewritten += Number(key ?? 0);
      }
    };
    child.stdout.on('data', (d: Buffer) => {
      const lines = (pending + d.toString()).split('\n');
      pending = lines.pop()!;
      // A line the kill cut short (left in pending) was never acknowledged.
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // "close", not "exit": every line the child wrote before the kill has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited ${code}: ${err}`));
      if (timer === undefined) return reject(new Error('the child was never killed at its planned moment: the guard stopped it'));
      acked.killedCollecting = collecting;
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
