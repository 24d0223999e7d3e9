import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { PartEdges } from '../../src/store/part-edges.js';
import type { OpenOptions } from '../../src/store/store.js';
import { openTestStore, TEST_SEED } from '../helpers/store.js';

/** Uploads data as parts of these sizes (the last takes the rest), two at a time, and completes it. */
async function uploadInParts(store: ChunkStore, key: string, data: Buffer, sizes: number[]): Promise<void> {
  const ranges: [number, number][] = [];
  let at = 0;
  for (const size of sizes) {
    ranges.push([at, at + size]);
    at += size;
  }
  ranges.push([at, data.length]);
  const up = store.createUpload(key);
  for (let i = 0; i < ranges.length; i += 2) {
    await Promise.all(ranges.slice(i, i + 2).map(([s, e], j) => store.putPart(up.uploadId, i + j + 1, streamOf([data.subarray(s, e)]))));
  }
  await store.completeUpload(up.uploadId, ranges.map((_, i) => ({ partNumber: i + 1 })));
}

/** Unique data bytes the unit keeps once what no recipe reaches is collected. */
async function liveUnique(store: ChunkStore): Promise<number> {
  return store.stats().uniqueBytes - (await store.estimateReclaimable()).deadDataRawBytes;
}

/** Parts of every awkward size: big, smaller than one chunk, empty, and runs of them. */
const AWKWARD = [600_000, 700_001, 1, 2, 3, 5000, 0, 555_555, 20_000, 7];

/**
 * Every seam test runs three times: with the parts' edges kept from their
 * uploads (what a completion normally stitches from); with only their chunk
 * lists kept (an upload larger than the cache's bytes), so that the edges are
 * read from the containers through the lists; and with nothing kept, so that
 * every edge is read back through the parts' recipes (after a restart, or past
 * the cache's budget). All must give the same object, chunk for chunk.
 */
for (const [mode, budget, edgeBytes] of [['edges kept', 64 << 20, true], ['chunk lists kept', 64 << 20, false], ['edges read back', 0, true]] as const) {
  t.test(mode, async (t) => {
    const edges = new PartEdges(budget, edgeBytes);
    const open = (t: Test, options: OpenOptions = {}, dir?: string) => openTestStore(t, { partEdges: edges, ...options }, dir);
  t.test('a multipart object names exactly the chunks one stream of its bytes would', async (t) => {
    const { store } = await open(t);
    const data = pseudoRandomBytes('seams', 3_000_000);
    await store.put('one', streamOf([data]));
    t.equal(store.stats().uniqueBytes, data.length, 'one stream of random bytes: every byte once');

    const up = store.createUpload('many');
    const sizes = [...AWKWARD, data.length - AWKWARD.reduce((a, b) => a + b, 0)];
    let at = 0;
    for (const [i, size] of sizes.entries()) {
      await store.putPart(up.uploadId, i + 1, streamOf([data.subarray(at, at + size)]));
      at += size;
    }
    const parts = store.stats().uniqueBytes - data.length;
    t.ok(parts > 0, `the parts, cut on their own, stored ${parts} bytes of chunks one stream does not have`);
    await store.completeUpload(up.uploadId, sizes.map((_, i) => ({ partNumber: i + 1 })));
    t.equal(store.stats().uniqueBytes, data.length + parts, 'the re-cut seams are chunks the stream already stored');
    t.equal(await liveUnique(store), data.length, 'the object names only the stream\'s chunks: the parts\' own seam chunks are garbage');
    t.ok((await collect((await store.get('many')).body)).equals(data), 'and reads back byte for byte');
    await store.delete('one');
    t.equal(await liveUnique(store), data.length, 'alone, it still keeps every byte once');
    t.equal((await store.verify()).ok, true);
  });

  t.test('any layout of parts: the object is cut as one stream, and reads back', async (t) => {
    const { store } = await open(t);
    const data = pseudoRandomBytes('layouts', 1_200_000);
    await store.put('one', streamOf([data]));
    let seed = 7;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let layout = 0; layout < 12; layout++) {
      // Mostly parts of tens to hundreds of KiB, with now and then one smaller than a chunk, or empty.
      const sizes: number[] = [];
      for (let left = data.length; left > 0; ) {
        const r = random();
        const size = Math.min(left, r < 0.15 ? Math.floor(r * 20_000) : Math.floor(20_000 + random() * 400_000));
        sizes.push(size);
        left -= size;
      }
      await uploadInParts(store, `layout-${layout}`, data, sizes.slice(0, -1));
      t.ok((await collect((await store.get(`layout-${layout}`)).body)).equals(data), `layout ${layout} (${sizes.length} parts) reads back`);
      t.equal(await liveUnique(store), data.length, `layout ${layout} names only one stream's chunks`);
    }
    t.equal((await store.verify()).ok, true);
  });

  t.test('backup generations uploaded in parts dedup like generations sent in one stream', async (t) => {
    const dir = t.testdir({ single: {}, parts: {} });
    const { store: single } = await open(t, {}, join(dir, 'single'));
    const { store: parted } = await open(t, {}, join(dir, 'parts'));
    const gen1 = pseudoRandomBytes('generation', 2_500_000);
    // The next backup: bytes inserted near the start and removed later shift everything against the part offsets.
    const gen2 = Buffer.concat([gen1.subarray(0, 100_000), pseudoRandomBytes('inserted', 3_333), gen1.subarray(100_000, 1_700_000), gen1.subarray(1_700_017)]);
    const partSizes = [500_000, 500_000, 500_000, 500_000];
    const added: number[][] = [];
    for (const [n, gen] of [gen1, gen2].entries()) {
      const before = [await liveUnique(single), await liveUnique(parted)];
      await single.put(`gen${n + 1}`, streamOf([gen]));
      await uploadInParts(parted, `gen${n + 1}`, gen, partSizes);
      added.push([(await liveUnique(single)) - before[0]!, (await liveUnique(parted)) - before[1]!]);
      t.ok((await collect((await parted.get(`gen${n + 1}`)).body)).equals(gen));
    }
    t.equal(added[1]![1], added[1]![0], `generation 2 adds ${added[1]![0]} unique bytes either way`);
    t.ok(added[1]![0] < 100_000, 'a small edit stays small');
    t.equal(added[0]![1], added[0]![0]);
  });

  t.test('a seam that does not close within its reach is bridged: long runs of zeros', async (t) => {
    const { store } = await open(t);
    // Zeros cut at the largest chunk size wherever the cutter starts: a part's own cuts and the re-cut stay out of step.
    const data = Buffer.concat([pseudoRandomBytes('before', 200_000), Buffer.alloc(1_500_000), pseudoRandomBytes('after', 300_000), Buffer.alloc(900_000)]);
    for (const sizes of [[400_003, 600_000, 700_000], [1_000_001, 1], [200_000, 1_500_000]]) {
      const key = `zeros-${sizes.join('-')}`;
      await uploadInParts(store, key, data, sizes);
      t.ok((await collect((await store.get(key)).body)).equals(data), `${key} reads back`);
      for (const [start, end] of [[399_000, 420_000], [1_399_999, 1_700_001], [2_000_000, 2_900_000]] as const) {
        t.ok((await collect((await store.get(key, { start, end })).body)).equals(data.subarray(start, end)), `${key} [${start}, ${end})`);
      }
    }
    t.equal((await store.verify()).ok, true);
  });

  t.test('units with chunks larger than the seam reach was measured for stitch too', async (t) => {
    // 256 KiB average: chunks of up to 1 MiB, four of which outreach the default.
    const { store } = await open(t, { create: { chunking: defaultChunkingParameters(256 * 1024, TEST_SEED), containerSize: 8 << 20 } });
    const data = pseudoRandomBytes('large chunks', 9_000_000);
    await store.put('one', streamOf([data]));
    await uploadInParts(store, 'many', data, [3_000_000, 3_000_001]);
    t.ok((await collect((await store.get('many')).body)).equals(data));
    t.equal(await liveUnique(store), data.length, 'the parts are cut as one stream');
  });

  t.test('a completion that fails stores nothing, and the upload can still complete', async (t) => {
    const { store } = await open(t);
    const data = pseudoRandomBytes('refused', 1_500_000);
    await store.put('taken', streamOf([pseudoRandomBytes('other', 1000)]));
    const up = store.createUpload('taken');
    await store.putPart(up.uploadId, 1, streamOf([data.subarray(0, 700_000)]));
    await store.putPart(up.uploadId, 2, streamOf([data.subarray(700_000)]));
    // The container files may hold the refused seam's records: garbage no index row names.
    const indexed = (): unknown => {
      const { logicalBytes, objects, dataChunks, uniqueBytes, storedDataBytes, recipeChunks, storedRecipeBytes } = store.stats();
      return { logicalBytes, objects, dataChunks, uniqueBytes, storedDataBytes, recipeChunks, storedRecipeBytes };
    };
    const before = indexed();
    await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 1 }, { partNumber: 2 }], { onlyIfAbsent: true }), { code: 'PreconditionFailed' });
    t.same(indexed(), before, 'the seam chunks staged for it were dropped with it');
    t.equal((await store.head('taken')).size, 1000);
    await store.completeUpload(up.uploadId, [{ partNumber: 1 }, { partNumber: 2 }]);
    t.ok((await collect((await store.get('taken')).body)).equals(data));
    t.equal((await store.verify()).ok, true);
  });

    t.test('the completions above took their edges as this mode says', async (t) => {
      const { hits, misses } = edges.stats();
      if (budget > 0) t.ok(hits > 0 && misses === 0, `every completion found its parts' edges kept (${hits} parts, ${misses} not)`);
      else t.ok(hits === 0 && misses > 0, `every completion read its parts' edges back (${misses} parts)`);
    });
  });
}
