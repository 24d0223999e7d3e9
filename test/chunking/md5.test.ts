import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { Md5State, md5Digest, md5Update } from '../../src/chunking/md5.js';
import { native } from '../../src/chunking/native.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** Update sizes around the block edges, and some large ones. */
const SIZES = [0, 1, 3, 55, 56, 57, 63, 64, 65, 127, 128, 129, 1000, 4096 + 7, 65_536, 200_003];

t.test('one stream in pieces of every awkward size digests as node:crypto does', async (t) => {
  for (const sideBySide of [true, false]) {
    const data = randomBytes(SIZES.reduce((a, b) => a + b, 0));
    const state = new Md5State();
    let o = 0;
    for (const n of SIZES) {
      md5Update([{ state, data: data.subarray(o, o + n) }], sideBySide);
      o += n;
    }
    t.equal(md5Digest(state).toString('hex'), md5(data), `side by side ${sideBySide}`);
  }
  t.equal(md5Digest(new Md5State()).toString('hex'), 'd41d8cd98f00b204e9800998ecf8427e', 'the empty stream');
});

t.test('streams advanced side by side, each in its own pieces, digest as each alone', async (t) => {
  for (const sideBySide of [true, false]) {
    const streams = 11; // more than one vector of lanes
    const datas = Array.from({ length: streams }, (_, i) => randomBytes(50_000 + i * 9_973));
    const states = datas.map(() => new Md5State());
    const offsets = datas.map(() => 0);
    let round = 0;
    while (offsets.some((o, i) => o < datas[i]!.length)) {
      const items = [];
      for (let i = 0; i < streams; i++) {
        // Each stream's pieces differ in size, so their partial blocks and lane lengths differ.
        const n = SIZES[(round + i) % SIZES.length]!;
        const piece = datas[i]!.subarray(offsets[i]!, offsets[i]! + n);
        offsets[i]! += piece.length;
        if (piece.length > 0 || round % 3 === 0) items.push({ state: states[i]!, data: piece });
      }
      md5Update(items, sideBySide);
      round++;
    }
    for (let i = 0; i < streams; i++) t.equal(md5Digest(states[i]!).toString('hex'), md5(datas[i]!), `side by side ${sideBySide}, stream ${i}`);
  }
});

t.test('two to four interleaved chains of unequal lengths digest as each alone', async (t) => {
  // Below five lanes the chains are interleaved, whatever the CPU: widths 4, 3, 2 as lanes run out.
  for (const lengths of [[3, 5], [0, 7, 2], [9, 1, 4, 6], [1, 1, 1, 1], [5, 0, 0, 8]]) {
    const datas = lengths.map((blocks, i) => randomBytes(64 * blocks + (i % 2 === 0 ? 0 : 17)));
    const states = datas.map(() => new Md5State());
    md5Update(datas.map((data, i) => ({ state: states[i]!, data })));
    for (let i = 0; i < datas.length; i++) t.equal(md5Digest(states[i]!).toString('hex'), md5(datas[i]!), `lengths ${lengths}, lane ${i}`);
  }
});

t.test('vector lanes and the scalar loop agree on states of many lanes, lengths unequal', async (t) => {
  const lanes = 70; // past the native call's 64 lanes: md5Update splits the call
  const datas = Array.from({ length: lanes }, (_, i) => randomBytes(64 * ((i * 37) % 50)));
  const a = datas.map(() => new Md5State());
  const b = datas.map(() => new Md5State());
  md5Update(datas.map((data, i) => ({ state: a[i]!, data })), true);
  md5Update(datas.map((data, i) => ({ state: b[i]!, data })), false);
  for (let i = 0; i < lanes; i++) t.same([...a[i]!.words], [...b[i]!.words], `lane ${i}`);
  for (let i = 0; i < lanes; i++) t.equal(md5Digest(a[i]!).toString('hex'), md5(datas[i]!));
  t.comment(`vector lanes on this CPU: ${native.md5Vectorized()}`);
});

t.test('bad input is refused', async (t) => {
  const s = new Md5State();
  t.throws(() => md5Update([{ state: s, data: Buffer.alloc(1) }, { state: s, data: Buffer.alloc(1) }]), /appears twice/);
  t.throws(() => native.md5Lanes(new Uint32Array(4), [new Uint8Array(63)], true), /whole 64-byte blocks/);
  t.throws(() => native.md5Lanes(new Uint32Array(8), [new Uint8Array(64)], true), /4 state words/);
  t.throws(() => native.md5Lanes(new Uint32Array(4 * 65), Array.from({ length: 65 }, () => new Uint8Array(64)), true), /at most 64 lanes/);
});
