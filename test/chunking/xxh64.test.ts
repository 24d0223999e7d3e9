import t from 'tap';
import xxhash from 'xxhash-wasm';
import { native } from '../../src/chunking/native.js';
import { pseudoRandomBytes } from '../helpers/data.js';

t.test('the native XXH64 matches the published test vector and an independent implementation', async (t) => {
  t.equal(native.xxh64(Buffer.alloc(0)), 0xef46db3751d8e999n, 'XXH64 of the empty input, seed 0');
  const { h64Raw } = await xxhash();
  const data = pseudoRandomBytes('xxh', 1 << 20);
  for (const len of [1, 3, 4, 7, 8, 15, 31, 32, 33, 63, 64, 100, 1000, 4096, 65537, 1 << 20]) {
    t.equal(native.xxh64(data.subarray(0, len)), h64Raw(data.subarray(0, len), 0n), `length ${len}`);
  }
  t.equal(native.xxh64(data.subarray(5, 1000), 42n), h64Raw(data.subarray(5, 1000), 42n), 'unaligned, seeded');
});

t.test('the native binding refuses arguments that are not what it needs', async (t) => {
  t.throws(() => native.xxh64('nope' as unknown as Uint8Array));
  t.throws(() => native.findCuts(Buffer.alloc(10), true, new Uint32Array(10), new Uint32Array(5), new Uint32Array(4)));
  t.throws(() => native.findCuts(Buffer.alloc(10), true, new Uint32Array(256), Uint32Array.of(10, 5, 20, 0, 0), new Uint32Array(4)));
});

t.test('the native copy writes exactly where told and refuses to overrun', async (t) => {
  const dst = new Uint8Array(new SharedArrayBuffer(16));
  native.copy(dst, 4, Buffer.from([1, 2, 3]));
  t.same([...dst.subarray(0, 8)], [0, 0, 0, 0, 1, 2, 3, 0]);
  native.copy(dst, 13, Buffer.from([9, 9, 9]));
  t.equal(dst[15], 9);
  t.throws(() => native.copy(dst, 14, Buffer.from([1, 2, 3])), RangeError);
  t.throws(() => native.copy(dst, -1, Buffer.from([1])), RangeError);
  t.throws(() => native.copy(dst, 17, Buffer.alloc(0)), RangeError);
});
