/*
 * The mover's worker thread: fingerprints of cut batches, and the chunks
 * frames of the chunks a unit lacks (compressed here, so the server only
 * checks them), off the thread that reads the source and talks to the server.
 */
import { FINGERPRINT_BYTES, fingerprintAll } from '../chunking/fingerprint.js';
import { ChunkCodec } from '../compute/codec.js';
import { serveJobs, type JobResult } from '../compute/worker-host.js';
import { chunkPayloadsStart, FrameKind, storedLengthBound, writeChunkDescriptor, writeFrameHeader } from '../wire/frames.js';
import type { FingerprintsJob, PackJob } from './mover-jobs.js';

const codecs = new Map<number, ChunkCodec>();
function codecAt(level: number): ChunkCodec {
  let c = codecs.get(level);
  if (!c) codecs.set(level, (c = new ChunkCodec(level)));
  return c;
}

function fingerprints(job: FingerprintsJob): JobResult {
  const out = fingerprintAll(job.data, job.cuts);
  return { value: out, transfer: [out.buffer as ArrayBuffer] };
}

/** A chunks frame holding the chosen chunks of a batch, each compressed (or raw when that is smaller). */
function pack(job: PackJob): JobResult {
  const n = job.chunks.length / 2;
  let bound = chunkPayloadsStart(n);
  for (let i = 0; i < n; i++) bound += storedLengthBound(job.chunks[2 * i + 1]!);
  const frame = Buffer.allocUnsafeSlow(bound);
  writeFrameHeader(frame, { kind: FrameKind.Chunks, count: n, sequence: 0 });
  const codec = codecAt(job.level);
  let o = chunkPayloadsStart(n);
  for (let i = 0; i < n; i++) {
    const start = job.chunks[2 * i]!;
    const raw = job.data.subarray(start, start + job.chunks[2 * i + 1]!);
    const { codec: used, length } = codec.encodeInto(raw, frame, o);
    writeChunkDescriptor(frame, i, job.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES), raw.length, length, used);
    o += length;
  }
  return { value: { frame, length: o }, transfer: [frame.buffer as ArrayBuffer] };
}

serveJobs({ fingerprints, pack });
