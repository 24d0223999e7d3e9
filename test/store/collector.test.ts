import t, { type Test } from 'tap';
import { ChunkStore } from '../../src/store/store.js';
import { collect as collectBytes, pseudoRandomBytes, sha256, streamOf } from '../helpers/data.js';
import { collectFor } from '../helpers/collections.js';
import { openTestStore } from '../helpers/store.js';

async function readAll(store: ChunkStore, key: string): Promise<Buffer> {
  return collectBytes((await store.get(key)).body as AsyncIterable<Uint8Array>);
}

t.test('space returns: everything deleted and collected leaves (almost) nothing on disk', async (t) => {
  const first = await openTestStore(t);
  for (let i = 0; i < 6; i++) await first.store.put(`backup-${i}`, streamOf([pseudoRandomBytes(`space-${i}`, 1_500_000)]));
  const full = first.store.stats();
  for (let i = 0; i < 6; i++) await first.store.delete(`backup-${i}`);
  await first.store.close();
  const store = await ChunkStore.open(first.dir);
  t.teardown(() => store.close());
  const r = await store.collectGarbage();
  const empty = store.stats();
  t.equal(r.containersRemoved, r.containersExamined, 'every sealed container held nothing live');
  t.ok(r.bytesFreed >= full.containerBytes * 0.97, `${r.bytesFreed} of ${full.containerBytes} bytes freed`);
  t.match(empty, { objects: 0, dataChunks: 0, recipeChunks: 0, uniqueBytes: 0, storedBytes: 0 });
  t.ok(empty.containerBytes <= full.containerBytes * 0.03, `on disk after: ${empty.containerBytes} bytes`);
  t.ok((await store.verify()).ok, 'verify is clean');
  // The unit goes on working: the same data stored again reads back.
  const again = pseudoRandomBytes('space-0', 1_500_000);
  await store.put('backup-0', streamOf([again]));
  t.ok((await readAll(store, 'backup-0')).equals(again));
});

t.test('live data survives, shared chunks included; dead containers go', async (t) => {
  const first = await openTestStore(t);
  const shared = pseudoRandomBytes('shared', 600_000);
  const keep = Buffer.concat([shared, pseudoRandomBytes('keep', 900_000)]);
  await first.store.put('drop', streamOf([pseudoRandomBytes('drop', 1_200_000), shared]));
  await first.store.put('keep', streamOf([keep]));
  await first.store.copy('keep', 'keep-copy');
  await first.store.delete('drop');
  await first.store.delete('keep');
  await first.store.close();
  const store = await ChunkStore.open(first.dir);
  t.teardown(() => store.close());
  const before = store.stats();
  const r = await store.collectGarbage();
  t.ok(r.containersRemoved > 0, `${r.containersRemoved} containers removed`);
  t.ok(store.stats().containerBytes < before.containerBytes);
  t.equal(sha256(await readAll(store, 'keep-copy')), sha256(keep), 'the copy (sharing the deleted original’s recipe) reads back');
  t.ok((await store.verify()).ok, 'verify is clean');
  const second = await store.collectGarbage();
  t.equal(second.containersRemoved, 0, 'a second collection finds nothing more to delete');
});

t.test('collections during concurrent puts that dedup against deleted data, deletes and copies lose nothing', async (t) => {
  const { store, dir } = await openTestStore(t);
  // A pool of blocks shared by every object, so new puts keep leaning on chunks of deleted objects;
  // and data of each object's own, so deleted objects leave whole containers dead.
  const blocks = Array.from({ length: 24 }, (_, i) => pseudoRandomBytes(`block-${i}`, 70_000));
  const expected = new Map<string, string>();
  let seq = 0;
  const make = (n: number): Buffer =>
    Buffer.concat([...Array.from({ length: 6 }, (_, j) => blocks[(n * 7 + j * 5) % blocks.length]!), pseudoRandomBytes(`own-${n}`, 600_000)]);
  let stop = false;
  const writer = async (w: number): Promise<void> => {
    while (!stop) {
      const n = seq++;
      const key = `w${w}/obj-${n}`;
      const data = make(n);
      await store.put(key, streamOf([data]));
      expected.set(key, sha256(data));
      const keys = [...expected.keys()];
      if (n % 3 === 0 && keys.length > 2) {
        const victim = keys[n % keys.length]!;
        expected.delete(victim);
        await store.delete(victim);
      }
      if (n % 5 === 0 && keys.length > 0) {
        const src = [...expected.keys()][n % expected.size];
        if (src) {
          const copyKey = `copies/${n}`;
          const sum = expected.get(src)!;
          try {
            await store.copy(src, copyKey);
          } catch (err) {
            if ((err as Error).name === 'NoSuchKeyError') continue; // another writer deleted the source first
            throw err;
          }
          expected.set(copyKey, sum);
          if (n % 2 === 0) {
            // "Copy z to a, then delete z": the copy alone holds the recipe now.
            expected.delete(src);
            await store.delete(src);
          }
        }
      }
    }
  };
  const writers = [0, 1, 2].map(writer);
  const { collections, removed, rewritten } = await collectFor(8_000, (o) => store.collectGarbage(o));
  stop = true;
  await Promise.all(writers);
  t.ok(collections >= 3, `${collections} collections ran beside ${seq} puts`);
  t.ok(removed > 0, `${removed} containers were removed while writes went on`);
  t.ok(rewritten > 0, `${rewritten} containers were compacted while writes went on`);
  for (const [key, sum] of expected) t.equal(sha256(await readAll(store, key)), sum, `${key} reads back`);
  const v = await store.verify();
  t.ok(v.ok, `verify is clean (${v.damagedObjects.length} damaged objects, ${v.badChunks.length} missing chunks)`);

  // Sealed, then two collections: no chunk is left that nothing reaches.
  await store.close();
  const sealed = await ChunkStore.open(dir);
  for (let i = 0; i < 2; i++) await sealed.collectGarbage({ compactBelow: 1 });
  const left = await sealed.estimateReclaimable();
  t.equal(left.deadChunks, 0, `nothing unreachable survives two collections (${left.liveChunks} live chunks)`);
  t.equal(left.deadBytes, 0, 'nor any unreferenced record in a sealed container');
  for (const [key, sum] of expected) t.equal(sha256(await readAll(sealed, key)), sum, `${key} still reads back`);

  // Everything deleted, sealed and collected: nothing is left.
  for (const key of expected.keys()) await sealed.delete(key);
  await sealed.close();
  const reopened = await ChunkStore.open(dir);
  t.teardown(() => reopened.close());
  await reopened.collectGarbage();
  t.match(reopened.stats(), { dataChunks: 0, recipeChunks: 0 }, 'nothing unreachable survives');
});

/** A source that yields `first`, then waits for `gate` before yielding `rest`. */
function gatedSource(first: Buffer, gate: Promise<void>, rest: Buffer): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield first;
    await gate;
    yield rest;
  })();
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * A unit holding only dead data (sealed): what the next two tests lean on while
 * collecting. More than one batch of it (4 MiB by default), so that a stream
 * sending it and then waiting has a whole batch cut, hashed and looked up.
 */
async function deadUnit(t: Test): Promise<{ store: ChunkStore; old: Buffer }> {
  const first = await openTestStore(t);
  const old = pseudoRandomBytes('old', 6_000_000);
  await first.store.put('old', streamOf([old]));
  await first.store.delete('old');
  await first.store.close();
  const store = await ChunkStore.open(first.dir);
  t.teardown(() => store.close());
  return { store, old };
}

t.test('the guard: a put that starts during a collection and dedups against dead data keeps that data', async (t) => {
  const { store, old } = await deadUnit(t);
  // A stream open before the collection holds it in its barrier while the second put takes its references.
  const holdEarly = gate();
  const early = store.put('early', gatedSource(pseudoRandomBytes('early', 100_000), holdEarly.promise, Buffer.alloc(0)));
  await new Promise((r) => setTimeout(r, 50));
  const gc = store.collectGarbage();
  await until(() => store['ctx'].directory.guard !== null, 'the guard');
  const lookups = store.lookupCounters().lookups;
  const holdLate = gate();
  const late = store.put('late', gatedSource(old, holdLate.promise, pseudoRandomBytes('late-tail', 200_000)));
  // Its first batch (4 MiB of the old data) is cut, hashed and looked up: references taken.
  await until(() => store.lookupCounters().lookups - lookups > 40, "the late put's dedup lookups");
  holdEarly.open();
  await early;
  const r = await gc;
  t.ok(r.containersExamined > 0);
  holdLate.open();
  await late;
  const back = await readAll(store, 'late');
  t.ok(back.subarray(0, old.length).equals(old), 'the deduplicated data is still there');
  t.ok((await store.verify()).ok);
});

t.test('the guard: a put that leans on chunks another stream has staged keeps them, even once that stream commits and its object goes', async (t) => {
  // Small containers: the staging stream's first chunks sit in containers sealed while it is
  // still open, so they are candidates of a collection that begins then.
  const { store } = await openTestStore(t, { create: { containerSize: 256 * 1024 } });
  const shared = pseudoRandomBytes('staged-shared', 6_000_000);
  const holdA = gate();
  const a = store.put('a', gatedSource(shared, holdA.promise, pseudoRandomBytes('a-tail', 100_000)));
  const lookups0 = store.lookupCounters().lookups;
  await until(() => store.lookupCounters().lookups - lookups0 > 40, "the first stream's chunks staged");
  await new Promise((r) => setTimeout(r, 100));
  // The collection waits for the first stream (open before its guard went up).
  const gc = store.collectGarbage();
  await until(() => store['ctx'].directory.guard !== null, 'the guard');
  // The second stream begins under the guard and dedups against the first one's staged chunks.
  const holdB = gate();
  const lookups1 = store.lookupCounters().lookups;
  const b = store.put('b', gatedSource(shared, holdB.promise, pseudoRandomBytes('b-tail', 100_000)));
  await until(() => store.lookupCounters().lookups - lookups1 > 40, "the second stream's lookups");
  // The first stream commits, and its object is deleted before the collection marks: nothing
  // committed reaches the shared chunks now but the second stream's recipe, not yet committed.
  holdA.open();
  await a;
  await store.delete('a');
  await gc;
  holdB.open();
  await b;
  const back = await readAll(store, 'b');
  t.ok(back.subarray(0, shared.length).equals(shared), 'the chunks it leaned on are still there');
  t.ok((await store.verify()).ok);
});

t.test('the barrier: a stream that took its references before the collection began is waited for', async (t) => {
  const { store, old } = await deadUnit(t);
  const lookups = store.lookupCounters().lookups;
  const hold = gate();
  const put = store.put('before', gatedSource(old, hold.promise, pseudoRandomBytes('before-tail', 200_000)));
  await until(() => store.lookupCounters().lookups - lookups > 40, 'the dedup lookups');
  let waited = false;
  const gc = store.collectGarbage({ onProgress: (p) => {
    if (p.phase === 'waiting' && !waited) {
      waited = true;
      hold.open();
    }
  } });
  const r = await gc;
  hold.open();
  await put;
  t.ok(waited, 'the collection waited for the stream');
  t.ok(r.waitedSeconds >= 0);
  t.ok((await readAll(store, 'before')).subarray(0, old.length).equals(old), 'the data it deduplicated against survived');
  t.ok((await store.verify()).ok);
});

t.test('the second walk: "copy z to a, then delete z" while the mark walks past a keeps the data', async (t) => {
  const first = await openTestStore(t);
  const z = pseudoRandomBytes('z', 1_500_000);
  await first.store.put('zz', streamOf([z]));
  // Enough objects that the walk reads three pages of keys (512 a page) before it would reach zz.
  for (let i = 0; i < 1100; i++) await first.store.put(`k${String(i).padStart(4, '0')}`, streamOf([Buffer.from(`tiny ${i}`)]));
  await first.store.close();
  const store = await ChunkStore.open(first.dir);
  t.teardown(() => store.close());
  let moved: Promise<void> | undefined;
  const r = await store.collectGarbage({ onProgress: (p) => {
    // After the first page (keys "k0000".."k0511"), the copy lands before the walk, the original after it.
    if (p.phase === 'marking' && p.done >= 512 && !moved) {
      moved = (async () => {
        await store.copy('zz', 'a-copy');
        await store.delete('zz');
      })();
    }
  } });
  await moved;
  t.ok(moved, 'the copy and delete ran during the walk');
  t.ok(r.marked.roots < 1102, `the walk never saw zz (${r.marked.roots} roots)`);
  t.equal(sha256(await readAll(store, 'a-copy')), sha256(z), 'the copy reads back');
  t.ok((await store.verify()).ok);
});
