import { ChunkBatcher, type ChunkBatch } from '../chunking/chunk-batcher.js';
import { FINGERPRINT_BYTES, fingerprint, fingerprintAll } from '../chunking/fingerprint.js';
import { STREAM_SHA256_RIDES } from '../chunking/stream-sha256.js';
import { native } from '../chunking/native.js';
import { BatchBuffers } from '../compute/batch-buffers.js';
import {
  ChunkKind,
  RECORD_HEADER_BYTES,
  type RecordEntry,
} from './container-format.js';
import { EntityTooLargeError } from './errors.js';
import { OwedDigests, type BatchDigests } from './owed-digests.js';
import { isPushSource, type ByteSource, type Landing, type PushSource } from './push-source.js';
import { RecordAppender } from './record-appender.js';
import type { ChunkRow } from './index-db.js';
import { fingerprintKey } from './locality-cache.js';
import type { EdgeBytes, EdgeCapture } from './part-edges.js';
import { RecipeBuilder } from './recipe-builder.js';
import { writeRecord } from './record-encoding.js';
import type { EncodeResult, StreamDigest } from './store-jobs.js';
import type { StoreContext } from './store-context.js';
import { HERE_BYTES } from './store-compute.js';

/** What a stream became once every chunk is stored, before the commit. */
export interface IngestResult {
  size: number;
  md5: Buffer;
  /** When asked for (a payload signed by its SHA-256). */
  sha256?: Buffer;
  root: Buffer | null;
  height: number;
  chunkCount: number;
  /** When asked for (a part of a multipart upload). */
  edges?: EdgeBytes;
}

export type ComposedResult = Omit<IngestResult, 'md5' | 'edges'>;

interface Classified {
  encoded: Promise<EncodeResult> | null;
  /** Where the encoded records are: the output buffer paired with the batch. */
  out: Uint8Array | null;
  rawLengths: number[];
  fingerprints: Buffer | null;
  nodes: PendingRecords[];
}

/** Stored chunks that fall between a batch's fresh ones: after the first `after` of them. */
interface StoredRun {
  after: number;
  chunks: readonly NamedChunk[];
}

/** A chunk named by its fingerprint and length, stored and committed already. */
export type NamedChunk = { fingerprint: Uint8Array; rawLength: number };

/** Fresh bytes of a composed recipe gathered into one batch, with the stored chunks named among them. */
interface Gathering {
  buffer: Uint8Array;
  fill: number;
  cuts: number[];
  stored: StoredRun[];
}

interface PendingRecords {
  records: Uint8Array;
  entries: RecordEntry[];
}

const noop = (): void => undefined;

/**
 * Turns one stream into stored chunks and a recipe, then commits it as an
 * object. The pipeline per batch: fingerprints and MD5 on workers, dedup
 * lookups on this thread (in stream order), compression of the new chunks on
 * workers, appends to this stream's container (in stream order). Chunks are
 * staged as they land and join the index only in the commit transaction.
 */
export class ObjectWriter {
  private static nextSession = 1;
  readonly session = ObjectWriter.nextSession++;
  private readonly stream: number;
  private readonly buffers: BatchBuffers;
  private readonly recipe: RecipeBuilder;
  private readonly appender: RecordAppender;
  /** Decided new in this stream, not yet written. */
  private readonly inflight = new Set<string>();
  private readonly recent = new RecentKeys(1 << 16);
  /** Chunks of other uncommitted streams this one dedups against. */
  private foreign: ChunkRow[] = [];
  /** Containers of the foreign chunks staged so far, with those chunks' fingerprints. */
  private readonly leaned = new Map<number, Buffer[]>();
  private pendingNodes: PendingRecords[] = [];
  private classifyTail: Promise<unknown> = Promise.resolve();
  private writeTail: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  private failure: Error | null = null;
  private chunkCount = 0;
  /** Bytes named so far by a composed recipe. */
  private recipeSize = 0;
  private readonly batchBytes: number;
  /** Whether the workers hold digest state for this stream (an update was sent and no final yet). */
  private digestsOpen = false;
  private readonly digests: StreamDigest[];
  private readonly shaRides: boolean;
  private phase: 'ingesting' | 'ingested' | 'committing' | 'committed' | 'aborted' = 'ingesting';
  private committing: Promise<unknown> | null = null;
  private readonly edges: EdgeCapture | null;
  /** The batch fresh bytes of a composed recipe are gathering in, not yet submitted. */
  private gathering: Gathering | null = null;
  /**
   * The push source being taken from, until its run settles. It may have a
   * read aimed at a batch buffer (landing), so it is stopped before this
   * stream's buffers go back to the pool.
   */
  private taking: { source: PushSource; run: Promise<void> } | null = null;
  /** Digests the push source left this stream to work out and check (its signed chunks), if it took any. */
  private owed: OwedDigests | null = null;

  constructor(
    private readonly ctx: StoreContext,
    /**
     * Digests of the bytes ingested (none for a composed recipe, whose ETag is
     * not their MD5), and, for a part, what takes its first bytes, last chunk
     * and chunk list as the batches go by.
     */
    options: { sha256?: boolean; md5?: boolean; edges?: EdgeCapture } = {},
  ) {
    this.edges = options.edges ?? null;
    this.digests = [...(options.md5 === false ? [] : ['md5' as const]), ...(options.sha256 ? ['sha256' as const] : [])];
    // The SHA-256 of a body signed by its hash rides along the MD5 on the MD5's worker (see StreamSha256).
    this.shaRides = this.digests[0] === 'md5' && this.digests[1] === 'sha256' && STREAM_SHA256_RIDES;
    this.stream = ctx.compute.newStream();
    const p = ctx.cutter.parameters;
    this.batchBytes = Math.max(ctx.settings.batchSize, 2 * p.maxSize);
    this.buffers = new BatchBuffers(ctx.compute.slots, ctx.settings.batchesInFlight, this.batchBytes, p.minSize);
    this.recipe = new RecipeBuilder((node, level) => this.storeNode(node, level));
    this.appender = new RecordAppender(ctx.containers);
  }

  /** Reads the whole source into chunks and a recipe. Throws (and leaves nothing behind after abort()) on failure. */
  async ingest(source: ByteSource, sizeLimit = Number.POSITIVE_INFINITY): Promise<IngestResult> {
    if (this.digests[0] !== 'md5') throw new Error('an ingested stream needs its MD5 (the ETag)');
    await this.buffers.waitForRoom();
    const batcher = new ChunkBatcher(this.ctx.cutter, this.buffers.allocate, this.ctx.settings.batchSize);
    const size = isPushSource(source) ? await this.takeAll(source, batcher, sizeLimit) : await this.readAll(source, batcher, sizeLimit);
    const last = batcher.finish();
    const whole = last[0]?.data ?? new Uint8Array(0);
    // A stream that is one small batch in all (most of a backup's metadata) has
    // its digests taken here, as its other jobs are (see HERE_BYTES).
    const small = !this.digestsOpen && last.length <= 1 && whole.byteLength <= HERE_BYTES;
    for (const batch of last) this.submit(batch, [], small);
    // The rest is a stream's tail, which a client waits out before it sends its
    // next part: its steps run beside each other rather than one after another.
    // A worker takes one stream's digest jobs in order, so the final can go now.
    const digests = small
      ? Promise.resolve(this.ctx.compute.digestsHere(whole, this.digests))
      : this.finals(!this.digestsOpen);
    this.digestsOpen = false;
    this.track(digests);
    await this.classifyTail;
    this.owed?.finish();
    const { root, height } = this.recipe.finish();
    this.enqueueWrite(Promise.resolve(this.nodesOnly()));
    await this.writeTail;
    if (this.failure) throw this.failure;
    // Every record is written: the containers' fsync starts while the digests
    // finish and the caller checks them. commit() waits for it (a failure
    // surfaces there: a failed container refuses every later sync).
    this.appender.sync().catch(noop);
    const [md5, sha256] = await digests;
    this.phase = 'ingested';
    return { size, md5: md5!, ...(sha256 && { sha256 }), root, height, chunkCount: this.chunkCount, ...(this.edges && { edges: this.edges.result() }) };
  }

  private async readAll(source: AsyncIterable<Uint8Array>, batcher: ChunkBatcher, sizeLimit: number): Promise<number> {
    let size = 0;
    for await (const piece of source) {
      size += piece.length;
      if (size > sizeLimit) throw new EntityTooLargeError(sizeLimit);
      for (let o = 0; o < piece.length; o += batcher.maxPush) {
        const part = piece.subarray(o, o + batcher.maxPush);
        // A slot for the next batch only when this push fills the current one: a small object
        // holds one slot, not two, and many at once do not push the pool into allocating more.
        if (part.length >= batcher.room) await this.buffers.waitForRoom();
        for (const batch of batcher.push(part)) this.submit(batch);
      }
    }
    return size;
  }

  /**
   * Takes what a push source offers straight into the batch buffers. The slot
   * for the next batch is reserved as soon as one is cut, so the source rarely
   * stops; when it has none, everything but the byte that would need it is
   * taken and the source waits for it.
   */
  private async takeAll(source: PushSource, batcher: ChunkBatcher, sizeLimit: number): Promise<number> {
    let size = 0;
    const wait: { paused: boolean; reserving: Promise<void> | null; refused: unknown } = { paused: false, reserving: null, refused: null };
    const settle = (err: unknown): void => {
      wait.reserving = null;
      wait.refused ??= err;
      if (wait.paused) {
        wait.paused = false;
        source.resume();
      }
    };
    const reserve = (): void => {
      wait.reserving ??= this.buffers.waitForRoom().then(() => settle(null), settle);
    };
    // A batch is filled only once the next batch's slot is reserved (a full
    // batch is cut at once); until then a push stops a byte short of it.
    const fillable = (): number => batcher.room - (this.buffers.ready ? 0 : 1);
    // A source that reads (a socket) may read straight into the batch's free
    // end, at most what may be filled, so that every read landed there is
    // taken whole; a last byte that must wait for the slot waits as a paused read.
    const landing: Landing = (most) => {
      if (wait.paused || wait.refused || this.failure) return null;
      const free = batcher.free;
      const room = fillable();
      if (room > 0) return { into: free.subarray(0, Math.min(most, room)), pause: false };
      wait.paused = true;
      reserve();
      return { into: free, pause: true };
    };
    // Signed chunks the source leaves to us are hashed beside the batches (see OwedDigests).
    this.owed = new OwedDigests();
    const run = source.run((bytes) => {
      if (wait.refused) throw wait.refused;
      if (this.failure) throw this.failure;
      if (size + bytes.length > sizeLimit) throw new EntityTooLargeError(sizeLimit);
      let o = 0;
      while (o < bytes.length) {
        let n = Math.min(bytes.length - o, batcher.maxPush);
        if (n >= batcher.room && !this.buffers.ready) {
          n = fillable();
          if (n <= 0) {
            wait.paused = true;
            break;
          }
        }
        for (const batch of batcher.push(bytes.subarray(o, o + n))) this.submit(batch);
        o += n;
      }
      if (!this.buffers.ready) reserve();
      size += o;
      return o;
    }, landing, this.owed);
    this.taking = { source, run };
    try {
      await run;
    } finally {
      this.taking = null;
    }
    // A reservation still under way would take its slot after the stream has given its slots back.
    while (wait.reserving) await wait.reserving;
    if (wait.refused) throw wait.refused;
    return size;
  }

  /**
   * The next chunks of the recipe: ones the caller knows are committed (the
   * parts of a multipart upload, the chunks a mover client names). No data is
   * read or written, only recipe nodes. They take their place after any fresh
   * bytes added before them.
   */
  addStored(chunks: readonly NamedChunk[]): void {
    this.checkAdding();
    for (const c of chunks) this.recipeSize += c.rawLength;
    if (this.gathering) {
      this.gathering.stored.push({ after: this.gathering.cuts.length, chunks });
      return;
    }
    const added = this.classifyTail.then(() => {
      if (this.failure) throw this.failure;
      this.addStoredNow(chunks);
      return this.nodesOnly();
    });
    this.classifyTail = added;
    this.track(added);
    this.enqueueWrite(added);
  }

  /**
   * New bytes, already cut (`cuts`: the end of each chunk within data), for a
   * recipe that is otherwise stored chunks: the seams of a multipart upload.
   * They are deduplicated and stored like a stream's; data is copied, and may
   * be reused once this returns. Seams are a few dozen KiB each and a
   * completion has one per part, so they gather into whole batches with the
   * stored chunks between them noted in place: a batch slot and a round trip
   * through the workers per seam made the slots, not the work, what a
   * completion waited on.
   */
  async addFresh(data: Uint8Array, cuts: Uint32Array): Promise<void> {
    let from = 0;
    let i = 0;
    while (i < cuts.length) {
      this.checkAdding();
      if (this.gathering && cuts[i]! - from > this.batchBytes - this.gathering.fill) this.submitGathered();
      if (!this.gathering) {
        await this.buffers.waitForRoom();
        this.checkAdding();
        this.gathering = { buffer: this.buffers.allocate(this.batchBytes), fill: 0, cuts: [], stored: [] };
      }
      const g = this.gathering;
      let j = i;
      while (j < cuts.length && cuts[j]! - from <= this.batchBytes - g.fill) j++;
      if (j === i) throw new RangeError(`a chunk of ${cuts[i]! - from} bytes does not fit a batch`);
      const end = cuts[j - 1]!;
      native.copy(g.buffer, g.fill, data.subarray(from, end));
      for (let k = i; k < j; k++) g.cuts.push(g.fill + cuts[k]! - from);
      g.fill += end - from;
      this.recipeSize += end - from;
      from = end;
      i = j;
    }
  }

  private submitGathered(): void {
    const g = this.gathering!;
    this.gathering = null;
    this.submit({ data: g.buffer.subarray(0, g.fill), cuts: Uint32Array.from(g.cuts), buffer: g.buffer }, g.stored);
  }

  /** Ends a recipe of stored chunks and fresh bytes: its last nodes are written, ready for the commit. */
  async finishComposed(): Promise<ComposedResult> {
    if (this.failure) throw this.failure;
    if (this.gathering) this.submitGathered();
    await this.classifyTail;
    this.owed?.finish();
    const { root, height } = this.recipe.finish();
    this.enqueueWrite(Promise.resolve(this.nodesOnly()));
    await this.writeTail;
    if (this.failure) throw this.failure;
    this.phase = 'ingested';
    return { size: this.recipeSize, root, height, chunkCount: this.chunkCount };
  }

  private checkAdding(): void {
    if (this.failure) throw this.failure;
    if (this.phase !== 'ingesting') throw new Error(`cannot add to a stream that is ${this.phase}`);
  }

  /**
   * Makes the stream durable and visible: the containers holding its new
   * chunks are synced, then its chunks and what `write` records (an object
   * row, a part) are committed together. `write` runs inside the transaction
   * and may throw to refuse the commit.
   */
  async commit<T>(write: () => T): Promise<T> {
    if (this.phase !== 'ingested') throw this.failure ?? new Error(`cannot commit a stream that is ${this.phase}`);
    this.phase = 'committing';
    const done = (async () => {
      this.flushForeign();
      await Promise.all([this.appender.sync(), this.ctx.containers.sync(this.leanedUncommitted())]);
      // An abort that came while the containers synced must win: its staged rows may be gone.
      if (this.failure) throw this.failure;
      return await this.ctx.index.commitStream(this.session, write);
    })();
    this.committing = done;
    try {
      const replaced = await done;
      this.phase = 'committed';
      await this.appender.release();
      await Promise.allSettled(this.inFlight);
      this.buffers.dispose();
      return replaced;
    } catch (err) {
      this.phase = 'ingested';
      throw err;
    }
  }

  /**
   * Forgets everything this stream staged, after letting work in flight settle.
   * A commit already under way is allowed to finish (an object it makes is
   * whole). Never throws.
   */
  async abort(): Promise<void> {
    if (this.committing) await this.committing.catch(noop);
    if (this.phase === 'committed' || this.phase === 'aborted') return;
    this.phase = 'aborted';
    const taking = this.taking;
    // Before anything else: a reservation failed below would resume the source.
    taking?.source.stop(new Error('stream aborted'));
    this.fail(new Error('stream aborted'));
    await taking?.run.catch(noop);
    await Promise.allSettled([...this.inFlight, this.classifyTail, this.writeTail]);
    this.buffers.dispose();
    try {
      this.ctx.index.dropStaged(this.session);
    } catch {
      // The index is closing; the staged rows die with the connection.
    }
    if (this.digestsOpen) {
      this.digestsOpen = false;
      await this.finals(false).catch(noop);
    }
    await this.appender.release();
  }

  /** here: the whole stream is this small batch; its jobs run on this thread, and its digests are taken apart. */
  private submit(batch: ChunkBatch, stored: readonly StoredRun[] = [], here = false): void {
    const { compute } = this.ctx;
    if (this.failure) throw this.failure;
    // A batch that feeds the stream's MD5 gets its fingerprints from the same pass (see md5WithFingerprints).
    const riding = !here && this.digests[0] === 'md5';
    // And, for a body signed by its hash, the stream's SHA-256 from the same pass too.
    const shaRiding = riding && this.shaRides;
    const first = !this.digestsOpen;
    const owed = this.owed?.take(batch.data) ?? null;
    if (owed && !riding) this.owed!.settle(owed, fingerprintAll(batch.data.subarray(owed.from, owed.from + owed.ends[owed.ends.length - 1]!), owed.ends));
    const answer = riding ? compute.md5WithFingerprints(this.stream, batch.data, batch.cuts, first, owed, shaRiding) : compute.fingerprints(batch.data, batch.cuts, here);
    // The owed ranges' digests follow the fingerprints, and are checked before the batch is classified: before the stream can commit.
    const fps = riding && owed ? answer.then((a) => this.settleOwed(owed, a, batch.cuts.length)) : answer;
    const others = here ? [] : this.digests.slice(riding ? (shaRiding ? 2 : 1) : 0).map((a) => compute.digestUpdate(this.stream, a, batch.data, first));
    const digested = Promise.all(riding ? [fps, ...others] : others);
    if (!here) this.digestsOpen = this.digests.length > 0;
    const classified = this.classifyTail.then(async () => this.classify(batch, await fps, stored, here));
    this.classifyTail = classified;
    const written = this.enqueueWrite(classified);
    // The buffer goes back once the batch has left the pipeline: no worker reads
    // it and its records are in the container. Counting the write too keeps a
    // slow disk from piling up compressed batches in memory.
    const done = Promise.allSettled([fps, digested, classified.then((c) => c.encoded), written]).then(() =>
      this.buffers.release(batch.buffer),
    );
    for (const p of [fps, digested, classified]) this.track(p);
    this.track(done);
  }

  /** The stream's digests, in the order asked for; first: no update was sent. */
  private async finals(first: boolean): Promise<Buffer[]> {
    const { compute } = this.ctx;
    if (!this.shaRides) return Promise.all(this.digests.map((a) => compute.digestFinal(this.stream, a, first)));
    const both = await compute.digestFinal(this.stream, 'md5', first, true);
    return [both.subarray(0, 16), both.subarray(16)];
  }

  private settleOwed(owed: BatchDigests, answer: Buffer, chunks: number): Buffer {
    this.owed!.settle(owed, answer.subarray(chunks * FINGERPRINT_BYTES));
    return answer.subarray(0, chunks * FINGERPRINT_BYTES);
  }

  private enqueueWrite(classified: Promise<Classified>): Promise<void> {
    const written = Promise.all([classified, this.writeTail]).then(([c]) => this.write(c));
    this.writeTail = written;
    this.track(written);
    return written;
  }

  /** Keeps a promise from going unhandled and turns its failure into the stream's. */
  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    p.then(
      () => this.inFlight.delete(p),
      (err: Error) => {
        this.inFlight.delete(p);
        this.fail(err);
      },
    );
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.buffers.fail(err);
  }

  private classify(batch: ChunkBatch, fps: Buffer, stored: readonly StoredRun[], here: boolean): Classified {
    if (this.failure) throw this.failure;
    this.edges?.take(batch, fps);
    const n = batch.cuts.length;
    const chunks: number[] = [];
    const newIndexes: number[] = [];
    const rawLengths: number[] = [];
    let start = 0;
    let run = 0;
    for (let i = 0; i < n; i++) {
      while (run < stored.length && stored[run]!.after === i) this.addStoredNow(stored[run++]!.chunks);
      const end = batch.cuts[i]!;
      const key = fingerprintKey(fps, i * FINGERPRINT_BYTES);
      if (!this.isKnown(fps, i * FINGERPRINT_BYTES, key)) {
        this.inflight.add(key);
        chunks.push(start, end - start);
        newIndexes.push(i);
        rawLengths.push(end - start);
      }
      this.recipe.add(fps, i * FINGERPRINT_BYTES, end - start);
      start = end;
    }
    while (run < stored.length) this.addStoredNow(stored[run++]!.chunks);
    this.chunkCount += n;
    let encoded: Promise<EncodeResult> | null = null;
    let newFps: Buffer | null = null;
    let out: Uint8Array | null = null;
    if (newIndexes.length > 0) {
      newFps = Buffer.allocUnsafe(newIndexes.length * FINGERPRINT_BYTES);
      newIndexes.forEach((i, j) => fps.copy(newFps!, j * FINGERPRINT_BYTES, i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES));
      out = this.buffers.outputFor(batch.buffer);
      encoded = this.ctx.compute.encode(
        batch.data,
        Uint32Array.from(chunks),
        newFps,
        ChunkKind.Data,
        this.ctx.settings.compressionLevel,
        out,
        here,
      );
    }
    return { encoded, out, rawLengths, fingerprints: newFps, nodes: this.takeNodes() };
  }

  private addStoredNow(chunks: readonly NamedChunk[]): void {
    for (const c of chunks) this.recipe.add(c.fingerprint, 0, c.rawLength);
    this.chunkCount += chunks.length;
  }

  /** fps holds the fingerprint at offset. */
  private isKnown(fps: Buffer, offset: number, key: string): boolean {
    if (this.inflight.has(key) || this.recent.has(key)) return true;
    const presence = this.ctx.directory.lookup(fps, offset, key);
    if (presence.state === 'absent') return false;
    if (presence.state === 'staged') {
      this.foreign.push(presence.row);
      this.recent.add(key);
    }
    return true;
  }

  /** Recipe nodes are small: fingerprinted and compressed right here, written after the batch's chunks. */
  private storeNode(node: Buffer, _level: number): Buffer {
    const fp = fingerprint(node);
    const key = fingerprintKey(fp);
    if (!this.isKnown(fp, 0, key)) {
      this.inflight.add(key);
      const records = Buffer.allocUnsafe(RECORD_HEADER_BYTES + node.length);
      const { codec, length } = writeRecord(records, 0, node, ChunkKind.Recipe, fp, this.ctx.nodeCodec);
      this.pendingNodes.push({
        records: records.subarray(0, RECORD_HEADER_BYTES + length),
        entries: [{ fingerprint: fp, offset: 0, rawLength: node.length, storedLength: length, kind: ChunkKind.Recipe, codec }],
      });
    }
    return fp;
  }

  /** A write stage carrying only the recipe nodes finished so far. */
  private nodesOnly(): Classified {
    return { encoded: null, out: null, rawLengths: [], fingerprints: null, nodes: this.takeNodes() };
  }

  private takeNodes(): PendingRecords[] {
    const nodes = this.pendingNodes;
    this.pendingNodes = [];
    return nodes;
  }

  private async write(c: Classified): Promise<void> {
    if (this.failure) throw this.failure;
    this.flushForeign();
    if (c.encoded) {
      const enc = await c.encoded;
      const entries: RecordEntry[] = [];
      let offset = 0;
      for (let i = 0; i < enc.storedLengths.length; i++) {
        entries.push({
          fingerprint: c.fingerprints!.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES),
          offset,
          rawLength: c.rawLengths[i]!,
          storedLength: enc.storedLengths[i]!,
          kind: ChunkKind.Data,
          codec: enc.codecs[i]!,
        });
        offset += RECORD_HEADER_BYTES + enc.storedLengths[i]!;
      }
      await this.append(c.out!.subarray(0, enc.length), entries);
    }
    for (const node of c.nodes) await this.append(node.records, node.entries);
  }

  /** Appends records (entry offsets relative to `records`); their rows are staged for the commit as they land. */
  private async append(records: Uint8Array, entries: RecordEntry[]): Promise<void> {
    const { index, directory } = this.ctx;
    await this.appender.append(
      records,
      entries,
      (rows) => {
        index.stage(this.session, rows);
        for (const e of rows) {
          const key = fingerprintKey(e.fingerprint);
          this.inflight.delete(key);
          this.recent.add(key);
          directory.remember(e.fingerprint);
        }
      },
      () => {
        if (this.failure) throw this.failure;
      },
    );
  }

  private flushForeign(): void {
    if (this.foreign.length === 0) return;
    const rows = this.foreign;
    this.foreign = [];
    this.ctx.index.stage(this.session, rows);
    for (const r of rows) {
      const fps = this.leaned.get(r.container);
      if (fps) fps.push(r.fingerprint);
      else this.leaned.set(r.container, [r.fingerprint]);
    }
  }

  /**
   * The containers of other streams' chunks this one leans on whose owners
   * have not committed them: their durability is this commit's to confirm.
   * A chunk its owner has committed was synced by that commit, and the index
   * knows where it is now: a collection may since have moved it and removed
   * the container it was written to.
   */
  private leanedUncommitted(): number[] {
    const out: number[] = [];
    for (const [container, fps] of this.leaned) if (fps.some((fp) => !this.ctx.index.hasChunk(fp))) out.push(container);
    return out;
  }

}

/** A bounded set of recently seen keys; the oldest is forgotten first. */
class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    if (this.keys.has(key)) return;
    if (this.keys.size >= this.capacity) this.keys.delete(this.keys.values().next().value as string);
    this.keys.add(key);
  }
}
