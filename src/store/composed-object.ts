import { createHash } from 'node:crypto';
import { ChunkLengthMismatchError, CompositionMismatchError, MissingChunksError, PreconditionFailedError } from './errors.js';
import type { Counters, ObjectRow } from './index-db.js';
import { encodeKey } from './keys.js';
import { objectInfo, type ObjectInfo } from './object-info.js';
import { ObjectWriter, type NamedChunk } from './object-writer.js';
import type { StoreContext } from './store-context.js';

export interface ComposedMetadata {
  contentType?: string;
  userMetadata?: Record<string, string>;
  systemMetadata?: Record<string, string>;
}

export interface ComposeCommitOptions {
  /** What the client says it sent: a lost or repeated batch of entries shows here. */
  expectedSize: number;
  expectedChunks: number;
  onlyIfAbsent?: boolean;
  admit?: (change: { addedBytes: number; logicalBytes: number }) => void;
}

/** How many missing fingerprints an error names: enough to resend, bounded. */
const MISSING_REPORTED = 1000;

/** The ETag of an empty object: the MD5 of nothing, which the server does know. */
const EMPTY_ETAG = createHash('md5').digest('hex');

/**
 * An object whose recipe arrives from a client, entry by entry, naming chunks
 * the unit already holds (source-side dedup: the client cut and fingerprinted
 * the data, and sent only the chunks the unit lacked). Every entry is checked
 * against the index before any of its batch is applied; the recipe tree is
 * built and stored as the entries come, and the object appears only at commit.
 * The ETag is the recipe root's fingerprint: the server never saw the bytes,
 * so it cannot claim their MD5.
 */
export class ComposedObject {
  private readonly writer: ObjectWriter;
  private entryCount = 0;
  private byteCount = 0;
  private done = false;

  constructor(
    private readonly ctx: StoreContext,
    private readonly writers: Set<ObjectWriter>,
    readonly key: string,
    private readonly meta: ComposedMetadata,
  ) {
    encodeKey(key); // refuses a bad key before any work
    this.writer = new ObjectWriter(ctx, { md5: false });
    writers.add(this.writer);
  }

  get entries(): number {
    return this.entryCount;
  }

  get size(): number {
    return this.byteCount;
  }

  /** Adds entries in order; all are checked first, and a batch with any bad entry adds nothing. */
  append(entries: readonly NamedChunk[]): void {
    if (this.done) throw new Error('the composed object is finished');
    const missing: string[] = [];
    let missingTotal = 0;
    for (const e of entries) {
      const fp = Buffer.from(e.fingerprint.buffer, e.fingerprint.byteOffset, e.fingerprint.byteLength);
      const loc = this.ctx.directory.locate(fp);
      if (!loc) {
        if (missing.length < MISSING_REPORTED) missing.push(fp.toString('hex'));
        missingTotal++;
      } else if (loc.rawLength !== e.rawLength) {
        throw new ChunkLengthMismatchError(fp.toString('hex'), e.rawLength, loc.rawLength);
      }
    }
    if (missingTotal > 0) throw new MissingChunksError(missing, missingTotal);
    this.writer.addStored(entries);
    this.entryCount += entries.length;
    for (const e of entries) this.byteCount += e.rawLength;
  }

  /** Writes the last recipe nodes and commits the object, atomically; refuses if the client expected another object. */
  async commit(options: ComposeCommitOptions): Promise<ObjectInfo> {
    if (this.done) throw new Error('the composed object is finished');
    if (options.expectedSize !== this.byteCount || options.expectedChunks !== this.entryCount) {
      throw new CompositionMismatchError(
        `the recipe received names ${this.entryCount} chunks, ${this.byteCount} bytes; the client sent ${options.expectedChunks} chunks, ${options.expectedSize} bytes`,
      );
    }
    this.done = true;
    try {
      const composed = await this.writer.finishComposed();
      const row: ObjectRow = {
        key: encodeKey(this.key),
        size: composed.size,
        etag: composed.root ? composed.root.toString('hex') : EMPTY_ETAG,
        mtimeMs: Date.now(),
        contentType: this.meta.contentType ?? null,
        userMetadata: JSON.stringify(this.meta.userMetadata ?? {}),
        systemMetadata: JSON.stringify(this.meta.systemMetadata ?? {}),
        recipeRoot: composed.root,
        recipeHeight: composed.height,
        chunkCount: composed.chunkCount,
      };
      await this.writer.commit(() =>
        this.ctx.index.writeObject(row, (existing: ObjectRow | undefined, counters: Counters) => {
          if (options.onlyIfAbsent && existing) throw new PreconditionFailedError(`an object with key ${JSON.stringify(this.key)} exists`);
          options.admit?.({ addedBytes: row.size - (existing?.size ?? 0), logicalBytes: counters.logicalBytes });
        }),
      );
      return objectInfo(row);
    } catch (err) {
      await this.writer.abort();
      throw err;
    } finally {
      this.writers.delete(this.writer);
    }
  }

  /** Forgets the object: nothing appears; its recipe nodes are left for garbage collection. */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.writer.abort();
    this.writers.delete(this.writer);
  }
}
