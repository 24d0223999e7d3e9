import { createHash } from 'node:crypto';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { FormatError, RECORD_HEADER_BYTES, readRecordHeader, xxh64, ChunkKind } from './container-format.js';
import { CorruptChunkError, MissingChunkError } from './errors.js';
import type { ChunkLocation } from './index-db.js';
import { decodeRecipeNode, type RecipeNode } from './recipe-format.js';
import { walkRecipe, type ChunkRef } from './recipe-cursor.js';
import { CorruptRecordError } from './store-compute.js';
import type { StoreContext } from './store-context.js';

/** A run of records next to each other in one container, read in one go. */
interface Span {
  container: number;
  start: number;
  end: number;
  refs: ChunkRef[];
  locations: ChunkLocation[];
}

interface SpanData {
  data: Buffer;
  objectOffset: number;
}

/**
 * Streams an object's bytes: walks the recipe from the first chunk of the
 * range, reads neighbouring records in one span, and has workers check and
 * decode spans while the consumer takes the previous ones.
 */
export class ObjectReader {
  private readonly nodes = new NodeCache(256);

  constructor(private readonly ctx: StoreContext) {}

  /** Yields bytes [start, end) of the object whose recipe is given. */
  async *read(root: Buffer | null, height: number, start: number, end: number): AsyncGenerator<Buffer> {
    if (!root || start >= end) return;
    const { readSpanBytes, readAhead } = this.ctx.settings;
    const queue: Promise<SpanData>[] = [];
    const buffers = new SpanBuffers(readSpanBytes + RECORD_HEADER_BYTES + this.ctx.cutter.parameters.maxSize);
    let span: Span | null = null;
    const flush = (): void => {
      if (!span) return;
      const p = this.readSpan(span, buffers);
      p.catch(() => undefined); // observed in order below; a consumer that stops early must not leave it unhandled
      queue.push(p);
      span = null;
    };
    for await (const ref of walkRecipe(this.loadNode, root, height, start)) {
      if (ref.objectOffset >= end) break;
      const loc = this.locate(ref.fingerprint);
      const s = span as Span | null;
      if (s && s.container === loc.container && s.end === loc.offset && s.end - s.start < readSpanBytes) {
        s.end = loc.offset + RECORD_HEADER_BYTES + loc.storedLength;
        s.refs.push(ref);
        s.locations.push(loc);
      } else {
        flush();
        span = {
          container: loc.container,
          start: loc.offset,
          end: loc.offset + RECORD_HEADER_BYTES + loc.storedLength,
          refs: [ref],
          locations: [loc],
        };
      }
      while (queue.length >= readAhead) yield trim(await queue.shift()!, start, end);
    }
    flush();
    while (queue.length > 0) yield trim(await queue.shift()!, start, end);
  }

  /** Where a chunk is; a recipe naming an unindexed chunk is damage. */
  private locate(fp: Buffer): ChunkLocation {
    const loc = this.ctx.directory.locate(fp);
    if (!loc) throw new MissingChunkError(fp.toString('hex'));
    return loc;
  }

  private async readSpan(span: Span, buffers: SpanBuffers): Promise<SpanData> {
    const shared = buffers.take(span.end - span.start);
    try {
      return await this.decodeSpan(span, shared);
    } finally {
      buffers.give(shared);
    }
  }

  private async decodeSpan(span: Span, shared: Uint8Array): Promise<SpanData> {
    const length = span.end - span.start;
    const got = await this.ctx.containers.readInto(span.container, span.start, shared.subarray(0, length));
    const bytes = shared.subarray(0, got);
    const n = span.refs.length;
    const records = new Uint32Array(2 * n);
    const fps = Buffer.allocUnsafe(n * FINGERPRINT_BYTES);
    for (let i = 0; i < n; i++) {
      records[2 * i] = span.locations[i]!.offset - span.start;
      records[2 * i + 1] = span.refs[i]!.rawLength;
      span.refs[i]!.fingerprint.copy(fps, i * FINGERPRINT_BYTES);
    }
    try {
      const data = await this.ctx.compute.decode(bytes, records, fps, this.ctx.settings.verifyFingerprintsOnRead);
      return { data, objectOffset: span.refs[0]!.objectOffset };
    } catch (err) {
      if (err instanceof CorruptRecordError) {
        const loc = span.locations[err.index]!;
        throw new CorruptChunkError(err.message, span.container, loc.offset, span.refs[err.index]!.fingerprint.toString('hex'));
      }
      throw err;
    }
  }

  /** Loads and checks a recipe node: checksum, codec, and the full fingerprint (nodes are small). */
  readonly loadNode = async (fp: Buffer, level: number): Promise<RecipeNode> => {
    const key = fp.toString('hex');
    const cached = this.nodes.get(key);
    if (cached) return cached;
    const loc = this.locate(fp);
    const bytes = await this.ctx.containers.read(loc.container, loc.offset, RECORD_HEADER_BYTES + loc.storedLength);
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

/**
 * Shared buffers that spans are read into and decoded from in place, reused
 * for the whole read: only the decoded output, which the consumer keeps, is a
 * new allocation. A span larger than usual (one huge record) gets its own.
 */
class SpanBuffers {
  private readonly free: Uint8Array[] = [];

  /** size: a span's limit plus the largest record, which may take it past the limit. */
  constructor(private readonly size: number) {}

  take(length: number): Uint8Array {
    if (length > this.size) return new Uint8Array(new SharedArrayBuffer(length));
    return this.free.pop() ?? new Uint8Array(new SharedArrayBuffer(this.size));
  }

  give(buffer: Uint8Array): void {
    if (buffer.length === this.size) this.free.push(buffer);
  }
}

function trim(s: SpanData, start: number, end: number): Buffer {
  const from = Math.max(0, start - s.objectOffset);
  const to = Math.min(s.data.length, end - s.objectOffset);
  return from === 0 && to === s.data.length ? s.data : s.data.subarray(from, to);
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
