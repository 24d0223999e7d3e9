import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ChunkStore } from '../../src/store/store.js';
import { checkAcknowledged, runAndKill, type Acked, type KillAt } from '../helpers/crash-run.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { testDir } from '../helpers/test-dir.js';

const ROUNDS = 12;
/** Rounds go on, up to this many, until a third of ROUNDS were killed inside a collection. */
const MAX_ROUNDS = 3 * ROUNDS;
const INSIDE = ROUNDS / 3;

/**
 * Three rounds in four are killed during the second collection, timed from
 * the first one so a loaded host gets the same coverage. The first is the
 * slower (a cold process, the last kill's leftovers): the second usually ends
 * near 0.6 of it. The fourth round is killed at a random moment after start,
 * which may land anywhere.
 */
function killMoment(delays: Buffer, round: number): KillAt {
  const r = delays.readUInt16LE(round * 2);
  return round % 4 === 3 ? { after: 'ready', ms: 50 + (r % 1500) } : { after: 'collection', fraction: (0.6 * r) / 0xffff };
}

function containerFiles(dir: string): number {
  const root = join(dir, 'containers');
  return readdirSync(root).reduce((n, shard) => n + readdirSync(join(root, shard)).filter((f) => f.endsWith('.ctr')).length, 0);
}

t.test(`SIGKILL during garbage collection, ${ROUNDS} times: nothing acknowledged is lost, verify is clean, and the space still returns`, async (t) => {
  const dir = testDir(t);
  const all: Acked = { puts: new Map(), deletes: new Set(), maybeDeleted: new Set(), collections: 0, rewritten: 0 };
  const delays = pseudoRandomBytes('gc-kill-delays', MAX_ROUNDS * 2);
  let inside = 0;
  let round = 0;
  for (; round < ROUNDS || (inside < INSIDE && round < MAX_ROUNDS); round++) {
    const at = killMoment(delays, round);
    const acked = await runAndKill(dir, round, at, 'gc');
    if (acked.killedCollecting) inside++;
    for (const [k, h] of acked.puts) all.puts.set(k, h);
    for (const k of acked.deletes) all.deletes.add(k);
    for (const k of acked.maybeDeleted) all.maybeDeleted.add(k);
    all.collections += acked.collections;
    all.rewritten += acked.rewritten;

    const store = await ChunkStore.open(dir);
    try {
      const checked = await checkAcknowledged(t, store, all, round);
      const report = await store.verify();
      const when = acked.killedCollecting ? 'inside a collection' : at.after === 'ready' ? `${at.ms} ms after start` : 'just after a collection';
      t.ok(report.ok, `round ${round} (killed ${when}, ${acked.collections} collections finished): ${checked} objects read back, verify clean`);
      if (!report.ok) t.comment(JSON.stringify(report).slice(0, 2000));
    } finally {
      await store.close();
    }
  }
  t.ok(inside >= INSIDE, `${inside} of ${round} rounds were killed inside a collection`);
  t.ok(all.rewritten > 0, `${all.rewritten} containers were compacted by the collections that finished`);

  const store = await ChunkStore.open(dir);
  t.teardown(() => store.close());
  // Every object, not only the acknowledged ones: a put can commit and be killed before it says so.
  for (let page = store.list({ limit: 1000 }); page.objects.length > 0; page = store.list({ limit: 1000 })) {
    for (const o of page.objects) await store.delete(o.key);
  }
  // Multipart uploads a kill left unfinished keep their parts until they are aborted.
  for (let page = store.listUploads(); page.uploads.length > 0; page = store.listUploads()) {
    for (const u of page.uploads) store.abortUpload(u.uploadId);
  }
  await store.close();
  const last = await ChunkStore.open(dir);
  t.teardown(() => last.close());
  const r = await last.collectGarbage();
  t.match(last.stats(), { objects: 0, dataChunks: 0, recipeChunks: 0 }, 'everything deleted is collected');
  t.equal(containerFiles(dir), last.stats().containers, `no container file is left that the index does not know (${r.bytesFreed} bytes freed)`);
});
