import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { FINGERPRINT_BYTES, fingerprintAll, fingerprintEach } from '../../src/chunking/fingerprint.js';
import { native } from '../../src/chunking/native.js';

/** Chunk lengths around the 64-byte block and the 56-byte padding edges, and chunk-sized ones. */
const LENGTHS = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 1000, 8192, 32_771, 131_072];

function endsOf(lengths: readonly number[]): Uint32Array {
  const ends = new Uint32Array(lengths.length);
  let o = 0;
  lengths.forEach((n, i) => (ends[i] = o += n));
  return ends;
}

function reference(data: Uint8Array, ends: Uint32Array): Buffer {
  const out = Buffer.alloc(ends.length * FINGERPRINT_BYTES);
  fingerprintEach(data, ends, out);
  return out;
}

const hasShaNi = /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

t.test('the native batch hashes as OpenSSL does, on this CPU through the SHA extensions', async (t) => {
  const data = randomBytes(16);
  t.equal(native.sha256Chunks(data, endsOf([16]), Buffer.alloc(32)), hasShaNi, `SHA-NI here: ${hasShaNi}`);
});

/** The native batch with each lane count against OpenSSL one chunk at a time; skipped where there is no SHA-NI (the batch is then OpenSSL too). */
function matchesEachLaneCount(t: Test, data: Uint8Array, ends: Uint32Array, what: string): void {
  const expected = reference(data, ends);
  for (const lanes of [1, 2, 3, 4]) {
    const out = Buffer.alloc(ends.length * FINGERPRINT_BYTES);
    t.ok(native.sha256Chunks(data, ends, out, lanes), `${what}, ${lanes} lanes: hashed natively`);
    t.same(out, expected, `${what}, ${lanes} lanes`);
  }
  t.same(fingerprintAll(data, ends), expected, `${what}, fingerprintAll`);
}

t.test('chunks of every awkward length, in every order the lanes refill in, match one at a time', { skip: !hasShaNi && 'no SHA-NI here' }, async (t) => {
  // Rotating the lengths puts short and long chunks side by side in different lanes each round.
  for (let shift = 0; shift < LENGTHS.length; shift++) {
    const lengths = [...LENGTHS.slice(shift), ...LENGTHS.slice(0, shift), ...LENGTHS.slice(0, shift % 5)];
    const ends = endsOf(lengths);
    matchesEachLaneCount(t, randomBytes(ends[ends.length - 1]!), ends, `rotation ${shift}`);
  }
});

t.test('one chunk, no chunks, and a view into a larger shared buffer', { skip: !hasShaNi && 'no SHA-NI here' }, async (t) => {
  matchesEachLaneCount(t, randomBytes(70_000), endsOf([70_000]), 'one chunk');
  matchesEachLaneCount(t, Buffer.alloc(0), new Uint32Array(0), 'no chunks');
  matchesEachLaneCount(t, Buffer.alloc(0), endsOf([0, 0]), 'empty chunks of empty data');
  // Batches reach the workers as views into shared memory, at an offset that is no multiple of 16.
  const shared = new Uint8Array(new SharedArrayBuffer(300_013));
  shared.set(randomBytes(shared.length));
  matchesEachLaneCount(t, shared.subarray(7, 250_007), endsOf([40_000, 9, 120_000, 64, 89_927]), 'a shared view');
});

t.test('many chunks of random lengths match one at a time', { skip: !hasShaNi && 'no SHA-NI here' }, async (t) => {
  const lengths = Array.from({ length: 400 }, (_, i) => (i * 7919) % 131_073);
  const ends = endsOf(lengths);
  matchesEachLaneCount(t, randomBytes(ends[ends.length - 1]!), ends, '400 chunks');
});

t.test('bad input is refused', async (t) => {
  const data = randomBytes(100);
  t.throws(() => native.sha256Chunks(data, Uint32Array.of(101), Buffer.alloc(32)), /ends must rise within data/, 'an end past the data');
  t.throws(() => native.sha256Chunks(data, Uint32Array.of(50, 40), Buffer.alloc(64)), /ends must rise within data/, 'ends that fall');
  t.throws(() => native.sha256Chunks(data, Uint32Array.of(50, 60), Buffer.alloc(63)), /32 bytes for each/, 'out too small');
  t.throws(() => (native.sha256Chunks as (...a: unknown[]) => boolean)(data, [50], Buffer.alloc(32)), /expects/, 'ends not a Uint32Array');
  t.throws(() => native.sha256Chunks(data, Uint32Array.of(50), Buffer.alloc(32), 5), /lanes is 1 to 4/, 'five lanes');
  t.throws(() => native.sha256Chunks(data, Uint32Array.of(50), Buffer.alloc(32), 0), /lanes is 1 to 4/, 'no lanes');
});
