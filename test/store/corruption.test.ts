import { openSync, readSync, writeSync, closeSync } from 'node:fs';
import t from 'tap';
import { chunkStream } from '../../src/chunking/chunker.js';
import { createCutFinder } from '../../src/chunking/cut-finder.js';
import { fingerprint } from '../../src/chunking/fingerprint.js';
import { ChunkKind, RECORD_HEADER_BYTES } from '../../src/store/container-format.js';
import { CorruptChunkError } from '../../src/store/errors.js';
import { ChunkStore } from '../../src/store/store.js';
import { sealedContainers } from '../helpers/containers.js';
import { collect, pseudoRandomBytes, streamOf, textBytes } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { testDir } from '../helpers/test-dir.js';

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  b[0]! ^= 0x5a;
  writeSync(fd, b, 0, 1, offset);
  closeSync(fd);
}

async function fingerprintsOf(store: ChunkStore, data: Buffer): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const c of chunkStream(streamOf([data]), createCutFinder(store.parameters.chunking))) out.add(fingerprint(c).toString('hex'));
  return out;
}

t.test('a flipped byte fails reads of exactly the objects that use it, and verify names them', async (t) => {
  const dir = testDir(t);
  const { store } = await openTestStore(t, {}, dir);
  const a = pseudoRandomBytes('corrupt-a', 1_000_000);
  const b = textBytes('corrupt-b', 1_000_000);
  const c = Buffer.concat([a.subarray(0, 500_000), pseudoRandomBytes('corrupt-c', 300_000)]);
  const d = pseudoRandomBytes('corrupt-d', 400_000);
  const objects: Record<string, Buffer> = { a, b, c, d };
  for (const [key, data] of Object.entries(objects)) await store.put(key, streamOf([data]));
  const chunkSets = Object.fromEntries(
    await Promise.all(Object.entries(objects).map(async ([k, v]) => [k, await fingerprintsOf(store, v)] as const)),
  );
  await store.close();

  // Damage one chunk that only a and c hold (early in a, inside the shared half), one in a payload of b,
  // and one record header of d.
  const containers = sealedContainers(dir);
  const locate = (pick: (fp: string) => boolean) => {
    for (const ctr of containers) {
      for (const e of ctr.entries) if (e.kind === ChunkKind.Data && pick(e.fingerprint.toString('hex'))) return { ctr, e };
    }
    throw new Error('no such chunk');
  };
  const inAandC = locate((fp) => chunkSets.a!.has(fp) && chunkSets.c!.has(fp) && !chunkSets.b!.has(fp));
  const inB = locate((fp) => chunkSets.b!.has(fp) && !chunkSets.a!.has(fp));
  const inD = locate((fp) => chunkSets.d!.has(fp) && !chunkSets.c!.has(fp));
  flipByte(inAandC.ctr.path, inAandC.e.offset + RECORD_HEADER_BYTES + 10);
  flipByte(inB.ctr.path, inB.e.offset + RECORD_HEADER_BYTES + Math.floor(inB.e.storedLength / 2));
  flipByte(inD.ctr.path, inD.e.offset + 20);

  const reopened = await ChunkStore.open(dir);
  t.teardown(() => reopened.close());
  for (const key of ['a', 'b', 'c', 'd']) {
    await t.rejects(collect((await reopened.get(key)).body), CorruptChunkError, `${key} fails with a checksum error`);
  }
  // A range that avoids the damage still reads.
  t.ok((await collect((await reopened.get('a', { start: 900_000 })).body)).equals(a.subarray(900_000)), 'undamaged range of a reads');

  const report = await reopened.verify();
  t.equal(report.ok, false);
  t.same(report.damagedObjects.sort(), ['a', 'b', 'c', 'd']);
  t.same(
    report.damagedRecords.map((r) => r.offset).sort((x, y) => x - y),
    [inAandC.e.offset, inB.e.offset, inD.e.offset].sort((x, y) => x - y),
    'verify points at the three damaged records',
  );
  t.same(report.badChunks.sort(), [inAandC.e, inB.e, inD.e].map((e) => e.fingerprint.toString('hex')).sort());
});

t.test('verify names only the objects that lean on the damage', async (t) => {
  const dir = testDir(t);
  const { store } = await openTestStore(t, {}, dir);
  const x = pseudoRandomBytes('only-x', 800_000);
  const y = pseudoRandomBytes('only-y', 800_000);
  await store.put('x', streamOf([x]));
  await store.close();
  const recipeRecords = sealedContainers(dir).flatMap((ctr) => ctr.entries.filter((e) => e.kind === ChunkKind.Recipe).map((e) => ({ ctr, e })));
  const second = await ChunkStore.open(dir);
  await second.put('y', streamOf([y]));
  await second.put('x-copy', streamOf([]));
  await second.copy('x', 'x-copy');
  await second.close();

  const { ctr, e } = recipeRecords[0]!;
  flipByte(ctr.path, e.offset + RECORD_HEADER_BYTES + 3);
  const third = await ChunkStore.open(dir);
  t.teardown(() => third.close());
  await t.rejects(collect((await third.get('x')).body), CorruptChunkError, 'a damaged recipe node fails the read');
  t.ok((await collect((await third.get('y')).body)).equals(y), 'y is untouched');
  const report = await third.verify();
  t.same(report.damagedObjects.sort(), ['x', 'x-copy'], 'x and its copy (which shares the recipe), nothing else');
});

t.test('a clean unit verifies clean', async (t) => {
  const { store } = await openTestStore(t);
  await store.put('p', streamOf([pseudoRandomBytes('clean', 2_000_000)]));
  await store.put('q', streamOf([textBytes('clean', 1_000_000)]));
  const report = await store.verify();
  t.equal(report.ok, true);
  t.equal(report.damagedObjects.length, 0);
  t.ok(report.recordsChecked > 400, `${report.recordsChecked} records checked`);
  t.equal(report.objectsChecked, 2);
});
