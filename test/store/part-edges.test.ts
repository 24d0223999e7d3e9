import { createHash } from 'node:crypto';
import t from 'tap';
import { ChunkBatcher } from '../../src/chunking/chunk-batcher.js';
import { createCutFinder } from '../../src/chunking/cut-finder.js';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { BufferPool, DEFAULT_EDGE_BUDGET, EdgeCapture, PartEdges, type KeptEdges } from '../../src/store/part-edges.js';
import { firstLook, seamReach } from '../../src/store/part-seams.js';
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
    // What the cache counts is what it holds: a short stream's head is not a view of the whole capture buffer.
    t.ok(edges.head.buffer.byteLength <= Math.max(edges.head.length, 8192), `${label}: the head holds no more memory than its bytes`);
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
  // One chunk of the part's 1000 bytes: a list of 36 bytes, 292 with the entry's overhead.
  fingerprints: Buffer.alloc(32),
  rawLengths: Uint32Array.of(1000),
});

t.test('the cache holds its budget: the oldest give up their bytes, then their lists; it answers only for the recipe it was cut from', async (t) => {
  const edges = new PartEdges(10_000);
  for (let n = 1; n <= 5; n++) edges.keep(entry('a', n, 2000));
  t.same([edges.stats().parts, edges.stats().listsOnly], [5, 1], 'five parts of 2292 bytes: four fit whole, the oldest keeps its list');
  t.ok(edges.stats().bytes <= 10_000);
  const root = (n: number): Buffer => sha256(Buffer.from(`a/${n}`));
  const oldest = edges.get('a', 1, root(1), 1000);
  t.ok(oldest && oldest.bytes === null && oldest.chunks.rawLengths[0] === 1000, 'the oldest gave up its bytes first');
  t.ok(edges.get('a', 5, root(5), 1000)?.bytes?.head.length === 2000);
  t.equal(edges.get('a', 5, root(4), 1000), undefined, 'a part uploaded again has another recipe: not these edges');
  t.equal(edges.get('a', 5, root(5), 999), undefined);
  t.equal(edges.get('a', 5, null, 1000), undefined, 'an empty part has nothing kept');
  edges.keep(entry('a', 5, 100, 'again'));
  t.ok(edges.get('a', 5, sha256(Buffer.from('again')), 1000), 'keeping a part again replaces it');
  edges.keep(entry('b', 1, 20_000));
  t.equal(edges.get('b', 1, root(1), 1000), undefined);
  t.equal(edges.get('b', 1, sha256(Buffer.from('b/1')), 1000)?.bytes, null, 'a part whose bytes exceed the budget keeps its list');
  t.same([edges.stats().parts, edges.stats().listsOnly], [6, 2]);
  edges.keep({ ...entry('b', 3, 10), rawLengths: Uint32Array.of(999) });
  t.equal(edges.get('b', 3, sha256(Buffer.from('b/3')), 1000), undefined, 'a list that does not add up to its part is not kept');
  edges.keep({ ...entry('b', 3, 10), fingerprints: Buffer.alloc(31) });
  t.equal(edges.get('b', 3, sha256(Buffer.from('b/3')), 1000), undefined, 'nor one whose fingerprints do not match its lengths');
  const held = edges.stats().bytes;
  edges.keep(entry('b', 1, 10, 'b/1 again'));
  t.same([edges.stats().bytes, edges.stats().listsOnly], [held - 292 + 302, 1], 'a part kept as a list, kept again whole: counted once, as it is now');
  edges.keep(entry('b', 2, 10));
  edges.forget('a');
  t.same({ parts: edges.stats().parts, bytes: edges.stats().bytes }, { parts: 2, bytes: 302 + 302 }, 'forgetting an upload leaves the others');

  const lists = new PartEdges(1000);
  for (let n = 1; n <= 5; n++) lists.keep(entry('x', n, 2000));
  t.same([lists.stats().parts, lists.stats().listsOnly], [3, 3], 'past the bytes, lists: the oldest lists go');
  t.equal(lists.get('x', 2, sha256(Buffer.from('x/2')), 1000), undefined);
  t.ok(lists.get('x', 5, sha256(Buffer.from('x/5')), 1000));
  const small = new PartEdges(256 * 100);
  for (let n = 1; n <= 10_000; n++) small.keep(entry('tiny', n, 1));
  t.ok(small.stats().parts < 100, 'a flood of tiny parts is bounded by their count too');
  const listed = new PartEdges(10_000, false);
  listed.keep(entry('l', 1, 2000));
  t.same([listed.stats().parts, listed.stats().listsOnly, listed.stats().bytes], [1, 1, 292], 'a cache of lists only keeps no bytes');
  t.same(Object.values(new PartEdges(0).stats()), [0, 0, 0, 0, 0, 0]);
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

t.test('a head let go is reused for the next part, never while a completion of its upload may be reading it', async (t) => {
  const edges = new PartEdges(1_000_000);
  const filled = (upload: string, n: number, byte: number): KeptEdges => {
    const e = entry(upload, n, 0);
    const head = edges.buffers.take(4096);
    head.fill(byte);
    return { ...e, head };
  };

  edges.keep(filled('a', 1, 0xa1));
  const first = edges.peek('a', 1)!.bytes!.head;
  edges.forget('a');
  t.equal(edges.buffers.take(4096), first, 'a forgotten part\'s head goes to the next capture');

  edges.keep(filled('b', 1, 0xb1));
  edges.keep(filled('b', 2, 0xb2));
  const held = [edges.get('b', 1, sha256(Buffer.from('b/1')), 1000)!.bytes!.head, edges.get('b', 2, sha256(Buffer.from('b/2')), 1000)!.bytes!.head];
  await edges.reading('b', async () => {
    // Everything that lets a head go, while the completion holds them: a trim, a part uploaded again, the forget.
    edges.trimHead('b', 1, sha256(Buffer.from('b/1')), 100);
    edges.keep(filled('b', 2, 0xb3));
    edges.forget('b');
    for (let i = 0; i < 4; i++) edges.buffers.take(4096).fill(0xee);
    await new Promise((r) => setImmediate(r));
    t.ok(held[0]!.every((x) => x === 0xb1) && held[1]!.every((x) => x === 0xb2), 'the heads the completion holds keep their bytes');
  });
  t.notOk([...Array(8)].some(() => held.includes(edges.buffers.take(4096))), 'and are never handed out again');

  const pool = new BufferPool(10_000);
  const whole = Buffer.allocUnsafeSlow(4000);
  pool.give(whole.subarray(0, 100));
  pool.give(whole);
  pool.give(Buffer.allocUnsafeSlow(4000));
  pool.give(Buffer.allocUnsafeSlow(4000));
  t.equal(pool.bytes, 8000, 'the pool keeps whole buffers only, up to its capacity');
});

t.test('a completion stitches from kept bytes where it has them, and from kept chunk lists where only those are left', async (t) => {
  const edges = new PartEdges(3 * 40_000);
  const { store } = await openTestStore(t, { partEdges: edges });
  const data = pseudoRandomBytes('partly kept', 1_000_000);
  await store.put('one', streamOf([data]));
  const before = store.stats().uniqueBytes;
  const uploadId = await uploadParts(store, 'parted', data, 100_000);
  const { parts, listsOnly } = edges.stats();
  t.ok(parts === 10 && listsOnly > 0 && listsOnly < 10, `the budget held ${parts - listsOnly} of 10 parts whole, the rest as lists`);
  const added = store.stats().uniqueBytes - before;
  await store.completeUpload(uploadId, partList(10));
  t.same([edges.stats().hits, edges.stats().misses], [10, 0], 'every part came from memory');
  t.equal(store.stats().uniqueBytes - before, added, 'every re-cut seam is a chunk one stream stored');
  t.ok((await collect((await store.get('parted')).body)).equals(data));
  t.equal(edges.stats().parts, 0, 'a completed upload\'s parts are forgotten');
});

t.test('a part keeps as much head as its seam needs: a completion reads nothing back, and most heads are cut to the first look', async (t) => {
  const edges = new PartEdges();
  const { store } = await openTestStore(t, { partEdges: edges });
  const { maxSize } = store.parameters.chunking;
  const look = firstLook(maxSize);
  const reach = seamReach(maxSize);
  const data = pseudoRandomBytes('long heads', 24 * 1024 * 1024);
  await store.put('one', streamOf([data]));
  const before = store.stats().uniqueBytes;
  const partSize = 1024 * 1024;
  const uploadId = await uploadParts(store, 'parted', data, partSize);
  const added = store.stats().uniqueBytes - before;
  const heads = Array.from({ length: 24 }, (_, i) => edges.peek(uploadId, i + 1)!.bytes!.head.length);
  const long = heads.filter((h) => h > look).length;
  t.equal(heads[0], look, 'nothing is carried into the first part: its head is cut back at once');
  t.ok(heads.every((h) => h === look || h === reach), 'a head is either the first look or the whole reach');
  t.ok(long > 0 && long < 12, `${long} of 24 seams reach past the first look (${look} bytes) and keep their reach (${reach})`);
  await store.completeUpload(uploadId, partList(24));
  t.equal(edges.stats().readBackBytes, 0, 'the completion read nothing back from the containers');
  t.equal(store.stats().uniqueBytes - before, added, 'and cut every seam where the one stream did');
  t.ok((await collect((await store.get('parted')).body)).equals(data));

  // Without the longer heads (a cache of lists only), the same seams are read back: the counter sees reads.
  const lists = new PartEdges(DEFAULT_EDGE_BUDGET, false);
  const { store: other } = await openTestStore(t, { partEdges: lists });
  await other.put('one', streamOf([data]));
  await other.completeUpload(await uploadParts(other, 'parted', data, partSize), partList(24));
  t.ok(lists.stats().readBackBytes >= 23 * look, `with lists only, ${lists.stats().readBackBytes} bytes were read back`);
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
