import { createHash } from 'node:crypto';
import type { SlotHolder } from '../compute/batch-buffers.js';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { FormatError, RECORD_HEADER_BYTES, readRecordHeader, xxh64, ChunkKind } from './container-format.js';
import { CorruptChunkError, MissingChunkError } from './errors.js';
import type { ChunkLocation } from './index-db.js';
import { decodeRecipeNode, type RecipeNode } from './recipe-format.js';
import { walkChunkList, walkRecipe, type ChunkList, type ChunkRef } from './recipe-cursor.js';
import { CorruptRecordError } from './store-compute.js';
import type { StoreContext } from './store-context.js';

/** A run of records next to each other in one container, read in one go. */
interface Span {
  container: number;
  start: number;
  end: number;
  rawBytes: number;
  refs: ChunkRef[];
  locations: ChunkLocation[];
}

/** Decoded bytes of the object from objectOffset, in a pooled slot until released. */
interface Piece {
  view: Buffer;
  objectOffset: number;
  release(): void;
}

/**
 * Streams an object's bytes: walks the recipe from the first chunk of the
 * range, reads neighbouring records in one span, and has workers check and
 * decode spans while the consumer takes the previous ones. Spans are read and
 * decoded into slots of a process-wide pool, so a read allocates no large
 * buffers: `pump` hands each decoded view to a sink and takes the slot back
 * once the sink is done with it.
 */
export class ObjectReader {
  private readonly nodes = new NodeCache(256);

  constructor(private readonly ctx: StoreContext) {}

  /** Yields bytes [start, end) of the object, each piece a buffer of its own. */
  async *read(root: Buffer | null, height: number, start: number, end: number): AsyncGenerator<Buffer> {
    if (!root) return;
    for await (const p of this.pieces(walkRecipe(this.loadNode, root, height, start), start, end)) {
      const copy = Buffer.from(p.view);
      p.release();
      yield copy;
    }
  }

  /**
   * Hands bytes [start, end) to `sink` piece by piece, without copying: each
   * view is valid until the sink's promise settles (for a socket: until the
   * write has been taken by the kernel).
   */
  async pump(root: Buffer | null, height: number, start: number, end: number, sink: (view: Buffer) => Promise<void> | void): Promise<void> {
    if (!root) return;
    await this.pumpRefs(walkRecipe(this.loadNode, root, height, start), start, end, sink);
  }

  /**
   * pump() for bytes named by a chunk list rather than a recipe (a part whose
   * chunk list was kept at upload): no recipe node is loaded.
   */
  async pumpChunks(list: ChunkList, start: number, end: number, sink: (view: Buffer) => Promise<void> | void): Promise<void> {
    await this.pumpRefs(walkChunkList(list, start), start, end, sink);
  }

  private async pumpRefs(
    refs: AsyncIterable<ChunkRef> | Iterable<ChunkRef>,
    start: number,
    end: number,
    sink: (view: Buffer) => Promise<void> | void,
  ): Promise<void> {
    for await (const p of this.pieces(refs, start, end)) {
      try {
        await sink(p.view);
      } finally {
        p.release();
      }
    }
  }

  /** The decoded bytes of [start, end), from refs: the chunks in order, the first one holding start. */
  private async *pieces(refs: AsyncIterable<ChunkRef> | Iterable<ChunkRef>, start: number, end: number): AsyncGenerator<Piece> {
    if (start >= end) return;
    const { readSpanBytes, readAhead } = this.ctx.settings;
    const maxChunk = this.ctx.cutter.parameters.maxSize;
    const inputSize = readSpanBytes + RECORD_HEADER_BYTES + maxChunk;
    // Raw bytes are bounded too: a span of very compressible chunks decodes to far more than it stores.
    const rawLimit = 2 * readSpanBytes;
    const outputSize = rawLimit + maxChunk;
    const queue: Promise<Piece>[] = [];
    // A read holding no slot may always take one (see SlotPool): pieces already handed on hold theirs until released.
    const holder: SlotHolder = { out: 0 };
    let span: Span | null = null;
    // Locations taken here are read later: a compacted container's file must outlive this read.
    const endRead = this.ctx.containers.beginRead();
    const flush = (): void => {
      if (!span) return;
      const p = this.readSpan(span, inputSize, outputSize, holder);
      p.catch(() => undefined); // observed in order below; a consumer that stops early must not leave it unhandled
      queue.push(p);
      span = null;
    };
    try {
      for await (const ref of refs) {
        if (ref.objectOffset >= end) break;
        const loc = this.locate(ref.fingerprint);
        const s = span as Span | null;
        if (
          s &&
          s.container === loc.container &&
          s.end === loc.offset &&
          s.end - s.start < readSpanBytes &&
          s.rawBytes + ref.rawLength <= rawLimit
        ) {
          s.end = loc.offset + RECORD_HEADER_BYTES + loc.storedLength;
          s.rawBytes += ref.rawLength;
          s.refs.push(ref);
          s.locations.push(loc);
        } else {
          flush();
          span = {
            container: loc.container,
            start: loc.offset,
            end: loc.offset + RECORD_HEADER_BYTES + loc.storedLength,
            rawBytes: ref.rawLength,
            refs: [ref],
            locations: [loc],
          };
        }
        while (queue.length >= readAhead) yield trim(await queue.shift()!, start, end);
      }
      flush();
      while (queue.length > 0) yield trim(await queue.shift()!, start, end);
    } finally {
      // Stopped early or failed: slots still in flight go back once their reads settle.
      const pending = queue.splice(0).map((p) => p.then((piece) => piece.release(), () => undefined));
      void Promise.all(pending).then(endRead);
    }
  }

  /** Where a chunk is; a recipe naming an unindexed chunk is damage. */
  private locate(fp: Buffer): ChunkLocation {
    const loc = this.ctx.directory.locate(fp);
    if (!loc) throw new MissingChunkError(fp.toString('hex'));
    return loc;
  }

  private async readSpan(span: Span, inputSize: number, outputSize: number, holder: SlotHolder): Promise<Piece> {
    const pool = this.ctx.compute.readSlots;
    const length = span.end - span.start;
    const slot = await pool.take(Math.max(inputSize, length), Math.max(outputSize, span.rawBytes), holder, 0);
    let released = false;
    const release = (): void => {
      if (!released) pool.give(slot, holder);
      released = true;
    };
    try {
      const got = await this.ctx.containers.readInto(span.container, span.start, slot.input.subarray(0, length));
      const n = span.refs.length;
      const records = new Uint32Array(2 * n);
      const fps = Buffer.allocUnsafe(n * FINGERPRINT_BYTES);
      for (let i = 0; i < n; i++) {
        records[2 * i] = span.locations[i]!.offset - span.start;
        records[2 * i + 1] = span.refs[i]!.rawLength;
        span.refs[i]!.fingerprint.copy(fps, i * FINGERPRINT_BYTES);
      }
      let written: number;
      try {
        written = await this.ctx.compute.decode(slot.input.subarray(0, got), records, fps, this.ctx.settings.verifyFingerprintsOnRead, slot.output);
      } catch (err) {
        if (err instanceof CorruptRecordError) {
          const loc = span.locations[err.index]!;
          throw new CorruptChunkError(err.message, span.container, loc.offset, span.refs[err.index]!.fingerprint.toString('hex'));
        }
        throw err;
      }
      const view = Buffer.from(slot.output.buffer, slot.output.byteOffset, written);
      return { view, objectOffset: span.refs[0]!.objectOffset, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** Loads and checks a recipe node: checksum, codec, and the full fingerprint (nodes are small). */
  readonly loadNode = async (fp: Buffer, level: number): Promise<RecipeNode> => {
    const key = fp.toString('hex');
    const cached = this.nodes.get(key);
    if (cached) return cached;
    const { loc, bytes } = await this.ctx.containers.whileReading(async () => {
      const loc = this.locate(fp);
      return { loc, bytes: await this.ctx.containers.read(loc.container, loc.offset, RECORD_HEADER_BYTES + loc.storedLength) };
    });
    let node: RecipeNode;
    try {
      const h = readRecordHeader(bytes, 0);
      if (!h.fingerprint.equals(fp)) throw new FormatError('record holds a different fingerprint');
      if (h.kind !== ChunkKind.Recipe) throw new FormatError('record is not a recipe node');
      const payload = bytes.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + h.storedLength);
      if (payload.length !== h.storedLength || xxh64(payload) !== h.payloadChecksum) {
        throw new FormatError('record payload checksum mismatch');
      }
      const raw = Buffer.allocUnsafe(h.rawLength);
      this.ctx.nodeCodec.decodeInto(h.codec, payload, raw);
      if (!createHash('sha256').update(raw).digest().equals(fp)) throw new FormatError('recipe node does not hash to its fingerprint');
      node = decodeRecipeNode(raw);
      if (node.level !== level) throw new FormatError(`recipe node at level ${node.level}, expected ${level}`);
    } catch (err) {
      if (err instanceof Error && (err.name === 'FormatError' || err.name === 'CodecError')) {
        throw new CorruptChunkError(err.message, loc.container, loc.offset, key);
      }
      throw err;
    }
    this.nodes.set(key, node);
    return node;
  };
}

function trim(p: Piece, start: number, end: number): Piece {
  const from = Math.max(0, start - p.objectOffset);
  const to = Math.min(p.view.length, end - p.objectOffset);
  if (from === 0 && to === p.view.length) return p;
  return { ...p, view: p.view.subarray(from, to), objectOffset: p.objectOffset + from };
}

class NodeCache {
  private readonly map = new Map<string, RecipeNode>();
  constructor(private readonly capacity: number) {}

  get(key: string): RecipeNode | undefined {
    const n = this.map.get(key);
    if (n) {
      this.map.delete(key);
      this.map.set(key, n);
    }
    return n;
  }

  set(key: string, node: RecipeNode): void {
    this.map.set(key, node);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as string);
  }
}
