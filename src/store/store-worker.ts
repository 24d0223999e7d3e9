/*
 * The store's worker thread: the CPU-heavy steps of the write and read paths
 * (fingerprints, the MD5 of a stream, compression, decoding and checking of
 * records), so that one stream uses every core and the event loop stays free.
 */
import { createHash, type Hash } from 'node:crypto';
import { FINGERPRINT_BYTES, fingerprintAll } from '../chunking/fingerprint.js';
import { MAX_CHUNK_SIZE } from '../chunking/parameters.js';
import { CodecError } from '../compute/codec.js';
import { serveJobs, type JobResult } from '../compute/worker-host.js';
import {
  ChunkKind,
  FormatError,
  RECORD_HEADER_BYTES,
  readRecordHeader,
  writeRecordHeader,
  xxh64,
} from './container-format.js';
import { Md5Rounds } from './md5-rounds.js';
import { codecAt, encodeRecords } from './record-encoding.js';
import {
  ADMIT_FIELDS,
  CorruptRecordError,
  type AdmitJob,
  type AdmitResult,
  type DecodeJob,
  type EncodeJob,
  type FingerprintJob,
  type DigestJob,
  type VerifyJob,
  type VerifiedRecord,
} from './store-jobs.js';

function fingerprints(job: FingerprintJob): JobResult {
  const out = fingerprintAll(job.data, job.cuts);
  return { value: out, transfer: [out.buffer as ArrayBuffer] };
}

/** SHA-256 digests of whole streams (of signed payloads), by stream. */
const sha256s = new Map<number, Hash>();

function digestUpdate(job: DigestJob): JobResult | Promise<JobResult> {
  if (job.algorithm === 'md5') return md5s.queue(job);
  let h = sha256s.get(job.stream);
  if (job.first) sha256s.set(job.stream, (h = createHash('sha256')));
  // A replaced worker has no state for a stream begun elsewhere: a digest of part of it would be wrong.
  if (!h) throw new Error(`sha256 state of stream ${job.stream} is lost`);
  if (job.data) h.update(job.data);
  if (job.final) {
    sha256s.delete(job.stream);
    return { value: h.digest() };
  }
  return { value: null };
}

/** MD5 digests of whole streams (their ETags). */
const md5s = new Md5Rounds();

function encode(job: EncodeJob): JobResult {
  const value = encodeRecords(job);
  return { value, transfer: [value.storedLengths.buffer as ArrayBuffer, value.codecs.buffer as ArrayBuffer] };
}

/**
 * Checks and decodes records of one span read from a container, in order.
 * Fingerprints are checked after the decoding, all chunks side by side (see
 * fingerprintAll); the first bad chunk, by position, is the one reported.
 */
function decode(job: DecodeJob): JobResult {
  const n = job.records.length / 2;
  const out = Buffer.from(job.out.buffer, job.out.byteOffset, job.out.byteLength);
  const span = Buffer.from(job.span.buffer, job.span.byteOffset, job.span.byteLength);
  const ends = new Uint32Array(n);
  let o = 0;
  let failed: CorruptRecordError | null = null;
  for (let i = 0; i < n && !failed; i++) {
    const at = job.records[2 * i]!;
    const rawLength = job.records[2 * i + 1]!;
    const expected = job.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
    try {
      const h = readRecordHeader(span, at);
      if (!h.fingerprint.equals(expected)) throw new FormatError('record holds a different fingerprint');
      if (h.rawLength !== rawLength) throw new FormatError('record raw length differs from the index');
      const payload = span.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + h.storedLength);
      if (payload.length !== h.storedLength) throw new FormatError('record payload truncated');
      if (xxh64(payload) !== h.payloadChecksum) throw new FormatError('record payload checksum mismatch');
      codecAt(0).decodeInto(h.codec, payload, out.subarray(o, o + rawLength));
    } catch (err) {
      if (!(err instanceof FormatError || err instanceof CodecError)) throw err;
      failed = new CorruptRecordError(err.message, i);
      break;
    }
    o += rawLength;
    ends[i] = o;
  }
  if (job.verifyFingerprints) {
    const decoded = failed ? failed.index : n;
    const bad = mismatches(out, ends.subarray(0, decoded), job.fingerprints)[0];
    if (bad !== undefined) throw new CorruptRecordError('chunk does not hash to its fingerprint', bad);
  }
  if (failed) throw failed;
  return { value: o };
}

/** The indexes, in order, of the chunks of data (ending at each of ends) whose SHA-256 is not their expected fingerprint. */
function mismatches(data: Uint8Array, ends: Uint32Array, expected: Uint8Array): number[] {
  const actual = fingerprintAll(data, ends);
  const bad: number[] = [];
  for (let i = 0; i < ends.length; i++) {
    const a = i * FINGERPRINT_BYTES;
    if (Buffer.compare(actual.subarray(a, a + FINGERPRINT_BYTES), expected.subarray(a, a + FINGERPRINT_BYTES)) !== 0) bad.push(i);
  }
  return bad;
}

/**
 * Offered and verified chunks are decoded into the scratch a group at a time
 * and their fingerprints checked side by side: 1 MiB is dozens of chunks,
 * enough to fill the lanes, and it stays allocated in every worker.
 */
const CHECK_GROUP_BYTES = 1 << 20;
let decodeScratch = Buffer.alloc(0);

/** The scratch, at least `bytes` long, its first `keep` bytes kept if it had to grow. */
function scratchOf(bytes: number, keep = 0): Buffer {
  if (decodeScratch.length < bytes) {
    const grown = Buffer.allocUnsafeSlow(Math.max(bytes, CHECK_GROUP_BYTES));
    decodeScratch.copy(grown, 0, 0, keep);
    decodeScratch = grown;
  }
  return decodeScratch;
}

/**
 * Checks offered chunks and builds records for those to keep. Nothing is
 * trusted: each payload is decoded into exactly its claimed raw length (zstd
 * cannot write past it, so a hostile frame cannot inflate memory) and must
 * hash to its fingerprint. The first bad chunk fails the whole job.
 */
function admit(job: AdmitJob): JobResult {
  const frame = Buffer.from(job.frame.buffer, job.frame.byteOffset, job.frame.byteLength);
  const c = job.chunks;
  const n = c.length / ADMIT_FIELDS;
  let outBytes = 0;
  for (let i = 0; i < c.length; i += ADMIT_FIELDS) if (c[i + 5] === 1) outBytes += RECORD_HEADER_BYTES + c[i + 2]!;
  // Raw lengths are the sender's claims (highly compressible payloads can claim
  // a lot), so the scratch holds a bounded group of chunks, never the whole frame.
  for (let first = 0; first < n; ) {
    let groupBytes = 0;
    let end = first;
    while (end < n && (end === first || groupBytes + c[end * ADMIT_FIELDS + 1]! <= CHECK_GROUP_BYTES)) groupBytes += c[end++ * ADMIT_FIELDS + 1]!;
    admitGroup(frame, c, first, end, groupBytes);
    first = end;
  }
  const out = Buffer.allocUnsafeSlow(outBytes);
  let o = 0;
  for (let i = 0; i < c.length; i += ADMIT_FIELDS) {
    const [fpAt, rawLength, storedLength, codec, payloadAt, keep] = [c[i]!, c[i + 1]!, c[i + 2]!, c[i + 3]!, c[i + 4]!, c[i + 5]!];
    if (keep !== 1) continue;
    const payload = frame.subarray(payloadAt, payloadAt + storedLength);
    writeRecordHeader(out, o, {
      kind: ChunkKind.Data,
      codec,
      rawLength,
      storedLength,
      fingerprint: frame.subarray(fpAt, fpAt + FINGERPRINT_BYTES),
      payloadChecksum: xxh64(payload),
    });
    payload.copy(out, o + RECORD_HEADER_BYTES);
    o += RECORD_HEADER_BYTES + storedLength;
  }
  const value: AdmitResult = { records: out };
  return { value, transfer: [out.buffer] };
}

/** Decodes chunks [first, end) of an admit job and checks their fingerprints; the first bad one throws. */
function admitGroup(frame: Buffer, c: Uint32Array, first: number, end: number, rawBytes: number): void {
  const scratch = scratchOf(rawBytes);
  const ends = new Uint32Array(end - first);
  const claimed = Buffer.allocUnsafe((end - first) * FINGERPRINT_BYTES);
  let r = 0;
  for (let index = first; index < end; index++) {
    const i = index * ADMIT_FIELDS;
    const [fpAt, rawLength, storedLength, codec, payloadAt] = [c[i]!, c[i + 1]!, c[i + 2]!, c[i + 3]!, c[i + 4]!];
    frame.copy(claimed, (index - first) * FINGERPRINT_BYTES, fpAt, fpAt + FINGERPRINT_BYTES);
    try {
      codecAt(0).decodeInto(codec, frame.subarray(payloadAt, payloadAt + storedLength), scratch.subarray(r, r + rawLength));
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      // A chunk before it that does not hash to its fingerprint is the first bad one.
      const bad = mismatches(scratch, ends.subarray(0, index - first), claimed)[0];
      if (bad !== undefined) throw new CorruptRecordError('does not hash to its fingerprint', first + bad);
      throw new CorruptRecordError(`does not decode to its ${rawLength} bytes (${err.message})`, index);
    }
    r += rawLength;
    ends[index - first] = r;
  }
  const bad = mismatches(scratch, ends, claimed)[0];
  if (bad !== undefined) throw new CorruptRecordError('does not hash to its fingerprint', first + bad);
}

/**
 * Fully checks every record at the given offsets of a span: header, checksum,
 * codec, fingerprint. Decoded records gather in the scratch and their
 * fingerprints are checked a group at a time, side by side.
 */
function verify(job: VerifyJob): JobResult {
  const span = Buffer.from(job.span.buffer, job.span.byteOffset, job.span.byteLength);
  const results: VerifiedRecord[] = [];
  /** Decoded and waiting for their fingerprint check: result, end in the scratch, and the fingerprint its header names. */
  let waiting: { result: VerifiedRecord; end: number; fingerprint: Buffer }[] = [];
  let used = 0;
  const check = (): void => {
    const ends = Uint32Array.from(waiting, (w) => w.end);
    for (const w of waiting) w.result.ok = true;
    for (const i of mismatches(decodeScratch, ends, Buffer.concat(waiting.map((w) => w.fingerprint)))) {
      waiting[i]!.result.ok = false;
      waiting[i]!.result.reason = 'chunk does not hash to its fingerprint';
    }
    waiting = [];
    used = 0;
  };
  for (const at of job.offsets) {
    try {
      const h = readRecordHeader(span, at);
      const payload = span.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + h.storedLength);
      if (payload.length !== h.storedLength) throw new FormatError('record payload truncated');
      if (xxh64(payload) !== h.payloadChecksum) throw new FormatError('record payload checksum mismatch');
      // Every record is a chunk or a recipe node: a header that claims more was written to mislead.
      if (h.rawLength > MAX_CHUNK_SIZE) throw new FormatError(`record claims ${h.rawLength} raw bytes, more than any chunk`);
      if (waiting.length > 0 && used + h.rawLength > CHECK_GROUP_BYTES) check();
      codecAt(0).decodeInto(h.codec, payload, scratchOf(used + h.rawLength, used).subarray(used, used + h.rawLength));
      used += h.rawLength;
      const result: VerifiedRecord = {
        offset: at,
        ok: false,
        fingerprint: h.fingerprint.toString('hex'),
        kind: h.kind as ChunkKind,
        rawLength: h.rawLength,
        storedLength: h.storedLength,
      };
      waiting.push({ result, end: used, fingerprint: h.fingerprint });
      results.push(result);
    } catch (err) {
      if (!(err instanceof FormatError || err instanceof CodecError)) throw err;
      results.push({ offset: at, ok: false, reason: err.message });
    }
  }
  if (waiting.length > 0) check();
  return { value: results };
}

serveJobs({ fingerprints, digestUpdate, encode, decode, verify, admit });
