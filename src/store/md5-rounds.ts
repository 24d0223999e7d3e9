import { Md5State, md5Digest, md5Update } from '../chunking/md5.js';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { FingerprintCursor, ride, ridesInPairs, secondLimit, type Ride } from '../chunking/md5-fingerprints.js';
import { StreamSha256 } from '../chunking/stream-sha256.js';
import type { JobResult } from '../compute/worker-host.js';
import type { DigestJob } from './store-jobs.js';

/**
 * How much of each stream's update a round hashes before the worker takes in
 * the messages that came meanwhile: about 0.7 ms of one chain. A stream whose
 * update arrives while another's is being hashed joins it within a slice,
 * rather than waiting for the whole 4 MiB update to finish alone.
 */
const SLICE = 512 * 1024;

interface Md5Work {
  job: DigestJob;
  /** Bytes of the job's data hashed so far. */
  offset: number;
  started: boolean;
  /** The fingerprints owed with this update, if it carries chunk ends. */
  cursor: FingerprintCursor | null;
  /** The digests of the ranges owed with it too, or the run of the stream's SHA-256 riding along, if any. */
  second: Ride['second'];
  /** Where both go: the job's answer. */
  answer: Buffer | null;
  resolve(result: JobResult): void;
  reject(err: Error): void;
}

/**
 * The MD5s of the streams a worker serves (their ETags), hashed in rounds:
 * each round takes the next slice of every stream that has an update waiting
 * and hashes them side by side. Two to four chains interleaved cost little
 * more than one (see native/src/md5.c), so parts uploaded together share the
 * core rather than take turns at it. Each stream's jobs run in the order they
 * came. An update that carries its chunks' ends gets their fingerprints too,
 * in the same pass as its MD5 (a chain leaves the SHA unit idle) when the
 * round's slices all carry them and pair up (see ridesInPairs). Otherwise the
 * MD5s go side by side as before and the fingerprints after them.
 */
export class Md5Rounds {
  private readonly states = new Map<number, Md5State>();
  /** The SHA-256s riding along, of the streams whose first job asked for one. */
  private readonly shas = new Map<number, StreamSha256>();
  /** Each stream's waiting jobs, oldest first; a stream with none has no entry. */
  private readonly waiting = new Map<number, Md5Work[]>();
  private scheduled = false;

  queue(job: DigestJob): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      // Before the job joins its stream's queue: a refusal here must leave no empty queue behind.
      const { cursor, second, answer } = cursorsOf(job);
      // No slice will carry an empty update's fingerprints along.
      if (cursor && job.data!.byteLength === 0) cursor.alone(0);
      let jobs = this.waiting.get(job.stream);
      if (!jobs) this.waiting.set(job.stream, (jobs = []));
      jobs.push({ job, offset: 0, started: false, cursor, second, answer, resolve, reject });
      this.schedule();
    });
  }

  /** The next round runs after the messages already queued to this worker are taken in. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.round();
    });
  }

  private round(): void {
    const slices: { state: Md5State; data: Uint8Array }[] = [];
    const heads: { stream: number; work: Md5Work; state: Md5State }[] = [];
    const riders: Ride[] = [];
    for (const [stream, jobs] of this.waiting) {
      const work = jobs[0]!;
      if (!work.started) {
        work.started = true;
        if (work.job.first) {
          this.states.set(stream, new Md5State());
          if (work.job.sha256) this.shas.set(stream, new StreamSha256());
          else this.shas.delete(stream);
        }
        const sha = work.job.sha256 ? this.shas.get(stream) : undefined;
        try {
          if (work.job.sha256 && !sha) throw new Error(`sha256 state of stream ${stream} is lost`);
          if (sha && work.job.data) work.second = sha.begin(work.job.data);
        } catch (err) {
          this.fail(stream, jobs, err as Error);
          continue;
        }
      }
      const state = this.states.get(stream);
      if (!state) {
        // A replaced worker has no state for a stream begun elsewhere: a digest of part of it would be wrong.
        this.finish(stream, jobs);
        work.reject(new Error(`md5 state of stream ${stream} is lost`));
        continue;
      }
      const data = work.job.data;
      if (data && work.offset < data.byteLength) {
        const slice = data.subarray(work.offset, work.offset + SLICE);
        work.offset += slice.byteLength;
        if (work.cursor) riders.push({ cursor: work.cursor, second: work.second, state, from: work.offset - slice.byteLength, to: work.offset });
        slices.push({ state, data: slice });
      }
      heads.push({ stream, work, state });
    }
    try {
      if (riders.length === slices.length && ridesInPairs(riders.length)) {
        for (let i = 0; i < riders.length; i += 2) ride(riders.slice(i, i + 2));
      } else {
        md5Update(slices);
        for (const r of riders) {
          r.cursor.alone(r.to);
          r.second?.cursor.alone(secondLimit(r));
        }
      }
    } catch (err) {
      for (const { stream } of heads) this.fail(stream, this.waiting.get(stream)!, err as Error);
      heads.length = 0;
    }
    for (const { stream, work, state } of heads) {
      if (work.job.data && work.offset < work.job.data.byteLength) continue;
      this.finish(stream, this.waiting.get(stream)!);
      const sha = work.job.sha256 ? this.shas.get(stream) : undefined;
      try {
        if (sha && work.job.data) sha.end(work.job.data);
        if (work.answer) work.resolve({ value: work.answer, transfer: [work.answer.buffer as ArrayBuffer] });
        else if (!work.job.final) work.resolve({ value: null });
        else {
          this.states.delete(stream);
          this.shas.delete(stream);
          work.resolve({ value: sha ? Buffer.concat([md5Digest(state), sha.digest()]) : md5Digest(state) });
        }
      } catch (err) {
        this.forget(stream);
        work.reject(err as Error);
      }
    }
    if (this.waiting.size > 0) this.schedule();
  }

  /**
   * Refuses a stream's oldest job, and forgets the stream's state: a digest
   * part-way through a failed update is no digest of anything, so its later
   * jobs are refused as lost rather than answered from it.
   */
  private fail(stream: number, jobs: Md5Work[], err: Error): void {
    this.forget(stream);
    const work = jobs[0]!;
    this.finish(stream, jobs);
    work.reject(err);
  }

  private forget(stream: number): void {
    this.states.delete(stream);
    this.shas.delete(stream);
  }

  /** Takes a stream's oldest job off its queue. */
  private finish(stream: number, jobs: Md5Work[]): void {
    jobs.shift();
    if (jobs.length === 0) this.waiting.delete(stream);
  }
}


/**
 * An update's cursors, when it carries chunk ends: its fingerprints, and the
 * digests of the ranges owed with it, both written into one answer.
 */
function cursorsOf(job: DigestJob): Pick<Md5Work, 'cursor' | 'second' | 'answer'> {
  if (job.sha256 && job.data && (!job.cuts || job.rangeEnds)) throw new RangeError('a stream SHA-256 rides with chunk ends and no owed ranges');
  if (!job.cuts || !job.data) return { cursor: null, second: null, answer: null };
  const ranges = job.rangeEnds?.length ?? 0;
  // A buffer of its own: it is handed to the other thread, not copied.
  const answer = Buffer.allocUnsafeSlow((job.cuts.length + ranges) * FINGERPRINT_BYTES);
  const fingerprints = answer.subarray(0, job.cuts.length * FINGERPRINT_BYTES);
  const cursor = new FingerprintCursor(job.data, job.cuts, fingerprints);
  if (ranges === 0) return { cursor, second: null, answer };
  const ends = job.rangeEnds!;
  const from = job.rangesFrom ?? 0;
  if (from + ends[ends.length - 1]! > job.data.byteLength) throw new RangeError('owed ranges run past the update');
  const data = job.data.subarray(from, from + ends[ends.length - 1]!);
  const second = { cursor: new FingerprintCursor(data, ends, answer.subarray(fingerprints.byteLength)), offset: from };
  return { cursor, second, answer };
}
