import { WorkerJobError, WorkerPool } from '../compute/worker-pool.js';
import type { ChunkKind } from './container-format.js';
import { SlotPool } from '../compute/batch-buffers.js';
import { Md5Placement } from './md5-placement.js';
import { RECORD_HEADER_BYTES } from './container-format.js';
import { CorruptRecordError, type AdmitResult, type EncodeResult, type StreamDigest, type VerifiedRecord } from './store-jobs.js';
import { createHash } from 'node:crypto';
import { fingerprintAll } from '../chunking/fingerprint.js';
import { Md5State, md5Digest, md5Update } from '../chunking/md5.js';
import { ridesInPairs } from '../chunking/md5-fingerprints.js';
import { encodeRecords } from './record-encoding.js';
import type { BatchDigests } from './owed-digests.js';

export { CorruptRecordError };

/**
 * The work per byte of each kind of job, relative to the fingerprints' SHA-256,
 * for the pool's routing (see WorkerPool): from the one-core ceilings the bench
 * prints here, fingerprints about 3400 MB/s (a batch side by side), MD5 880,
 * OpenSSL's SHA-256 of one stream 1700, zstd level 1 710 (level 3 600);
 * decoding runs at about OpenSSL's SHA-256 rate. Fingerprints computed beside
 * an MD5 chain add a few percent to it.
 */
const COST = { fingerprints: 1, fingerprintsRiding: 0.1, md5: 3.9, sha256: 2, compress: 5, decompress: 2 } as const;

/**
 * A stream of at most this many bytes has its jobs run on the calling thread
 * (`here`). A small object's work is tens of microseconds (16 KiB: a SHA-256
 * of a few microseconds, an MD5 of twenty, a compression of thirty); a trip to
 * a worker and back costs about as much again in messages and wake-ups on both
 * threads, and a small put made four of them (fingerprints, MD5, compression,
 * the MD5's final).
 */
export const HERE_BYTES = 64 * 1024;

/** The store's view of its worker threads: one typed method per job. */
export class StoreCompute {
  private static sharedInstance: StoreCompute | null = null;
  private nextStream = 1;
  /** The batch buffers of every stream in the process: reused, never allocated per stream. */
  readonly slots = new SlotPool(8, RECORD_HEADER_BYTES);
  /** The span buffers of every read in the process, likewise. */
  readonly readSlots = new SlotPool(6, RECORD_HEADER_BYTES);

  private readonly md5Workers: Md5Placement;

  constructor(readonly pool: WorkerPool) {
    this.md5Workers = new Md5Placement(pool.size);
  }

  static create(size?: number): StoreCompute {
    return new StoreCompute(new WorkerPool(new URL('./store-worker.js', import.meta.url), size));
  }

  /** One pool for the whole process: units share the cores. */
  static shared(): StoreCompute {
    return (StoreCompute.sharedInstance ??= StoreCompute.create());
  }

  /** here: on this thread (a small stream's, at most HERE_BYTES). */
  fingerprints(data: Uint8Array, cuts: Uint32Array, here = false): Promise<Buffer> {
    if (here) return onThisThread(data.byteLength, () => fingerprintAll(data, cuts));
    return this.pool.run<Uint8Array>('fingerprints', { data, cuts }, [], undefined, data.byteLength * COST.fingerprints).then(toBuffer);
  }

  /** A stream id for digests: each algorithm's updates all go to one worker, in order. */
  newStream(): number {
    return this.nextStream++;
  }

  /**
   * Feeds a stream's digest. A stream's SHA-256 stays on one worker, chosen by
   * its number; its MD5 on one the placement chooses, where it is hashed
   * beside other streams' (see Md5Placement).
   * first: this is the stream's first update (a worker that lost the state of
   * a later one must say so).
   */
  digestUpdate(stream: number, algorithm: StreamDigest, data: Uint8Array, first: boolean): Promise<void> {
    const worker = algorithm === 'md5' ? this.md5Workers.update(stream, first) : sha256Worker(stream);
    return this.pool.run<void>('digestUpdate', { stream, algorithm, data, first }, [], worker, data.byteLength * COST[algorithm]);
  }

  /**
   * The digests of a whole stream held in one small piece (at most HERE_BYTES),
   * on this thread: no worker keeps state for it, and no final is owed.
   */
  digestsHere(data: Uint8Array, algorithms: readonly StreamDigest[]): Buffer[] {
    smallEnough(data.byteLength);
    return algorithms.map((a) => {
      if (a === 'sha256') return createHash('sha256').update(data).digest();
      const state = new Md5State();
      md5Update([{ state, data }]);
      return md5Digest(state);
    });
  }

  /**
   * Feeds a stream's MD5 with a batch and resolves to the batch's chunk
   * fingerprints, computed by the MD5's worker in the same pass (see
   * FingerprintCursor): beside a lone MD5 chain they cost almost nothing.
   * The digests of the owed ranges whole in the batch, if any, follow them.
   */
  md5WithFingerprints(stream: number, data: Uint8Array, cuts: Uint32Array, first: boolean, owed?: BatchDigests | null, sha256 = false): Promise<Buffer> {
    const worker = this.md5Workers.update(stream, first);
    // What rides along costs almost nothing in a round that pairs its riders; otherwise it is hashed alone after the MD5s.
    const rides = ridesInPairs(this.md5Workers.openChains()[worker]!);
    const alone = (owed ? COST.fingerprints : 0) + (sha256 ? COST.sha256 : 0) + COST.fingerprints;
    const cost = data.byteLength * (COST.md5 + (rides ? COST.fingerprintsRiding : alone));
    const extra = { ...(owed && { rangesFrom: owed.from, rangeEnds: owed.ends }), ...(sha256 && { sha256 }) };
    return this.pool.run<Uint8Array>('digestUpdate', { stream, algorithm: 'md5', data, cuts, first, ...extra }, [], worker, cost).then(toBuffer);
  }

  /**
   * first: no update was sent (an empty stream). sha256 (an MD5 final): the
   * stream's SHA-256 rode along its MD5, and follows it in the answer.
   */
  digestFinal(stream: number, algorithm: StreamDigest, first: boolean, sha256 = false): Promise<Buffer> {
    const worker = algorithm === 'md5' ? this.md5Workers.final(stream) : sha256Worker(stream);
    return this.pool.run<Uint8Array>('digestUpdate', { stream, algorithm, final: true, first, ...(sha256 && { sha256 }) }, [], worker).then(toBuffer);
  }

  /** Compresses chunks of data into records in out (a shared buffer the caller owns). */
  encode(
    data: Uint8Array,
    chunks: Uint32Array,
    fingerprints: Uint8Array,
    kind: ChunkKind,
    level: number,
    out: Uint8Array,
    here = false,
  ): Promise<EncodeResult> {
    let bytes = 0;
    for (let i = 1; i < chunks.length; i += 2) bytes += chunks[i]!;
    if (here) return onThisThread(bytes, () => encodeRecords({ data, chunks, fingerprints, kind, level, out }));
    return this.pool.run<EncodeResult>('encode', { data, chunks, fingerprints, kind, level, out }, [], undefined, bytes * COST.compress);
  }

  /** Checks and decodes the records of a span (shared memory, read in place) into out; resolves to the bytes written. */
  async decode(span: Uint8Array, records: Uint32Array, fingerprints: Uint8Array, verifyFingerprints: boolean, out: Uint8Array): Promise<number> {
    const cost = out.byteLength * (COST.decompress + (verifyFingerprints ? COST.fingerprints : 0));
    return this.pool.run<number>('decode', { span, records, fingerprints, verifyFingerprints, out }, [], undefined, cost).catch(rebuildCorrupt);
  }

  /**
   * Checks offered chunks (see AdmitJob) and builds the records of those to
   * keep. The frame is handed over, not copied, when it owns its memory: the
   * caller must not use it afterwards.
   */
  async admit(frame: Buffer, chunks: Uint32Array): Promise<Uint8Array> {
    const transfer = isWholeBuffer(frame) ? [frame.buffer as ArrayBuffer] : [];
    // Each offered chunk is decoded and fingerprinted.
    const cost = frame.byteLength * (COST.decompress + COST.fingerprints);
    return (await this.pool.run<AdmitResult>('admit', { frame, chunks }, transfer, undefined, cost).catch(rebuildCorrupt)).records;
  }

  verify(span: Buffer, offsets: number[]): Promise<VerifiedRecord[]> {
    const transfer = isWholeBuffer(span) ? [span.buffer as ArrayBuffer] : [];
    return this.pool.run<VerifiedRecord[]>('verify', { span, offsets }, transfer, undefined, span.byteLength * (COST.decompress + COST.fingerprints));
  }
}

/** A worker's CorruptRecordError crosses the thread by name: made whole again here. */
function rebuildCorrupt(err: unknown): never {
  if (err instanceof WorkerJobError && err.name === 'CorruptRecordError') {
    throw new CorruptRecordError(err.message, (err.details as { index: number }).index);
  }
  throw err;
}

/** By stream number, as before the MD5s were packed: streams spread over the workers. */
function sha256Worker(stream: number): number {
  return stream + 1;
}

/** A small job's result, or its error, as the worker's would come: a promise. */
function onThisThread<T>(bytes: number, job: () => T): Promise<T> {
  try {
    smallEnough(bytes);
    return Promise.resolve(job());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Only a small stream's work runs on the calling thread: a larger one would hold the event loop. */
function smallEnough(bytes: number): void {
  if (bytes > HERE_BYTES) throw new RangeError(`${bytes} bytes is more than a small stream's ${HERE_BYTES}`);
}

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function isWholeBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
}
