import { closeSync, openSync, writeSync } from 'node:fs';
import t, { type Test } from 'tap';
import { ChunkStore } from '../../src/store/store.js';
import { collect as collectBytes, pseudoRandomBytes, sha256, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

/*
 * Compaction: the live chunks of sparse containers are copied forward and the
 * old containers go. Containers here are 256 KiB and chunks about 4 KiB, and
 * small objects stored one after another share containers, so deleting some
 * of them leaves containers part live, part dead.
 */

async function readAll(store: ChunkStore, key: string): Promise<Buffer> {
  return collectBytes((await store.get(key)).body as AsyncIterable<Uint8Array>);
}

function fingerprints(store: ChunkStore): Set<string> {
  const index = store['ctx'].index;
  const out = new Set<string>();
  for (const c of index.containers()) for (const r of index.chunkRowsOfContainer(c.id)) out.add(r.fingerprint.toString('hex'));
  return out;
}

/** Forty objects of 60 KB side by side in ten containers; three of every four deleted. Reopened, so every container is sealed. */
async function sparseUnit(t: Test): Promise<{ store: ChunkStore; kept: Map<string, Buffer>; deadFps: Set<string>; dir: string }> {
  const first = await openTestStore(t);
  const kept = new Map<string, Buffer>();
  const deadFps = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const data = pseudoRandomBytes(`sparse-${i}`, 60_000);
    const before = i % 4 === 0 ? null : fingerprints(first.store);
    await first.store.put(`o${i}`, streamOf([data]));
    if (before) {
      for (const fp of fingerprints(first.store)) if (!before.has(fp)) deadFps.add(fp);
      await first.store.delete(`o${i}`);
    } else {
      kept.set(`o${i}`, data);
    }
  }
  await first.store.close();
  const store = await ChunkStore.open(first.dir);
  t.teardown(() => store.close());
  return { store, kept, deadFps, dir: first.dir };
}

t.test('sparse containers are compacted: their dead bytes come back, their live chunks read back', async (t) => {
  const { store, kept } = await sparseUnit(t);
  const estimate = await store.estimateReclaimable();
  t.ok(estimate.sparseContainers > 0, `${estimate.sparseContainers} sparse containers, ${estimate.emptyContainers} empty ones`);
  const before = store.stats();
  const r = await store.collectGarbage();
  t.ok(r.containersRewritten > 0, `${r.containersRewritten} containers rewritten, ${r.chunksMoved} chunks moved, ${r.bytesCopied} bytes copied`);
  t.equal(r.containersSkipped, 0);
  const after = store.stats();
  const given = before.containerBytes - after.containerBytes;
  t.ok(given >= estimate.deadBytes * 0.95, `${given} of the ${estimate.deadBytes} dead bytes given back`);
  for (const [key, data] of kept) t.equal(sha256(await readAll(store, key)), sha256(data), `${key} reads back`);
  t.ok((await store.verify()).ok, 'verify is clean');
  const again = await store.estimateReclaimable();
  t.equal(again.deadChunks, 0, 'no dead chunk is left');
  const second = await store.collectGarbage();
  t.equal(second.containersRewritten + second.containersRemoved, 0, 'a second collection finds nothing to do');
});

t.test('the threshold: containers above it are kept, 0 turns compaction off', async (t) => {
  const { store } = await sparseUnit(t);
  const off = await store.collectGarbage({ compactBelow: 0 });
  t.equal(off.containersRewritten, 0, 'compactBelow 0: nothing is rewritten');
  t.ok(off.containersRemoved >= 0);
  const estimate = await store.estimateReclaimable({ compactBelow: 0.1 });
  t.equal(estimate.sparseContainers, 0, 'none is under 10% live');
  const r = await store.collectGarbage({ compactBelow: 0.1 });
  t.equal(r.containersRewritten, 0);
  const all = await store.collectGarbage({ compactBelow: 1 });
  t.ok(all.containersRewritten > 0, `compactBelow 1 rewrites the ${all.containersRewritten} containers holding anything dead`);
  t.equal((await store.estimateReclaimable()).deadChunks, 0);
});

t.test('a read under way keeps the file of a container compacted under it until it ends', async (t) => {
  const first = await openTestStore(t);
  // One large live object among deleted ones, in containers that are each part dead.
  const big = pseudoRandomBytes('big', 1_200_000);
  await first.store.put('gap-a', streamOf([pseudoRandomBytes('gap-a', 20_000)]));
  await first.store.put('big', streamOf([big]));
  await first.store.put('gap-b', streamOf([pseudoRandomBytes('gap-b', 20_000)]));
  await first.store.delete('gap-a');
  await first.store.delete('gap-b');
  await first.store.close();
  const store = await ChunkStore.open(first.dir, { settings: { readAhead: 1, readSpanBytes: 64 * 1024 } });
  t.teardown(() => store.close());
  const containers = store['ctx'].containers;

  const body = (await store.get('big')).body as AsyncIterable<Uint8Array>;
  const it = body[Symbol.asyncIterator]();
  const pieces: Buffer[] = [];
  const firstPiece = await it.next();
  pieces.push(Buffer.from(firstPiece.value as Uint8Array));
  // The read has located chunks it has not read yet; every container it uses is now compacted.
  const r = await store.collectGarbage({ compactBelow: 1 });
  t.ok(r.containersRewritten >= 2, `${r.containersRewritten} containers rewritten under the read`);
  t.ok(containers.retiringCount > 0, `${containers.retiringCount} old container files wait for the read`);
  // Time enough for an unlink to land, were the files not kept.
  await new Promise((r) => setTimeout(r, 100));
  for (let n = await it.next(); !n.done; n = await it.next()) pieces.push(Buffer.from(n.value));
  t.equal(sha256(Buffer.concat(pieces)), sha256(big), 'the read finished with the right bytes');
  await new Promise((r) => setImmediate(r));
  t.equal(containers.retiringCount, 0, 'once it ended, the old files went');
  t.equal(sha256(await readAll(store, 'big')), sha256(big), 'a new read finds the copies');
  t.ok((await store.verify()).ok);
});

t.test('a dead chunk that a stream leans on after it was left behind keeps its container whole', async (t) => {
  const { store, kept, deadFps } = await sparseUnit(t);
  const index = store['ctx'].index;
  const directory = store['ctx'].directory;
  const sealed = index.containers().map((c) => c.id);
  let leaned: Buffer | undefined;
  const r = await store.collectGarbage({
    compactBelow: 1,
    onProgress: (p) => {
      // Progress for candidate d comes after candidate d-1 was copied (copies are committed in one batch at the end).
      if (p.phase !== 'sweeping' || p.done === 0 || leaned) return;
      const copied = sealed[p.done - 1]!;
      const dead = index.chunkRowsOfContainer(copied).find((row) => deadFps.has(row.fingerprint.toString('hex')));
      if (!dead) return;
      leaned = dead.fingerprint;
      // What a dedup hit of a stream does: the collection's guard marks it live.
      t.equal(directory.lookup(leaned, 0).state, 'committed');
    },
  });
  t.ok(leaned, 'a stream leaned on a dead chunk of a copied container');
  t.ok(r.containersSkipped >= 1, `${r.containersSkipped} container(s) left whole`);
  t.ok(index.hasChunk(leaned!), 'the chunk it leaned on is still indexed');
  const loc = index.chunkLocation(leaned!);
  t.ok(loc && (await store['ctx'].containers.read(loc.container, loc.offset, 64)).length === 64, 'and its record is on disk');
  for (const [key, data] of kept) t.equal(sha256(await readAll(store, key)), sha256(data), `${key} reads back`);
  t.ok((await store.verify()).ok, 'verify is clean');
});

t.test('a damaged live record keeps its container from being compacted: damage is not copied under fresh checksums', async (t) => {
  const { store, deadFps, dir } = await sparseUnit(t);
  const index = store['ctx'].index;
  const target = index
    .containers()
    .flatMap((c) => index.chunkRowsOfContainer(c.id).map((row) => ({ container: c.id, row })))
    .find(({ container, row }) => row.kind === 0 && !deadFps.has(row.fingerprint.toString('hex')) && index.chunkRowsOfContainer(container).some((r) => deadFps.has(r.fingerprint.toString('hex'))));
  if (!target) throw new Error('no live data chunk in a part-dead container');
  const path = store['ctx'].containers.path(target.container);
  await store.close();
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0xff, 0x00, 0xff]), 0, 3, target.row.offset + 64 + 10);
  closeSync(fd);

  const warnings: Record<string, unknown>[] = [];
  const damaged = await ChunkStore.open(dir, { log: (level, message, fields) => level === 'warn' && warnings.push({ message, ...fields }) });
  t.teardown(() => damaged.close());
  const r = await damaged.collectGarbage({ compactBelow: 1 });
  t.ok(r.containersRewritten > 0, `the other ${r.containersRewritten} part-dead containers were compacted`);
  t.equal(r.containersSkipped, 1, 'the damaged one was not');
  t.equal(damaged['ctx'].index.containerState(target.container), 'sealed', 'it is still there');
  t.match(warnings, [{ message: /not compacted/, container: target.container, problem: /checksum/ }]);
  const v = await damaged.verify();
  t.same(v.badChunks, [target.row.fingerprint.toString('hex')], 'verify names exactly the damaged chunk');
});
