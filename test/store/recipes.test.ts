import t, { type Test } from 'tap';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { ChunkStore } from '../../src/store/store.js';
import { collect, piecesOf, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { TEST_SEED } from '../helpers/store.js';
import { testDir } from '../helpers/test-dir.js';

/** 1 KiB chunks make a few MiB enough for a three-level recipe tree. */
async function smallChunkStore(t: Test): Promise<ChunkStore> {
  const store = await ChunkStore.open(testDir(t), {
    create: { chunking: defaultChunkingParameters(1024, TEST_SEED), containerSize: 1 << 20 },
  });
  t.teardown(() => store.close());
  return store;
}

t.test('a large object gets a multi-level recipe tree, and ranges seek through it', async (t) => {
  const store = await smallChunkStore(t);
  const data = pseudoRandomBytes('tree', 24 << 20);
  const info = await store.put('big', streamOf(piecesOf(data, 1 << 20)));
  t.ok(info.chunkCount > 15_000, `${info.chunkCount} chunks`);
  const s = store.stats();
  // ~20k chunks at ~256 a leaf: ~80 leaves, one level above them, and a root.
  t.ok(s.recipeChunks > 40, `${s.recipeChunks} recipe nodes`);
  const offsets = [0, 1, 1023, 1024, 777_777, 5_000_000, 12_345_678, 24 * (1 << 20) - 1];
  for (const start of offsets) {
    const end = Math.min(data.length, start + 100_000);
    t.ok((await collect((await store.get('big', { start, end })).body)).equals(data.subarray(start, end)), `range at ${start}`);
  }
  t.ok((await collect((await store.get('big')).body)).equals(data), 'whole object');
});

t.test('an edit changes only the recipe nodes on its path', async (t) => {
  const store = await smallChunkStore(t);
  const gen1 = pseudoRandomBytes('meta-dedup', 16 << 20);
  await store.put('gen1', streamOf([gen1]));
  const before = store.stats();
  const gen2 = Buffer.concat([gen1.subarray(0, 9_000_000), Buffer.from('a small edit'), gen1.subarray(9_000_000)]);
  await store.put('gen2', streamOf([gen2]));
  const after = store.stats();
  const newNodes = after.recipeChunks - before.recipeChunks;
  t.ok(newNodes >= 1 && newNodes <= 4, `${newNodes} new recipe nodes for one edit (of ${before.recipeChunks})`);
  t.ok(after.uniqueBytes - before.uniqueBytes < 8 * 1024, 'and only the edited chunks are new');
  t.ok((await collect((await store.get('gen2')).body)).equals(gen2));
});
