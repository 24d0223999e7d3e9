import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { FINGERPRINTS_RIDE_ALONG, FingerprintCursor, ride } from '../../src/chunking/md5-fingerprints.js';
import { Md5State, md5Digest, md5Update } from '../../src/chunking/md5.js';
import { native } from '../../src/chunking/native.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

/** The chunks' SHA-256s through node:crypto, end to end. */
function expected(data: Uint8Array, cuts: Uint32Array): string {
  const out: string[] = [];
  for (let i = 0, start = 0; i < cuts.length; start = cuts[i++]!) out.push(createHash('sha256').update(data.subarray(start, cuts[i])).digest('hex'));
  return out.join('');
}

/** Chunk ends of awkward lengths: empty, under a block, one block, block edges, long. */
function cutsOf(length: number, sizes: number[]): Uint32Array {
  const cuts: number[] = [];
  let at = 0;
  for (let i = 0; at < length; i++) {
    at = Math.min(length, at + sizes[i % sizes.length]!);
    cuts.push(at);
  }
  return Uint32Array.from(cuts);
}

const SIZES = [1, 63, 64, 65, 0, 119, 128, 5000, 36_871, 55, 56, 57, 131_072];
const SLICES = [1, 7, 64, 65, 1000, 4096, 512 * 1024, 1 << 30];

t.comment(`fingerprints ride along an MD5 chain on this CPU: ${FINGERPRINTS_RIDE_ALONG}`);

t.test('an MD5 with fingerprints riding along, a slice at a time, gives node:crypto\'s digests', async (t) => {
  for (const slice of SLICES) {
    // The stream's earlier bytes leave a partial MD5 block, so the batch's blocks start off its chunks' blocks.
    const before = randomBytes(37);
    const data = randomBytes(700_001);
    const cuts = cutsOf(data.length, SIZES);
    const state = new Md5State();
    md5Update([{ state, data: before }]);
    const cursor = new FingerprintCursor(data, cuts);
    for (let at = 0; at < data.length; at = Math.min(data.length, at + slice)) ride([{ cursor, state, from: at, to: Math.min(data.length, at + slice) }]);
    t.equal(md5Digest(state).toString('hex'), md5(Buffer.concat([before, data])), `MD5, slices of ${slice}`);
    t.equal(cursor.fingerprints.toString('hex'), expected(data, cuts), `fingerprints, slices of ${slice}`);
  }
});

t.test('slices whose MD5 went side by side with other streams advance the fingerprints alone', async (t) => {
  const data = randomBytes(900_000);
  const cuts = cutsOf(data.length, SIZES.slice().reverse());
  const state = new Md5State();
  const cursor = new FingerprintCursor(data, cuts);
  let i = 0;
  for (let at = 0; at < data.length; i++) {
    const to = Math.min(data.length, at + SLICES[i % 6]!);
    // Alternate: some slices in one pass with the MD5, some with the MD5 done elsewhere.
    if (i % 2 === 0) ride([{ cursor, state, from: at, to }]);
    else {
      md5Update([{ state, data: data.subarray(at, to) }]);
      cursor.alone(to);
    }
    at = to;
  }
  t.equal(md5Digest(state).toString('hex'), md5(data));
  t.equal(cursor.fingerprints.toString('hex'), expected(data, cuts));
});

t.test('bytes after the last chunk end are hashed into the MD5 and fingerprint nothing', async (t) => {
  const data = randomBytes(100_000);
  const cuts = Uint32Array.of(10_000, 70_000);
  const state = new Md5State();
  const cursor = new FingerprintCursor(data, cuts);
  ride([{ cursor, state, from: 0, to: data.length }]);
  t.equal(md5Digest(state).toString('hex'), md5(data));
  t.equal(cursor.fingerprints.toString('hex'), expected(data, cuts));
});

t.test('two streams ride together, in slices of different sizes, each as it would alone', async (t) => {
  for (const [sa, sb] of [[4096, 1000], [512 * 1024, 65], [7, 1 << 30], [64, 64]]) {
    const streams = [0, 1].map((i) => {
      const before = randomBytes(i === 0 ? 0 : 21);
      const data = randomBytes(400_000 + i * 77_777);
      const state = new Md5State();
      md5Update([{ state, data: before }]);
      return { before, data, state, cuts: cutsOf(data.length, i === 0 ? SIZES : SIZES.slice().reverse()), at: 0, slice: i === 0 ? sa! : sb! };
    });
    const cursors = streams.map((s) => new FingerprintCursor(s.data, s.cuts));
    while (streams.some((s) => s.at < s.data.length)) {
      const rides = streams.flatMap((s, i) => {
        if (s.at >= s.data.length) return [];
        const from = s.at;
        s.at = Math.min(s.data.length, s.at + s.slice);
        return [{ cursor: cursors[i]!, state: s.state, from, to: s.at }];
      });
      ride(rides);
    }
    streams.forEach((s, i) => {
      t.equal(md5Digest(s.state).toString('hex'), md5(Buffer.concat([s.before, s.data])), `MD5 ${i}, slices of ${sa} and ${sb}`);
      t.equal(cursors[i]!.fingerprints.toString('hex'), expected(s.data, s.cuts), `fingerprints ${i}, slices of ${sa} and ${sb}`);
    });
  }
});

t.test('without SHA-NI the MD5s go side by side and the fingerprints come at the batch\'s end, the same answers', async (t) => {
  const datas = [randomBytes(300_001), randomBytes(250_000)];
  const cuts = datas.map((d, i) => cutsOf(d.length, i === 0 ? SIZES : SIZES.slice().reverse()));
  for (const riding of [false, FINGERPRINTS_RIDE_ALONG]) {
    const states = datas.map(() => new Md5State());
    const cursors = datas.map((d, i) => new FingerprintCursor(d, cuts[i]!));
    for (let at = 0; at < 300_001; at += 65_536) {
      const rides = datas.flatMap((d, i) => (at < d.length ? [{ cursor: cursors[i]!, state: states[i]!, from: at, to: Math.min(d.length, at + 65_536) }] : []));
      ride(rides, riding);
    }
    datas.forEach((d, i) => {
      t.equal(md5Digest(states[i]!).toString('hex'), md5(d), `riding ${riding}: MD5 ${i}`);
      t.equal(cursors[i]!.fingerprints.toString('hex'), expected(d, cuts[i]!), `riding ${riding}: fingerprints ${i}`);
    });
  }
});

t.test('a second set of chunks over the same bytes (signed chunks, from an offset) rides along, alone or beside another stream', async (t) => {
  const SECOND = [65_536, 1, 64, 4093, 200_000, 63, 65];
  for (const riding of [FINGERPRINTS_RIDE_ALONG, false]) {
    for (const [streams, slice] of [[1, 4096], [1, 65], [2, 1000], [2, 1 << 30], [1, 512 * 1024]] as const) {
      const all = Array.from({ length: streams }, (_, i) => {
        const data = randomBytes(600_000 + i * 33_333);
        const cuts = cutsOf(data.length, i === 0 ? SIZES : SIZES.slice().reverse());
        // The second set covers the middle of the batch: what lies before and after it spans other batches.
        const offset = 1000 + 17 * i;
        const span = data.subarray(offset, data.length - 5000);
        const ends = cutsOf(span.length, i === 0 ? SECOND : SECOND.slice().reverse());
        return {
          data,
          cuts,
          span,
          ends,
          state: new Md5State(),
          cursor: new FingerprintCursor(data, cuts),
          second: { cursor: new FingerprintCursor(span, ends), offset },
          at: 0,
        };
      });
      while (all.some((a) => a.at < a.data.length)) {
        const rides = all.flatMap((a) => {
          if (a.at >= a.data.length) return [];
          const from = a.at;
          a.at = Math.min(a.data.length, a.at + slice);
          return [{ cursor: a.cursor, second: a.second, state: a.state, from, to: a.at }];
        });
        ride(rides, riding);
      }
      all.forEach((a, i) => {
        const what = `riding ${riding}, ${streams} stream(s), slices of ${slice}: stream ${i}`;
        t.equal(md5Digest(a.state).toString('hex'), md5(a.data), `${what}: MD5`);
        t.equal(a.cursor.fingerprints.toString('hex'), expected(a.data, a.cuts), `${what}: fingerprints`);
        t.equal(a.second.cursor.fingerprints.toString('hex'), expected(a.span, a.ends), `${what}: the second set`);
      });
    }
  }
});

t.test('the native call refuses a cursor or arguments that do not fit', { skip: !FINGERPRINTS_RIDE_ALONG && 'no SHA-NI' }, async (t) => {
  const data = new Uint8Array(1000);
  const ends = Uint32Array.of(500, 1000);
  const out = new Uint8Array(64);
  const ok = (cursor = new Uint32Array(10), limit = 1000, blocks = new Uint8Array(64), e = ends, o = out): boolean =>
    native.md5Fingerprints(new Uint32Array(4), blocks, data, e, cursor, limit, o);
  t.equal(ok(), true);
  t.throws(() => ok(new Uint32Array(10), 1001), /limit within data/);
  t.throws(() => ok(new Uint32Array(10), 1000, new Uint8Array(63)), /whole blocks/);
  t.throws(() => ok(new Uint32Array(9)), /cursor of 10 words/);
  t.throws(() => ok(Uint32Array.of(3, 0, 0, 0, 0, 0, 0, 0, 0, 0)), /cursor of 10 words/);
  t.throws(() => ok(Uint32Array.of(0, 512, 0, 0, 0, 0, 0, 0, 0, 0)), /cursor of 10 words/);
  t.throws(() => ok(Uint32Array.of(0, 3, 0, 0, 0, 0, 0, 0, 0, 0)), /cursor of 10 words/);
  t.throws(() => ok(new Uint32Array(10), 1000, new Uint8Array(64), Uint32Array.of(600, 500)), /ends rising/);
  t.throws(() => ok(new Uint32Array(10), 1000, new Uint8Array(64), ends, new Uint8Array(63)), /32 bytes of out/);
  const md5 = new Uint32Array(4);
  const cursor = new Uint32Array(10);
  const one = [md5, new Uint8Array(0), data, ends, cursor, 1000, out] as const;
  t.throws(() => native.md5Fingerprints(...one, ...one), /lies over another output/);
  // Outputs laid over the chunk ends the loops read as they write: refused, not run over garbage offsets.
  const shared = new ArrayBuffer(4096);
  const overEnds = new Uint32Array(shared, 0, 2);
  overEnds.set([500, 1000]);
  t.throws(() => native.md5Fingerprints(new Uint32Array(4), new Uint8Array(0), data, overEnds, new Uint32Array(10), 1000, new Uint8Array(shared, 0, 64)), /over chunk ends/);
  t.throws(() => native.md5Fingerprints(new Uint32Array(shared, 4, 4), new Uint8Array(0), data, overEnds, new Uint32Array(10), 1000, out), /over chunk ends/);
  t.throws(() => native.md5Fingerprints(...one, md5, new Uint8Array(0), data, overEnds, new Uint32Array(10), 1000, new Uint8Array(shared, 4, 64)), /lies over/);
  t.throws(() => native.sha256Chunks(data, overEnds, new Uint8Array(shared, 0, 64)), /not over ends/);
  t.equal(native.sha256Chunks(data, overEnds, new Uint8Array(shared, 8, 64)), true, 'beside the ends, not over them');
  t.throws(() => (native.md5Fingerprints as (...a: unknown[]) => boolean)(...one, md5), /seven arguments/);
});
