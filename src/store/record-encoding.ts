import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { ChunkCodec, type Codec } from '../compute/codec.js';
import { RECORD_HEADER_BYTES, writeRecordHeader, xxh64, type ChunkKind } from './container-format.js';
import type { EncodeJob, EncodeResult } from './store-jobs.js';

const codecs = new Map<number, ChunkCodec>();

/** One codec per compression level, per thread: a codec keeps its zstd context between calls. */
export function codecAt(level: number): ChunkCodec {
  let c = codecs.get(level);
  if (!c) codecs.set(level, (c = new ChunkCodec(level)));
  return c;
}

/**
 * One chunk as a record at `at` in out: its header, then its payload
 * compressed by `codec` (or raw, where that does not shrink it). Returns the codec
 * the payload used and its stored length.
 */
export function writeRecord(
  out: Buffer,
  at: number,
  raw: Uint8Array,
  kind: ChunkKind,
  fingerprint: Buffer,
  codec: ChunkCodec,
): { codec: Codec; length: number } {
  const payloadAt = at + RECORD_HEADER_BYTES;
  if (payloadAt + raw.length > out.length) throw new Error('encode: output buffer too small');
  const stored = codec.encodeInto(raw, out, payloadAt);
  writeRecordHeader(out, at, {
    kind,
    codec: stored.codec,
    rawLength: raw.length,
    storedLength: stored.length,
    fingerprint,
    payloadChecksum: xxh64(out.subarray(payloadAt, payloadAt + stored.length)),
  });
  return stored;
}

/** Compresses each chunk of job.data into a record (header, then payload) in job.out, end to end. */
export function encodeRecords(job: EncodeJob): EncodeResult {
  const n = job.chunks.length / 2;
  const out = Buffer.from(job.out.buffer, job.out.byteOffset, job.out.byteLength);
  const storedLengths = new Uint32Array(n);
  const codecIds = new Uint8Array(n);
  const codec = codecAt(job.level);
  const fps = Buffer.from(job.fingerprints.buffer, job.fingerprints.byteOffset, job.fingerprints.byteLength);
  let o = 0;
  for (let i = 0; i < n; i++) {
    const start = job.chunks[2 * i]!;
    const raw = job.data.subarray(start, start + job.chunks[2 * i + 1]!);
    const { codec: used, length } = writeRecord(out, o, raw, job.kind, fps.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES), codec);
    storedLengths[i] = length;
    codecIds[i] = used;
    o += RECORD_HEADER_BYTES + length;
  }
  return { length: o, storedLengths, codecs: codecIds };
}
