import { createHash } from 'node:crypto';
import t from 'tap';
import { ChunkBatcher } from '../../src/chunking/chunk-batcher.js';
import { createCutFinder } from '../../src/chunking/cut-finder.js';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { EdgeCapture, PartEdges, type KeptEdges } from '../../src/store/part-edges.js';
import type { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, randomSplits, streamOf } from '../helpers/data.js';
import { openTestStore, TEST_SEED } from '../helpers/store.js';

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

t.test('a capture keeps a stream\'s first bytes, its last chunk and every chunk\'s fingerprint', async (t) => {
  const cutter = createCutFinder(defaultChunkingParameters(4096, TEST_SEED));
  for (const [length, head] of [[300_000, 20_000], [300_000, 70_000], [5000, 20_000], [1, 10], [0, 10]] as const) {
    const data = pseudoRandomBytes(`capture ${length}`, length);
    // Small batches, so that the head spans several and the last chunk moves from batch to batch.
    const batcher = new ChunkBatcher(cutter, (n) => new Uint8Array(n), 40_000);
    const capture = new EdgeCapture(head);
    const cuts: number[] = [];
    let offset = 0;
    const take = (batches: ReturnType<ChunkBatcher['push']>): void => {
      for (const b of batches) {
        const fps = Buffer.concat(Array.from(b.cuts, (end, i) => sha256(b.data.subarray(i > 0 ? b.cuts[i - 1]! : 0, end))));
        capture.take(b, fps);
        for (const c of b.cuts) cuts.push(offset + c);
        offset += b.data.length;
      }
    };
    for (const piece of randomSplits(data, length, 9000)) take(batcher.push(piece));
    take(batcher.finish());
    const edges = capture.result();
    const label = `${length} bytes, head ${head}`;
    t.ok(edges.head.equals(data.subarray(0, head)), `${label}: the head`);
    const lastStart = cuts.length > 1 ? cuts[cuts.length - 2]! : 0;
    t.ok(edges.lastChunk.equals(data.subarray(lastStart, cuts.at(-1) ?? 0)), `${label}: the last chunk`);
    t.same([...edges.rawLengths], cuts.map((c, i) => c - (i > 0 ? cuts[i - 1]! : 0)), `${label}: every chunk's length`);
    t.ok(edges.fingerprints.equals(Buffer.concat(cuts.map((c, i) => sha256(data.subarray(i > 0 ? cuts[i - 1]! : 0, c))))), `${label}: every fingerprint`);
  }
});

const entry = (uploadId: string, partNumber: number, bytes: number, root = `${uploadId}/${partNumber}`): KeptEdges => ({
  uploadId,
  partNumber,
  root: sha256(Buffer.from(root)),
  size: 1000,
  head: Buffer.alloc(bytes),
  lastChunk: Buffer.alloc(0),
  fingerprints: Buffer.alloc(0),
  rawLengths: new Uint32Array(0),
});

t.test('the cache holds its budget, oldest out first, and answers only for the recipe it was cut from', async (t) => {
  const edges = new PartEdges(10_000);
  for (let n = 1; n <= 5; n++) edges.keep(entry('a', n, 2000));
  t.equal(edges.stats().parts, 4, 'five parts of 2256 bytes: four fit');
  t.ok(edges.stats().bytes <= 10_000);
  const root = (n: number): Buffer => sha256(Buffer.from(`a/${n}`));
  t.equal(edges.get('a', 1, root(1), 1000), undefined, 'the oldest went first');
  t.ok(edges.get('a', 5, root(5), 1000));
  t.equal(edges.get('a', 5, root(4), 1000), undefined, 'a part uploaded again has another recipe: not these edges');
  t.equal(edges.get('a', 5, root(5), 999), undefined);
  t.equal(edges.get('a', 5, null, 1000), undefined, 'an empty part has nothing kept');
  edges.keep(entry('a', 5, 100, 'again'));
  t.ok(edges.get('a', 5, sha256(Buffer.from('again')), 1000), 'keeping a part again replaces it');
  edges.keep(entry('b', 1, 20_000));
  t.equal(edges.get('b', 1, root(1), 1000), undefined, 'a part larger than the budget is not kept');
  t.equal(edges.stats().parts, 4, 'and evicts nothing');
  edges.keep(entry('b', 2, 10));
  edges.forget('a');
  t.same({ parts: edges.stats().parts, bytes: edges.stats().bytes }, { parts: 1, bytes: 266 }, 'forgetting an upload leaves the others');
  const small = new PartEdges(256 * 100);
  for (let n = 1; n <= 10_000; n++) small.keep(entry('tiny', n, 1));
  t.ok(small.stats().parts < 100, 'a flood of tiny parts is bounded by their count too');
  t.same(Object.values(new PartEdges(0).stats()), [0, 0, 0, 0]);
});

/** Uploads data in parts of partSize, in order, two at a time; the upload id. */
async function uploadParts(store: ChunkStore, key: string, data: Buffer, partSize: number): Promise<string> {
  const up = store.createUpload(key);
  const count = Math.ceil(data.length / partSize);
  for (let n = 1; n <= count; n += 2) {
    await Promise.all(
      [n, n + 1].filter((k) => k <= count).map((k) => store.putPart(up.uploadId, k, streamOf([data.subarray((k - 1) * partSize, k * partSize)]))),
    );
  }
  return up.uploadId;
}

const partList = (count: number): { partNumber: number }[] => Array.from({ length: count }, (_, i) => ({ partNumber: i + 1 }));

t.test('a completion stitches from kept edges where it has them and reads back the rest', async (t) => {
  const edges = new PartEdges(3 * 40_000);
  const { store } = await openTestStore(t, { partEdges: edges });
  const data = pseudoRandomBytes('partly kept', 1_000_000);
  await store.put('one', streamOf([data]));
  const before = store.stats().uniqueBytes;
  const uploadId = await uploadParts(store, 'parted', data, 100_000);
  t.ok(edges.stats().parts > 0 && edges.stats().parts < 10, `the budget held ${edges.stats().parts} of 10 parts`);
  const added = store.stats().uniqueBytes - before;
  await store.completeUpload(uploadId, partList(10));
  const { hits, misses } = edges.stats();
  t.ok(hits > 0 && misses > 0, `${hits} parts from memory, ${misses} read back`);
  t.equal(store.stats().uniqueBytes - before, added, 'every re-cut seam is a chunk one stream stored');
  t.ok((await collect((await store.get('parted')).body)).equals(data));
  t.equal(edges.stats().parts, 0, 'a completed upload\'s parts are forgotten');
});

t.test('a part uploaded again is stitched from its new bytes; an abort forgets its parts', async (t) => {
  const edges = new PartEdges();
  const { store } = await openTestStore(t, { partEdges: edges });
  const data = pseudoRandomBytes('again', 600_000);
  const uploadId = await uploadParts(store, 'k', Buffer.concat([data.subarray(0, 200_000), pseudoRandomBytes('stale', 400_000)]), 200_000);
  await Promise.all([2, 3].map((n) => store.putPart(uploadId, n, streamOf([data.subarray((n - 1) * 200_000, n * 200_000)]))));
  await store.completeUpload(uploadId, partList(3));
  t.ok((await collect((await store.get('k')).body)).equals(data));
  t.same([edges.stats().hits, edges.stats().misses], [3, 0]);

  const aborted = await uploadParts(store, 'gone', data, 200_000);
  t.equal(edges.stats().parts, 3);
  store.abortUpload(aborted);
  t.equal(edges.stats().parts, 0);
  t.equal(edges.stats().bytes, 0);
});
