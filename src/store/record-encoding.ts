import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { ChunkCodec } from '../compute/codec.js';
import { RECORD_HEADER_BYTES, writeRecordHeader, xxh64 } from './container-format.js';
import type { EncodeJob, EncodeResult } from './store-jobs.js';

const codecs = new Map<number, ChunkCodec>();

/** One codec per compression level, per thread: a codec keeps its zstd context between calls. */
export function codecAt(level: number): ChunkCodec {
  let c = codecs.get(level);
  if (!c) codecs.set(level, (c = new ChunkCodec(level)));
  return c;
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
    const payloadAt = o + RECORD_HEADER_BYTES;
    if (payloadAt + raw.length > out.length) throw new Error('encode: output buffer too small');
    const { codec: used, length } = codec.encodeInto(raw, out, payloadAt);
    writeRecordHeader(out, o, {
      kind: job.kind,
      codec: used,
      rawLength: raw.length,
      storedLength: length,
      fingerprint: fps.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES),
      payloadChecksum: xxh64(out.subarray(payloadAt, payloadAt + length)),
    });
    storedLengths[i] = length;
    codecIds[i] = used;
    o = payloadAt + length;
  }
  return { length: o, storedLengths, codecs: codecIds };
}
