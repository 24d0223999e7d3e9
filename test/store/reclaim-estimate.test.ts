import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ChunkStore } from '../../src/store/store.js';
import { pseudoRandomBytes, streamOf, textBytes } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

/** Every indexed record's bytes, header included, straight from the index: what "everything dead" must add up to. */
function indexedBytes(store: ChunkStore): { chunks: number; bytes: number } {
  const row = store['ctx'].index.db.prepare('SELECT count(*) AS chunks, coalesce(sum(stored_len + 64), 0) AS bytes FROM chunks').get() as { chunks: number; bytes: number };
  return row;
}

t.test('the estimate marks what objects and parts reach and counts the rest, changing nothing', async (t) => {
  const { store, dir } = await openTestStore(t);
  const empty = await store.estimateReclaimable();
  t.match(empty, { liveChunks: 0, deadChunks: 0, deadBytes: 0, reclaimableBytes: 0 });

  const a = pseudoRandomBytes('a', 1_500_000);
  const b = Buffer.concat([textBytes('b', 800_000), pseudoRandomBytes('b', 700_000)]);
  await store.put('a', streamOf([a]));
  await store.put('b', streamOf([b]));
  await store.put('a-and-more', streamOf([a, pseudoRandomBytes('more', 300_000)]));
  await store.copy('a', 'a-copy');
  const all = indexedBytes(store);
  let walked = { roots: 0, nodes: 0, chunks: 0 };
  const live = await store.estimateReclaimable({ onProgress: (p) => (walked = p) });
  t.match(live, { liveChunks: all.chunks, deadChunks: 0, deadBytes: 0, reclaimableBytes: 0 }, 'everything is reachable');
  t.equal(walked.roots, 4);
  t.ok(!existsSync(join(dir, 'gc-mark.db')), 'the mark file is removed');

  // A copy shares its recipe: marking it again walks nothing new.
  await store.copy('a', 'a-copy-2');
  let again = { roots: 0, nodes: 0, chunks: 0 };
  await store.estimateReclaimable({ onProgress: (p) => (again = p) });
  t.equal(again.roots, 5);
  t.equal(again.nodes, walked.nodes, 'no recipe node is walked twice');

  // Deleting b leaves its chunks dead; a's survive through a-and-more and the copies.
  await store.delete('b');
  const afterB = await store.estimateReclaimable();
  t.ok(afterB.deadChunks > 0 && afterB.deadBytes > 0, `${afterB.deadChunks} chunks, ${afterB.deadBytes} bytes dead after deleting b`);
  t.equal(afterB.liveChunks + afterB.deadChunks, all.chunks, 'every indexed chunk is live or dead');
  await store.delete('a');
  await store.delete('a-copy');
  const stillLive = await store.estimateReclaimable();
  t.equal(stillLive.deadChunks, afterB.deadChunks, "a's data and recipe stay live while copies of it exist");

  // A multipart part in progress keeps its chunks live.
  const upload = store.createUpload('mp');
  await store.putPart(upload.uploadId, 1, streamOf([pseudoRandomBytes('part', 600_000)]));
  const withPart = await store.estimateReclaimable();
  t.equal(withPart.deadChunks, afterB.deadChunks, 'the part is live');
  t.ok(withPart.liveChunks > afterB.liveChunks);

  for (const key of ['a-and-more', 'a-copy-2']) await store.delete(key);
  await store.abortUpload(upload.uploadId);
  const none = await store.estimateReclaimable();
  const total = indexedBytes(store);
  t.match(none, { liveChunks: 0, deadChunks: total.chunks, deadBytes: total.bytes }, 'with nothing left, every indexed byte is dead');
  t.equal(store.stats().objects, 0);
  t.ok(total.chunks > 0, 'and nothing was removed: an estimate changes nothing');
});

t.test('only sealed containers count as reclaimable: empty ones whole, sparse ones for their dead bytes', async (t) => {
  const first = await openTestStore(t);
  const dir = first.dir;
  await first.store.put('keep', streamOf([pseudoRandomBytes('keep', 2_000_000)]));
  await first.store.put('drop', streamOf([pseudoRandomBytes('drop', 2_000_000)]));
  await first.store.delete('drop');
  const open = await first.store.estimateReclaimable();
  t.ok(open.deadBytes > 0);
  await first.store.close();

  // Reopened, every container is sealed.
  const store = await ChunkStore.open(dir);
  t.teardown(() => store.close());
  const sealed = await store.estimateReclaimable({ compactBelow: 0.5 });
  t.equal(sealed.deadBytes, open.deadBytes, 'the same dead bytes');
  t.ok(sealed.emptyContainers > 0, `${sealed.emptyContainers} containers hold only the deleted object`);
  t.ok(sealed.reclaimableBytes > 0 && sealed.reclaimableBytes <= sealed.deadBytes);
  const strict = await store.estimateReclaimable({ compactBelow: 0 });
  t.equal(strict.sparseContainers, 0, 'with no compaction, only empty containers count');
  t.ok(strict.reclaimableBytes <= sealed.reclaimableBytes);
});
