import t from 'tap';
import { cairn } from '../helpers/cli.js';
import { pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { signedFetch, startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

t.test('a reclaim estimate through the admin API and the CLI: a job, then a line in the unit stats', async (t) => {
  const s = await startTestServer(t);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  await s.server.units.create('velero');
  const unit = s.server.units.unit('velero');
  await unit.put('keep.tar', streamOf([pseudoRandomBytes('keep', 1_000_000)]));
  await unit.put('expired.tar', streamOf([pseudoRandomBytes('expired', 1_000_000)]));

  const before = await cairn(['stats', 'velero'], env);
  t.match(before.stdout, /reclaimable: +not estimated yet/);

  await unit.store.delete('expired.tar');
  const r = await cairn(['gc', 'estimate', 'velero', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout) as { kind: string; state: string; result: { deadBytes: number; deadDataRawBytes: number; liveChunks: number; deadChunks: number; reclaimableBytes: number } };
  t.match(job, { kind: 'reclaim-estimate', state: 'succeeded' });
  t.ok(job.result.deadBytes > 1_000_000, `the deleted object's ${job.result.deadBytes} stored bytes are dead (random data does not compress)`);
  t.ok(job.result.liveChunks > 0 && job.result.deadChunks > 0);
  t.equal(job.result.deadDataRawBytes, 1_000_000, "exactly the deleted object's bytes are data no recipe reaches");

  const human = await cairn(['gc', 'estimate', 'velero'], env);
  t.match(human.stdout, /^velero: .* reclaimable \(\d+ containers with nothing live, \d+ under 50% live\); .* dead in \d+ chunks \(.+ of unique data\), \d+ chunks live; marked in/);
  const after = await cairn(['stats', 'velero'], env);
  t.match(after.stdout, /reclaimable: +.* dead, .+ of unique data; estimated /);
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
  t.match((await cairn(['stats', 'velero'], env)).stdout, /last collection: +none yet/);

  const r = await cairn(['gc', 'run', 'velero', '--json'], env);
  t.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout) as { kind: string; state: string; result: { containersRemoved: number; bytesFreed: number; containersExamined: number; marked: { roots: number } } };
  t.match(job, { kind: 'gc', state: 'succeeded', result: { marked: { roots: 1 } } });
  t.ok(job.result.containersRemoved > 0 && job.result.bytesFreed > 1_000_000, `${job.result.containersRemoved} containers, ${job.result.bytesFreed} bytes freed`);
  t.match((await cairn(['stats', 'velero'], env)).stdout, /last collection: +.* freed, \d+ containers removed, \d+ compacted, /);
  t.match((await cairn(['gc', 'run', 'velero'], env)).stdout, /^velero: freed .*, 0 of \d+ sealed containers removed, 0 compacted/, 'a second collection finds nothing more');
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

t.test('compaction, the collection policy and its schedule through the CLI; both kept across a restart', async (t) => {
  const dataDir = testDir(t);
  const s = await startTestServer(t, {}, dataDir);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  await s.server.units.create('kopia', { containerSize: 256 * 1024 });
  const unit = s.server.units.unit('kopia');
  // Packs side by side in the same containers; every other one expires.
  for (let i = 0; i < 12; i++) await unit.put(`p/${i}`, streamOf([pseudoRandomBytes(`pack-${i}`, 100_000)]));
  for (let i = 0; i < 12; i += 2) await unit.store.delete(`p/${i}`);
  await unit.store.close();
  await s.server.close();

  const s2 = await startTestServer(t, {}, dataDir);
  const env2 = { ...env, CAIRN_ENDPOINT: s2.url, CAIRN_ACCESS_KEY_ID: s2.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s2.admin.secretAccessKey };
  t.match((await cairn(['gc', 'policy', 'kopia'], env2)).stdout, /^kopia: not scheduled, compacting containers under 50% live/, 'the default policy');
  const bad = await cairn(['gc', 'policy', 'kopia', '--compact-below', '1.5'], env2);
  t.equal(bad.code, 2, 'a share over 1 is a usage error');
  const refused = await signedFetch(s2.url, 'PUT', '/admin/v1/units/kopia/gc-policy', s2.admin, { body: JSON.stringify({ intervalSeconds: 5 }), headers: { 'content-type': 'application/json' } });
  t.equal(refused.status, 400, 'an interval under a minute is refused by the API');
  const json = { 'content-type': 'application/json' };
  const badShare = await signedFetch(s2.url, 'PUT', '/admin/v1/units/kopia/gc-policy', s2.admin, { body: JSON.stringify({ compactBelow: -1 }), headers: json });
  t.equal(badShare.status, 400, 'a negative threshold is refused');
  const badRun = await signedFetch(s2.url, 'POST', '/admin/v1/units/kopia/gc', s2.admin, { body: JSON.stringify({ compactBelow: 5 }), headers: json });
  t.equal(badRun.status, 400, 'a collection with a threshold over 1 is refused');
  const unknown = await signedFetch(s2.url, 'POST', '/admin/v1/units/kopia/gc', s2.admin, { body: JSON.stringify({ everything: true }), headers: json });
  t.equal(unknown.status, 400, 'so is an unknown field');
  const started = (await signedFetch(s2.url, 'GET', '/admin/v1/jobs', s2.admin)).json as { jobs: unknown[] };
  t.equal(started.jobs.length, 0, 'no job was started by a refused request');
  t.match((await cairn(['gc', 'policy', 'kopia'], env2)).stdout, /under 50% live/, 'and the policy is unchanged');
  const set = await cairn(['gc', 'policy', 'kopia', '--every', '1h', '--compact-below', '0.9'], env2);
  t.equal(set.code, 0, set.stderr);
  t.match(set.stdout, /^kopia: every 1h, compacting containers under 90% live/);

  const r = await cairn(['gc', 'run', 'kopia', '--compact-below', '1', '--json'], env2);
  t.equal(r.code, 0, r.stderr);
  const job = JSON.parse(r.stdout) as { result: { containersRewritten: number; bytesCopied: number; compactBelow: number } };
  t.ok(job.result.containersRewritten > 0, `${job.result.containersRewritten} containers compacted, ${job.result.bytesCopied} bytes copied forward`);
  t.equal(job.result.compactBelow, 1, 'the threshold given to the run, not the policy’s');
  for (let i = 1; i < 12; i += 2) {
    const got = await s2.server.units.unit('kopia').get(`p/${i}`);
    t.equal(Buffer.concat(await got.body.toArray()).equals(pseudoRandomBytes(`pack-${i}`, 100_000)), true, `p/${i} reads back`);
  }

  // The schedule: due an hour after the last collection began, started as an ordinary gc job.
  const scheduler = s2.server.gcScheduler;
  t.same(scheduler.tick(Date.now() + 60_000), [], 'not due a minute later');
  t.same(scheduler.tick(Date.now() + 3_601_000), ['kopia'], 'due after an hour');
  t.same(scheduler.tick(Date.now() + 3_601_000), [], 'not started twice');
  const jobs = (await signedFetch(s2.url, 'GET', '/admin/v1/jobs', s2.admin)).json as { jobs: { kind: string; unit: string; state: string }[] };
  t.ok(jobs.jobs.some((j) => j.kind === 'gc' && j.unit === 'kopia'), 'the scheduled collection is a job like any other');
  await s2.server.close();

  const s3 = await startTestServer(t, {}, dataDir);
  const env3 = { ...env, CAIRN_ENDPOINT: s3.url, CAIRN_ACCESS_KEY_ID: s3.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s3.admin.secretAccessKey };
  const shown = (await cairn(['stats', 'kopia'], env3)).stdout;
  t.match(shown, /last collection: +.* freed, \d+ containers removed, \d+ compacted, /, 'the last collection survives a restart');
  t.match(shown, /collection policy: every 1h, compacting containers under 90% live/, 'and so does the policy');
});
