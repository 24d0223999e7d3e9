import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, sha256 } from '../helpers/data.js';

const CHILD = fileURLToPath(new URL('../helpers/crash-child.js', import.meta.url));
const ROUNDS = 22;

interface Acked {
  puts: Map<string, string>;
  deletes: Set<string>;
  /** Deletes started but not acknowledged: the object may be there or not. */
  maybeDeleted: Set<string>;
}

/** Runs the child until a random moment after it is ready, SIGKILLs it, and returns what it acknowledged. */
function runAndKill(dir: string, round: number, killAfterMs: number): Promise<Acked> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: Acked = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set() };
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
      }
      resolve(acked);
    });
  });
}

t.test(`SIGKILL during ingest, ${ROUNDS} times: every acknowledged object survives and verify is clean`, async (t) => {
  const dir = t.testdir();
  const all: Acked = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set() };
  const delays = pseudoRandomBytes('kill-delays', ROUNDS * 2);
  let recovered = 0;
  let truncated = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const killAfter = 20 + (delays.readUInt16LE(round * 2) % 900);
    const acked = await runAndKill(dir, round, killAfter);
    for (const [k, h] of acked.puts) all.puts.set(k, h);
    for (const k of acked.deletes) all.deletes.add(k);
    for (const k of acked.maybeDeleted) all.maybeDeleted.add(k);

    const store = await ChunkStore.open(dir, {
      log: (_level, message, fields) => {
        if (message === 'recovered open container') {
          recovered++;
          truncated += (fields?.truncatedBytes as number) ?? 0;
        }
      },
    });
    try {
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
      const report = await store.verify();
      t.ok(report.ok, `round ${round} (killed after ${killAfter} ms): ${acked.puts.size} new acks, ${checked} objects read back, verify clean`);
      if (!report.ok) t.comment(JSON.stringify(report).slice(0, 2000));
    } finally {
      await store.close();
    }
  }
  t.ok(all.puts.size > ROUNDS, `${all.puts.size} objects acknowledged across the rounds`);
  t.comment(`${recovered} open containers recovered at start-up, ${truncated} bytes of torn tail cut`);
});
