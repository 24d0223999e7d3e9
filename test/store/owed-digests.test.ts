import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { fingerprintAll } from '../../src/chunking/fingerprint.js';
import { OwedDigests } from '../../src/store/owed-digests.js';

/** A generator of awkward sizes, the same each run. */
function sizes(seed: number, pick: readonly number[]): () => number {
  let i = seed;
  return () => pick[i++ % pick.length]!;
}

t.test('every owed range is checked once, with its SHA-256: whole in a batch, across two, or across many, with gaps between', async (t) => {
  const RANGES = [65_536, 1, 64, 3_000_000, 65_536, 4_194_304, 63, 65, 200_000, 9_000_000, 8];
  const BATCHES = [4_194_304, 1, 4_000_000, 65_536, 4_194_303, 100];
  for (const seed of [0, 3, 5]) {
    const data = randomBytes(40_000_000);
    const owed = new OwedDigests();
    const checked = new Map<number, string>();
    const nextRange = sizes(seed, RANGES);
    // Every seventh range is one the decoder checks itself (under 8 KiB): a gap between owed ones.
    const gap = (start: number): boolean => start % 7 === 3;
    let added = 0;
    // Ranges are added ahead of their bytes, as a decoder reads each chunk's header before its data.
    const addUpTo = (end: number): void => {
      while (added < Math.min(end, data.length)) {
        const start = added;
        const stop = Math.min(data.length, start + nextRange());
        added = stop;
        if (gap(start)) continue;
        owed.add({
          start,
          end: stop,
          check: (sha256) => {
            t.notOk(checked.has(start), `range at ${start} checked once`);
            checked.set(start, sha256.toString('hex'));
          },
        });
      }
    };
    const nextBatch = sizes(seed, BATCHES);
    let workerRanges = 0;
    for (let at = 0; at < data.length; ) {
      const end = Math.min(data.length, at + nextBatch());
      addUpTo(end);
      const batch = data.subarray(at, end);
      const whole = owed.take(batch);
      // What the batch's worker does: the SHA-256 of each range whole in the batch.
      if (whole) {
        workerRanges += whole.ranges.filter((r) => r !== null).length;
        owed.settle(whole, fingerprintAll(batch.subarray(whole.from, whole.from + whole.ends[whole.ends.length - 1]!), whole.ends));
      }
      at = end;
    }
    owed.finish();
    let ranges = 0;
    let gaps = 0;
    for (let start = 0, r = sizes(seed, RANGES); start < data.length; ) {
      const end = Math.min(data.length, start + r());
      if (gap(start)) gaps++;
      else {
        ranges++;
        t.equal(checked.get(start), createHash('sha256').update(data.subarray(start, end)).digest('hex'), `seed ${seed}: range ${start}-${end}`);
      }
      start = end;
    }
    t.ok(gaps > 0, `seed ${seed}: ${gaps} gaps between owed ranges`);
    t.equal(checked.size, ranges, `seed ${seed}: every range checked`);
    t.ok(workerRanges > ranges / 2, `seed ${seed}: most ranges went to the worker (${workerRanges} of ${ranges})`);
  }
});

t.test('a failed check throws: from take() for a range that spanned batches, from settle() for one whole in a batch', async (t) => {
  const data = randomBytes(10_000);
  const refuse = (): void => {
    throw new Error('refused');
  };
  const spanning = new OwedDigests();
  spanning.add({ start: 0, end: 6000, check: refuse });
  t.equal(spanning.take(data.subarray(0, 5000)), null);
  t.throws(() => spanning.take(data.subarray(5000, 10_000)), /refused/);

  const whole = new OwedDigests();
  whole.add({ start: 10, end: 100, check: () => undefined });
  whole.add({ start: 150, end: 200, check: refuse });
  const batch = whole.take(data.subarray(0, 5000))!;
  t.equal(batch.from, 10);
  t.same([...batch.ends], [90, 140, 190], 'the gap between the ranges is a chunk of its own');
  t.same(batch.ranges.map((r) => r === null), [false, true, false]);
  t.throws(() => whole.settle(batch, fingerprintAll(data.subarray(10, 200), batch.ends)), /refused/);
});

t.test('a range never hashed is owed at the end; ranges must come in order', async (t) => {
  const owed = new OwedDigests();
  owed.add({ start: 0, end: 10, check: () => undefined });
  owed.add({ start: 10, end: 30, check: () => undefined });
  owed.take(randomBytes(20));
  t.throws(() => owed.finish(), /never hashed/);
  t.throws(() => owed.add({ start: 25, end: 40, check: () => undefined }), /out of order/);
  t.throws(() => owed.add({ start: 30, end: 30, check: () => undefined }), /out of order/);
  t.doesNotThrow(() => owed.add({ start: 31, end: 40, check: () => undefined }), 'a gap is allowed');
});
