import t from 'tap';
import { cairn } from '../helpers/cli.js';
import { pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { signedFetch, startTestServer } from '../helpers/server.js';

t.test('a reclaim estimate through the admin API and the CLI: a job, then a line in the unit stats', async (t) => {
  const s = await startTestServer(t);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  await s.server.units.create('velero');
  const unit = s.server.units.unit('velero');
  await unit.put('keep.tar', streamOf([pseudoRandomBytes('keep', 1_000_000)]));
  await unit.put('expired.tar', streamOf([pseudoRandomBytes('expired', 1_000_000)]));

  const before = await cairn(['stats', 'velero'], env);
  t.match(before.stdout, /reclaimable: +not estimated since the server started/);

  await unit.store.delete('expired.tar');
  const r = await cairn(['gc', 'estimate', 'velero', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout) as { kind: string; state: string; result: { deadBytes: number; liveChunks: number; deadChunks: number; reclaimableBytes: number } };
  t.match(job, { kind: 'reclaim-estimate', state: 'succeeded' });
  t.ok(job.result.deadBytes > 1_000_000, `the deleted object's ${job.result.deadBytes} stored bytes are dead (random data does not compress)`);
  t.ok(job.result.liveChunks > 0 && job.result.deadChunks > 0);

  const human = await cairn(['gc', 'estimate', 'velero'], env);
  t.match(human.stdout, /^velero: .* reclaimable \(\d+ containers with nothing live, \d+ under 50% live\); .* dead in \d+ chunks, \d+ chunks live; marked in/);
  const after = await cairn(['stats', 'velero'], env);
  t.match(after.stdout, /reclaimable: +.* dead; estimated /);
  const st = unit.store.stats();
  t.equal(st.dataChunks + st.recipeChunks, job.result.liveChunks + job.result.deadChunks, 'every chunk is live or dead, and an estimate removes none');

  const openapi = await signedFetch(s.url, 'GET', '/admin/v1/openapi.json', s.admin);
  t.match(openapi.text, /reclaim-estimate/);
  const missing = await cairn(['gc', 'estimate', 'ghost'], env);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /404/);
});

t.test('a collection through the admin API and the CLI: deleted data goes, the result shows in the unit stats', async (t) => {
  const s = await startTestServer(t);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  await s.server.units.create('velero', { containerSize: 256 * 1024 });
  const unit = s.server.units.unit('velero');
  await unit.put('keep.tar', streamOf([pseudoRandomBytes('keep', 1_000_000)]));
  await unit.put('expired.tar', streamOf([pseudoRandomBytes('expired', 2_000_000)]));
  await unit.store.delete('expired.tar');
  t.match((await cairn(['stats', 'velero'], env)).stdout, /last collection: +none since the server started/);

  const r = await cairn(['gc', 'run', 'velero', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout) as { kind: string; state: string; result: { containersRemoved: number; bytesFreed: number; containersExamined: number; marked: { roots: number } } };
  t.match(job, { kind: 'gc', state: 'succeeded', result: { marked: { roots: 1 } } });
  t.ok(job.result.containersRemoved > 0 && job.result.bytesFreed > 1_000_000, `${job.result.containersRemoved} containers, ${job.result.bytesFreed} bytes freed`);
  t.match((await cairn(['stats', 'velero'], env)).stdout, /last collection: +.* freed, \d+ containers removed/);
  t.match((await cairn(['gc', 'run', 'velero'], env)).stdout, /^velero: freed .*, 0 of \d+ sealed containers removed/, 'a second collection finds nothing more');
  t.equal((await cairn(['gc', 'run', 'ghost'], env)).code, 1, 'a unit that does not exist: exit 1');

  // One collection at a time per unit: a stream left open keeps the first one waiting at its barrier.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const open = unit.put('open.tar', (async function* () {
    yield pseudoRandomBytes('open', 10_000);
    await held;
  })());
  await new Promise((r) => setTimeout(r, 50));
  const first = await signedFetch(s.url, 'POST', '/admin/v1/units/velero/gc', s.admin);
  const second = await signedFetch(s.url, 'POST', '/admin/v1/units/velero/gc', s.admin);
  t.equal(first.status, 202);
  t.equal(second.status, 409, 'a second collection while one runs is refused');
  t.match(second.text, /gc-running/);
  release();
  await open;
});
