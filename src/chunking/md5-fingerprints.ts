import { FINGERPRINT_BYTES, fingerprintAll } from './fingerprint.js';
import { Md5State, md5Begin, md5Update } from './md5.js';
import { native, type ChunkSetArgs } from './native.js';

const NO_BLOCKS = new Uint8Array(0);

/**
 * Whether this CPU computes fingerprints beside MD5 chains in one pass
 * (native/src/md5_fingerprints.c, SHA-NI): a call with nothing to do says so.
 */
export const FINGERPRINTS_RIDE_ALONG = native.md5Fingerprints(
  new Uint32Array(4),
  NO_BLOCKS,
  NO_BLOCKS,
  new Uint32Array(0),
  new Uint32Array(10),
  0,
  NO_BLOCKS,
);

/**
 * A batch's chunk fingerprints, computed a slice at a time beside the
 * batch's MD5 by the worker that owes that MD5: a serial MD5 chain leaves the
 * core's SHA unit idle, so the fingerprints cost little there, where on their
 * own they cost a core about 0.35 s a GB.
 */
export class FingerprintCursor {
  readonly fingerprints: Buffer;
  /** The native cursor: the chunk being hashed, its bytes hashed, its state. */
  readonly words = new Uint32Array(10);

  /**
   * out: where the digests go (32 bytes for each cut); by default a buffer of
   * its own, handed to the other thread, not copied. open: the data is one
   * run of whole blocks of a longer message, hashed on from the state in
   * words and never finished (see StreamSha256).
   */
  constructor(
    readonly data: Uint8Array,
    readonly cuts: Uint32Array,
    out?: Buffer,
    readonly open = false,
  ) {
    this.fingerprints = out ?? Buffer.allocUnsafeSlow(cuts.length * FINGERPRINT_BYTES);
  }

  /**
   * Advances the fingerprints alone as far as `to` (their MD5 went side by
   * side with other streams'). riding: whether the CPU can (a parameter for
   * the tests, which hold both ways to the same answers).
   */
  alone(to: number, riding = FINGERPRINTS_RIDE_ALONG): void {
    if (this.open) {
      // Its whole blocks as far as `to`, from where the state stands: there is no other way to hash an open run.
      const done = this.words[1]!;
      const upTo = to - (to % 64);
      if (upTo > done && !native.sha256Resume(this.words.subarray(2), this.data.subarray(done, upTo))) throw new Error('an open run needs SHA-NI');
      if (upTo > done) this.words[1] = upTo;
      return;
    }
    if (riding) ride([{ cursor: this, state: null, from: to, to }]);
    else if (to === this.data.byteLength && this.words[0] !== this.cuts.length) {
      fingerprintAll(this.data, this.cuts).copy(this.fingerprints);
      // As the native cursor says it: every chunk done (later slices reach the end again).
      this.words[0] = this.cuts.length;
    }
  }
}

/**
 * A slice of a batch: its MD5 advanced over data[from, to) (none when state
 * is null), its fingerprints as far as `to`, and as far as that the digests
 * of a second set of chunks over the same bytes, if any (a body's signed
 * chunks, its data `offset` bytes into the batch).
 */
export interface Ride {
  cursor: FingerprintCursor;
  second?: { cursor: FingerprintCursor; offset: number } | null;
  state: Md5State | null;
  from: number;
  to: number;
}

/**
 * Advances one or two slices, each stream's MD5, fingerprints and second set
 * in one pass, two streams' chains interleaved. On a CPU without SHA-NI (riding
 * false) the MD5s go side by side and the fingerprints are all taken once a
 * slice reaches its batch's end.
 */
export function ride(rides: readonly Ride[], riding = FINGERPRINTS_RIDE_ALONG): void {
  if (rides.length < 1 || rides.length > 2) throw new RangeError('one or two slices ride at a time');
  if (!riding) {
    md5Update(rides.flatMap((r) => (r.state ? [{ state: r.state, data: r.cursor.data.subarray(r.from, r.to) }] : [])));
    for (const r of rides) {
      r.cursor.alone(r.to, false);
      r.second?.cursor.alone(secondLimit(r), false);
    }
    return;
  }
  const begun = rides.map((r) => (r.state ? md5Begin(r.state, r.cursor.data.subarray(r.from, r.to)) : null));
  const args = rides.flatMap((r, i) => [
    r.state?.words ?? new Uint32Array(4),
    begun[i]?.blocks ?? NO_BLOCKS,
    r.cursor.data,
    r.cursor.cuts,
    r.cursor.words,
    r.to,
    r.cursor.fingerprints,
    ...(r.second ? [secondArgs(r)] : []),
  ]);
  if (!native.md5Fingerprints(...(args as Parameters<typeof native.md5Fingerprints>))) {
    throw new Error('md5Fingerprints refused after the CPU said it could');
  }
  for (const b of begun) b?.done();
}

function secondArgs(r: Ride): ChunkSetArgs {
  const c = r.second!.cursor;
  return c.open ? [c.data, c.cuts, c.words, secondLimit(r), c.fingerprints, true] : [c.data, c.cuts, c.words, secondLimit(r), c.fingerprints];
}

/**
 * Whether a round of this many riders costs less in pairs (ride() two at a
 * time, an odd one alone) than with the MD5s side by side, in vector lanes,
 * and the fingerprints after. A stream riding alone costs about 1.3-1.4 CPU-s
 * a GB, a pair 0.7-0.9: an odd one out weighs on three riders and on seven,
 * where side by side costs the same or less, but not on five (0.83-0.87
 * against 0.93-1.02); even counts ride in pairs for 0.71-0.81 against
 * 0.80-1.2 (8 MiB a stream; the bench's ceilings print both ways for 3, 5
 * and 6 riders).
 */
export function ridesInPairs(riders: number): boolean {
  return riders % 2 === 0 || riders < 3 || riders === 5;
}

/** How far a slice reaches into its second set's data. */
export function secondLimit(r: Ride): number {
  const { cursor, offset } = r.second!;
  return Math.max(0, Math.min(cursor.data.byteLength, r.to - offset));
}
