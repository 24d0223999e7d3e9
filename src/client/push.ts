import { ChunkBatcher, type ChunkBatch } from '../chunking/chunk-batcher.js';
import { createCutFinder } from '../chunking/cut-finder.js';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { CHUNK_DESCRIPTOR_BYTES, FRAME_HEADER_BYTES, storedLengthBound } from '../wire/frames.js';
import { BatchBuffers } from '../compute/batch-buffers.js';
import type { UnitDescription } from '../wire/messages.js';
import { MoverError, type MoverConnection, type WireCounters } from './connection.js';
import { abortSession, commitSession, describeUnit, openSession, queryMissing, sendChunks, sendRecipe } from './ingest-calls.js';
import { MoverCompute } from './mover-compute.js';

export interface PushOptions {
  unit: string;
  key: string;
  contentType?: string;
  userMetadata?: Record<string, string>;
  /** Called as the push goes (a few times a second at most is the caller's business). */
  onProgress?: (p: PushProgress) => void;
  signal?: AbortSignal;
  /** Bytes cut and fingerprinted at a time (default 4 MiB). */
  batchBytes?: number;
  /** Batches of this stream between the source and the server at once: bounds its memory (default 16). */
  batchesInFlight?: number;
  /** Batches whose fingerprints go in one query (default 8: about a thousand fingerprints at 32 KiB chunks). */
  queryBatches?: number;
}

export interface PushProgress {
  /** Bytes read from the source so far. */
  bytesRead: number;
  /** Of those, bytes whose chunks the unit already held (or that repeated within the stream): not sent. */
  bytesDeduplicated: number;
  chunks: number;
  newChunks: number;
  /** Bytes written to the network so far (every request of this push, headers included). */
  wireSent: number;
}

export interface PushResult {
  unit: string;
  key: string;
  etag: string;
  /** Logical bytes: the object's size. */
  size: number;
  chunks: number;
  /** Chunks the unit lacked, sent compressed. */
  newChunks: number;
  /** Their raw bytes, and the bytes they took on the wire as frame payloads. */
  newBytes: number;
  chunkBytesSent: number;
  /** Exact bytes on the wire for this push, both ways. */
  wire: WireCounters;
  seconds: number;
}

const MIB = 1024 * 1024;
/** Entries per recipe frame: about 600 KB. */
const RECIPE_FRAME_ENTRIES = 16384;
/** Fingerprints this stream remembers having sent: repeats within that window are not sent twice. */
const SENT_WINDOW = 1 << 17;

interface Pending {
  batch: ChunkBatch;
  fingerprints: Promise<Buffer>;
}

/**
 * Pushes a stream into a unit as one object, sending only the chunks the unit
 * lacks: the source is cut and fingerprinted here (on worker threads), the
 * unit is asked which fingerprints it lacks a thousand at a time, those
 * chunks go compressed, then the recipe, then a commit that makes the object
 * appear whole. A push that is interrupted leaves no object; run again, it
 * sends only what did not arrive the first time.
 */
export async function push(conn: MoverConnection, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, o: PushOptions): Promise<PushResult> {
  const started = process.hrtime.bigint();
  const wire0 = { ...conn.wire };
  const desc = await describeUnit(conn, o.unit, o.signal);
  const session = (
    await openSession(
      conn,
      o.unit,
      { key: o.key, ...(o.contentType !== undefined && { contentType: o.contentType }), ...(o.userMetadata && { userMetadata: o.userMetadata }) },
      o.signal,
    )
  ).session;
  const stream = new PushStream(conn, desc, session, o, wire0);
  try {
    const r = await stream.run(source);
    return { ...r, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (err) {
    stream.fail(err as Error);
    await abortSession(conn, session);
    throw err;
  } finally {
    stream.dispose();
  }
}

/** One push's pipeline: batches in, queries, chunk frames and recipe frames out, in order. */
class PushStream {
  private readonly compute = MoverCompute.shared();
  private readonly buffers: BatchBuffers;
  private readonly batchSize: number;
  private readonly queryBatches: number;
  private group: Pending[] = [];
  private queryTail: Promise<unknown> = Promise.resolve();
  private recipeTail: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private readonly sent = new Set<string>();
  private recipeFps: Buffer[] = [];
  private recipeLengths: number[] = [];
  private recipeSent = 0;
  private readonly progress: PushProgress = { bytesRead: 0, bytesDeduplicated: 0, chunks: 0, newChunks: 0, wireSent: 0 };
  private size = 0;
  private newBytes = 0;
  private chunkBytesSent = 0;

  constructor(
    private readonly conn: MoverConnection,
    private readonly desc: UnitDescription,
    private readonly session: string,
    private readonly o: PushOptions,
    private readonly wire0: WireCounters,
  ) {
    const limits = desc.limits;
    // The batcher needs room for two chunks of the largest size; frames are split to the server's limits (upload).
    this.batchSize = Math.max(o.batchBytes ?? 4 * MIB, 2 * desc.chunking.maxSize);
    this.queryBatches = Math.max(1, Math.min(o.queryBatches ?? 8, Math.floor(limits.maxQueryFingerprints / (this.batchSize / desc.chunking.minSize + 1))));
    this.buffers = new BatchBuffers(this.compute.slots, Math.max(2, o.batchesInFlight ?? 16), this.batchSize, desc.chunking.minSize, false);
  }

  async run(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Omit<PushResult, 'seconds'>> {
    const cutter = createCutFinder(this.desc.chunking);
    await this.buffers.waitForRoom();
    const batcher = new ChunkBatcher(cutter, this.buffers.allocate, this.batchSize);
    for await (const piece of source) {
      this.check();
      this.progress.bytesRead += piece.length;
      for (let at = 0; at < piece.length; at += batcher.maxPush) {
        await this.buffers.waitForRoom();
        for (const batch of batcher.push(piece.subarray(at, at + batcher.maxPush))) this.submit(batch);
      }
    }
    for (const batch of batcher.finish()) this.submit(batch);
    this.flushGroup();
    await this.recipeTail;
    this.check();
    await this.sendRecipeFrame(true);
    const committed = await commitSession(this.conn, this.session, this.size, this.progress.chunks, this.o.signal);
    this.report();
    return {
      unit: this.o.unit,
      key: committed.key,
      etag: committed.etag,
      size: committed.size,
      chunks: this.progress.chunks,
      newChunks: this.progress.newChunks,
      newBytes: this.newBytes,
      chunkBytesSent: this.chunkBytesSent,
      wire: { sent: this.conn.wire.sent - this.wire0.sent, received: this.conn.wire.received - this.wire0.received },
    };
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.buffers.fail(err);
  }

  dispose(): void {
    this.buffers.dispose();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.o.signal?.aborted) throw this.o.signal.reason instanceof Error ? this.o.signal.reason : new Error('push aborted');
  }

  private submit(batch: ChunkBatch): void {
    this.check();
    const fingerprints = this.compute.fingerprints(batch.data, batch.cuts);
    fingerprints.catch(() => undefined); // observed in the group's turn
    this.group.push({ batch, fingerprints });
    if (this.group.length >= this.queryBatches) this.flushGroup();
  }

  /** Queries the group (after the groups before it), then uploads its missing chunks; its recipe follows theirs. */
  private flushGroup(): void {
    if (this.group.length === 0) return;
    const group = this.group;
    this.group = [];
    const queried = this.queryTail.then(async () => {
      const fps = await Promise.all(group.map((p) => p.fingerprints));
      this.check();
      return { fps, missing: await queryMissing(this.conn, this.session, Buffer.concat(fps), this.o.signal) };
    });
    this.queryTail = queried.catch(() => undefined);
    const uploaded = queried.then(async ({ fps, missing }) => {
      let at = 0;
      await Promise.all(
        group.map((p, i) => {
          const first = at;
          at += p.batch.cuts.length;
          return this.upload(p.batch, fps[i]!, missing, first);
        }),
      );
      return fps;
    });
    this.recipeTail = Promise.all([uploaded, this.recipeTail]).then(async ([fps]) => {
      group.forEach((p, i) => this.addToRecipe(p.batch, fps[i]!));
      if (this.recipeLengths.length >= RECIPE_FRAME_ENTRIES) await this.sendRecipeFrame(false);
    });
    this.recipeTail.catch((err: Error) => this.fail(err));
  }

  /** Packs and sends the chunks of a batch the unit lacks (missing[first + i] for chunk i), then frees the batch. */
  private async upload(batch: ChunkBatch, fps: Buffer, missing: boolean[], first: number): Promise<void> {
    try {
      const chosen: number[] = [];
      const chosenFps: Buffer[] = [];
      let start = 0;
      for (let i = 0; i < batch.cuts.length; i++) {
        const end = batch.cuts[i]!;
        const key = fps.toString('latin1', i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
        if (missing[first + i] && !this.sent.has(key)) {
          this.remember(key);
          chosen.push(start, end - start);
          chosenFps.push(fps.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES));
          this.newBytes += end - start;
          this.progress.newChunks++;
        } else {
          this.progress.bytesDeduplicated += end - start;
        }
        start = end;
      }
      // Frames within the server's limits, counting each chunk at its worst case (zstd's bound).
      const limits = this.desc.limits;
      for (let from = 0; from < chosenFps.length; ) {
        let to = from;
        let bytes = FRAME_HEADER_BYTES;
        while (to < chosenFps.length && to - from < limits.maxFrameChunks) {
          const need = CHUNK_DESCRIPTOR_BYTES + storedLengthBound(chosen[2 * to + 1]!);
          if (to > from && bytes + need > limits.maxFrameBytes) break;
          bytes += need;
          to++;
        }
        this.check();
        const frame = await this.compute.pack(batch.data, Uint32Array.from(chosen.slice(2 * from, 2 * to)), Buffer.concat(chosenFps.slice(from, to)), this.desc.compression.level);
        this.chunkBytesSent += frame.length;
        await sendChunks(this.conn, this.session, frame, this.o.signal);
        from = to;
      }
    } finally {
      this.buffers.release(batch.buffer);
      this.report();
    }
  }

  private remember(key: string): void {
    if (this.sent.size >= SENT_WINDOW) this.sent.delete(this.sent.values().next().value as string);
    this.sent.add(key);
  }

  private addToRecipe(batch: ChunkBatch, fps: Buffer): void {
    let start = 0;
    for (let i = 0; i < batch.cuts.length; i++) {
      this.recipeLengths.push(batch.cuts[i]! - start);
      start = batch.cuts[i]!;
    }
    this.recipeFps.push(fps);
    this.size += start;
    this.progress.chunks += batch.cuts.length;
  }

  private async sendRecipeFrame(final: boolean): Promise<void> {
    while (this.recipeLengths.length >= RECIPE_FRAME_ENTRIES || (final && this.recipeLengths.length > 0)) {
      const all = Buffer.concat(this.recipeFps);
      const n = Math.min(RECIPE_FRAME_ENTRIES, this.recipeLengths.length);
      const lengths = this.recipeLengths.slice(0, n);
      const r = await sendRecipe(this.conn, this.session, this.recipeSent, all.subarray(0, n * FINGERPRINT_BYTES), lengths, this.o.signal);
      this.recipeSent += n;
      if (r.entries !== this.recipeSent) throw new MoverError(`the server holds ${r.entries} recipe entries; ${this.recipeSent} were sent`, 409, 'out-of-sequence');
      this.recipeFps = all.length > n * FINGERPRINT_BYTES ? [all.subarray(n * FINGERPRINT_BYTES)] : [];
      this.recipeLengths = this.recipeLengths.slice(n);
    }
  }

  private report(): void {
    this.progress.wireSent = this.conn.wire.sent - this.wire0.sent;
    this.o.onProgress?.({ ...this.progress });
  }
}
