import t from 'tap';
import { findCutsReference } from '../../src/chunking/gear-chunker.js';
import { gearTable } from '../../src/chunking/gear-table.js';
import { native } from '../../src/chunking/native.js';
import type { GearSettings } from '../../src/chunking/parameters.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';

/*
 * The vector cut search (native/src/gear_cdc_avx512.c) against the scalar one
 * and the TypeScript reference, under settings no unit would choose: masks
 * with few bits, none, or bits the other mask lacks (the vector search
 * filters on the bits both share), lengths on either side of every limit and
 * of a 64-byte register, and too little room for the cuts.
 */

const gear = gearTable('00112233445566778899aabbccddeeff');

/** A small deterministic generator, so a failure names a case that can be run again. */
function generator(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function packed(g: GearSettings): Uint32Array {
  return Uint32Array.of(g.minSize, g.normalSize, g.maxSize, g.maskSmall, g.maskLarge);
}

function run(how: 'vector' | 'scalar' | 'reference', data: Uint8Array, final: boolean, g: GearSettings, room: number): number[] {
  const out = new Uint32Array(room);
  const n = how === 'reference' ? findCutsReference(data, final, gear, g, out) : native.findCuts(data, final, gear, packed(g), out, how === 'vector');
  return [...out.subarray(0, n)];
}

const random = pseudoRandomBytes('gear-vector', 1 << 20);
const text = textBytes('gear-vector', 1 << 20);
const patterned = Buffer.alloc(1 << 20);
for (let i = 0; i < patterned.length; i++) patterned[i] = (i * 7) % 13 === 0 ? 0xff : i % 3;
const inputs: [string, Buffer][] = [
  ['random', random],
  ['text', text],
  ['zeros', Buffer.alloc(1 << 20)],
  ['patterned', patterned],
];

t.comment(`this CPU ${native.findCutsVectorized() ? 'runs the vector search' : 'has no AVX-512 VBMI: both calls run the scalar search'}`);

t.test('the vector search cuts where the scalar one and the reference do', async (t) => {
  const next = generator(20261124);
  let cases = 0;
  let mismatches = 0;
  for (let trial = 0; trial < 1500; trial++) {
    const minSize = 64 + (next() % 3000);
    const normalSize = minSize + (next() % 6000);
    const maxSize = normalSize + 1 + (next() % 12000);
    const kind = trial % 5;
    // Top bits as units use them; sparse random bits; no bits; disjoint masks; the small mask with fewer bits than the large.
    const top = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
    const masks: [number, number][] = [
      [top(11 + (next() % 4)), top(7 + (next() % 4))],
      [(next() & next() & next()) >>> 0, (next() & next() & next() & next()) >>> 0],
      [0, 0],
      [top(12) & 0xf0f0f0f0, top(12) & 0x0f0f0f0f],
      [top(6), top(12)],
    ];
    const [maskSmall, maskLarge] = masks[kind]!;
    const g: GearSettings = { minSize, normalSize, maxSize, maskSmall, maskLarge };
    const [name, source] = inputs[trial % inputs.length]!;
    // Lengths around the limits and around the vector search's threshold (min + 256), and long ones.
    const around = [minSize, minSize + 1, minSize + 255, minSize + 257, normalSize, maxSize, maxSize + 63, 2 * maxSize + 65];
    const length = trial % 3 === 0 ? around[next() % around.length]! + (next() % 3) - 1 : next() % (200 * 1024);
    const offset = next() % (source.length - length);
    const data = source.subarray(offset, offset + Math.max(0, length));
    const final = (next() & 1) === 1;
    const room = trial % 7 === 0 ? 1 + (next() % 3) : Math.floor(data.length / minSize) + 1;
    const want = run('reference', data, final, g, room);
    const scalar = run('scalar', data, final, g, room);
    const vector = run('vector', data, final, g, room);
    cases++;
    if (JSON.stringify(vector) !== JSON.stringify(want) || JSON.stringify(scalar) !== JSON.stringify(want)) {
      mismatches++;
      if (mismatches <= 5) {
        t.fail(`trial ${trial}: ${name}, ${data.length} bytes at ${offset}, final=${final}, room ${room}, ${JSON.stringify(g)}`, {
          want: want.slice(0, 8),
          scalar: scalar.slice(0, 8),
          vector: vector.slice(0, 8),
        });
      }
    }
  }
  t.equal(mismatches, 0, `${cases} cases, every one cut alike`);
});

t.test('cuts land in every lane of the sixty-four a turn searches', async (t) => {
  // A mask of five bits makes about one position in thirty-two a cut, so over
  // thousands of chunks their ends fall at every distance from where the
  // search starts (min bytes in) across the first sixty-four.
  const g: GearSettings = { minSize: 64, normalSize: 128, maxSize: 4096, maskSmall: 0xf8000000, maskLarge: 0xc0000000 };
  const data = random.subarray(3, 3 + (256 << 10));
  const want = run('reference', data, true, g, data.length);
  t.same(run('vector', data, true, g, data.length), want);
  const lanes = new Set<number>();
  let start = 0;
  for (const end of want) {
    const distance = end - start - 1 - g.minSize;
    if (distance >= 0 && distance < 64) lanes.add(distance);
    start = end;
  }
  t.equal(lanes.size, 64, 'each of the first sixty-four positions searched held a cut');
});

t.test('findCuts refuses a vector flag that is not a boolean', async (t) => {
  const g: GearSettings = { minSize: 64, normalSize: 128, maxSize: 256, maskSmall: 0, maskLarge: 0 };
  t.throws(() => (native.findCuts as (...a: unknown[]) => number)(random, true, gear, packed(g), new Uint32Array(8), 1), /vector must be a boolean/);
});
