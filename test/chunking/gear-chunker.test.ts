import t from 'tap';
import { chunkStream } from '../../src/chunking/chunker.js';
import { createCutFinder, cutCapacity, type CutFinder } from '../../src/chunking/cut-finder.js';
import { gearTable } from '../../src/chunking/gear-table.js';
import { defaultChunkingParameters, validateChunkingParameters, type ChunkingParameters } from '../../src/chunking/parameters.js';
import { collect, pseudoRandomBytes, randomSplits, sha256, streamOf, textBytes } from '../helpers/data.js';

const SEED = '000102030405060708090a0b0c0d0e0f';

function cuts(finder: CutFinder, data: Uint8Array, final: boolean): number[] {
  const out = new Uint32Array(cutCapacity(data.length, finder.parameters.minSize));
  return [...out.subarray(0, finder.findCuts(data, final, out))];
}

async function chunkList(data: Uint8Array, p: ChunkingParameters, pieces: Uint8Array[] = [data], batchSize?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunkStream(streamOf(pieces), createCutFinder(p), batchSize)) out.push(Buffer.from(c));
  return out;
}

t.test('native and reference implementations cut at the same places', async (t) => {
  const inputs: [string, Buffer][] = [
    ['random', pseudoRandomBytes('cdc-random', 8 << 20)],
    ['text', textBytes('cdc-text', 4 << 20)],
    ['zeros', Buffer.alloc(3 << 20)],
    ['tiny', pseudoRandomBytes('tiny', 100)],
  ];
  for (const avg of [1024, 4096, 16384, 65536]) {
    const p = defaultChunkingParameters(avg, SEED);
    const native = createCutFinder(p, 'native');
    const reference = createCutFinder(p, 'reference');
    for (const [name, data] of inputs) {
      for (const final of [true, false]) {
        t.same(cuts(native, data, final), cuts(reference, data, final), `avg ${avg}, ${name}, final=${final}`);
      }
    }
  }
});

t.test('a different gear seed moves the boundaries', async (t) => {
  const data = pseudoRandomBytes('seeds', 1 << 20);
  const a = cuts(createCutFinder(defaultChunkingParameters(4096, SEED)), data, true);
  const b = cuts(createCutFinder(defaultChunkingParameters(4096, 'ffeeddccbbaa99887766554433221100')), data, true);
  t.not(JSON.stringify(a), JSON.stringify(b));
  t.equal(gearTable(SEED).length, 256);
  t.same(gearTable(SEED), gearTable(SEED), 'the table is a pure function of the seed');
});

t.test('chunk sizes stay within [min, max] except the last', async (t) => {
  for (const avg of [4096, 16384]) {
    const p = defaultChunkingParameters(avg, SEED);
    for (const data of [pseudoRandomBytes('sizes', 16 << 20), Buffer.alloc(2 << 20, 0x41), textBytes('sizes', 4 << 20)]) {
      const chunks = await chunkList(data, p);
      t.equal(Buffer.concat(chunks).length, data.length, 'chunks cover the data');
      const bad = chunks.slice(0, -1).filter((c) => c.length < p.minSize || c.length > p.maxSize);
      t.equal(bad.length, 0, `avg ${avg}: every chunk but the last within bounds`);
      t.ok(chunks[chunks.length - 1]!.length <= p.maxSize, 'last chunk at most max');
    }
    const random = await chunkList(pseudoRandomBytes('mean', 32 << 20), p);
    const mean = (32 << 20) / random.length;
    t.ok(mean > avg * 0.75 && mean < avg * 1.5, `avg ${avg}: mean chunk ${mean.toFixed(0)} is near the target`);
  }
});

t.test('boundaries do not depend on how the stream is split', async (t) => {
  const p = defaultChunkingParameters(8192, SEED);
  const data = Buffer.concat([pseudoRandomBytes('split', 6 << 20), textBytes('split', 2 << 20), Buffer.alloc(300_000)]);
  const whole = (await chunkList(data, p)).map(sha256);
  for (const [seed, maxPiece] of [
    [1, 1],
    [2, 100],
    [3, 70_000],
    [4, 1 << 20],
    [5, 9 << 20],
  ] as const) {
    // One-byte pieces over 8 MiB would take minutes; a prefix proves the point.
    const input = maxPiece === 1 ? data.subarray(0, 200_000) : data;
    const expected = maxPiece === 1 ? (await chunkList(input, p)).map(sha256) : whole;
    const pieces = randomSplits(input, seed, maxPiece);
    t.same((await chunkList(input, p, pieces)).map(sha256), expected, `pieces of up to ${maxPiece} bytes`);
  }
  t.same((await chunkList(data, p, [data], 2 * p.maxSize)).map(sha256), whole, 'smallest batch size');
  t.same(await collect(chunkStream(streamOf([data]), createCutFinder(p))), data, 'chunks concatenate to the input');
});

t.test('an edit near the start of 64 MiB changes only the chunks around it', async (t) => {
  const p = defaultChunkingParameters(16384, SEED);
  const original = pseudoRandomBytes('shift', 64 << 20);
  const at = 1_000_003;
  const edits: [string, Buffer][] = [
    ['insert 7 bytes', Buffer.concat([original.subarray(0, at), Buffer.from('INSERT!'), original.subarray(at)])],
    ['delete 5 bytes', Buffer.concat([original.subarray(0, at), original.subarray(at + 5)])],
    ['insert 1 byte', Buffer.concat([original.subarray(0, at), Buffer.from([0]), original.subarray(at)])],
  ];
  const before = (await chunkList(original, p)).map(sha256);
  for (const [name, edited] of edits) {
    const after = (await chunkList(edited, p)).map(sha256);
    let prefix = 0;
    while (prefix < before.length && before[prefix] === after[prefix]) prefix++;
    let suffix = 0;
    while (suffix < before.length - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
    const changedBefore = before.length - prefix - suffix;
    const changedAfter = after.length - prefix - suffix;
    t.ok(changedBefore <= 2 && changedAfter <= 2, `${name}: ${changedBefore} chunks replaced by ${changedAfter} of ${before.length}`);
    const beforeSet = new Set(before);
    const shared = after.filter((h) => beforeSet.has(h)).length;
    t.ok(shared >= before.length - 2, `${name}: ${shared} of ${after.length} chunks are shared`);
  }
});

t.test('parameters are validated', async (t) => {
  const ok = defaultChunkingParameters(16384, SEED);
  t.throws(() => validateChunkingParameters({ ...ok, avgSize: 10000 }), /power of two/);
  t.throws(() => validateChunkingParameters({ ...ok, minSize: 32 }), /minSize/);
  t.throws(() => validateChunkingParameters({ ...ok, maxSize: ok.avgSize - 1 }), /maxSize/);
  t.throws(() => validateChunkingParameters({ ...ok, gearSeed: 'xyz' }), /gearSeed/);
  t.throws(() => validateChunkingParameters({ ...ok, algorithm: 'rabin' as 'gear-v1' }), /algorithm/);
  t.equal(ok.minSize, 4096);
  t.equal(ok.maxSize, 65536);
});
