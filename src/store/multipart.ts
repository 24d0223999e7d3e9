import { createHash, randomBytes } from 'node:crypto';
import {
  EntityTooSmallError,
  InvalidPartError,
  InvalidPartOrderError,
  NoSuchUploadError,
  PreconditionFailedError,
} from './errors.js';
import type { Counters, ObjectRow, PartRow, UploadRow } from './index-db.js';
import type { ByteSource } from './push-source.js';
import { decodeKey, encodeKey } from './keys.js';
import { successor } from './listing.js';
import { objectInfo, type ObjectInfo } from './object-info.js';
import type { ObjectReader } from './object-reader.js';
import { ObjectWriter, type IngestResult } from './object-writer.js';
import { ingestAndCommit, type StreamOptions } from './stream-commit.js';
import { fingerprintAt, walkChunkList, walkLeaves, walkRecipe } from './recipe-cursor.js';
import { EdgeCapture, type KeptPart, type PartEdges } from './part-edges.js';
import { closesWithin, firstLook, seamReach, stitchParts, type SeamPart } from './part-seams.js';
import type { StoreContext } from './store-context.js';

export interface UploadInfo {
  uploadId: string;
  key: string;
  initiated: Date;
  contentType: string | undefined;
  userMetadata: Record<string, string>;
  systemMetadata: Record<string, string>;
}

export interface PartInfo {
  partNumber: number;
  size: number;
  /** Hex MD5 of the part's bytes. */
  etag: string;
  modified: Date;
  systemMetadata: Record<string, string>;
}

export type PartOptions = StreamOptions;

export interface CompleteOptions {
  /** Every part but the last must be at least this large (S3: 5 MiB). */
  minPartSize?: number;
  onlyIfAbsent?: boolean;
  /** Metadata computed from the chosen parts (a composite checksum); may throw to refuse. */
  systemMetadata?: (parts: PartInfo[]) => Record<string, string>;
  admit?: (change: { addedBytes: number; logicalBytes: number }) => void;
}

export interface UploadListing {
  uploads: UploadInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker: string | undefined;
  nextUploadIdMarker: string | undefined;
}

/** Where a multipart object's part boundaries are kept: runs of [size, count]. */
export const PARTS_METADATA = 'cairn-parts';

/**
 * Multipart uploads: each part is a stream of its own, deduplicated and
 * committed like an object. Completing the upload composes the parts'
 * recipes into the object's, and re-cuts each seam between two parts where
 * one stream would have cut it (see part-seams.ts): a little is read back
 * and most of it is already stored.
 */
export class Multipart {
  constructor(
    private readonly ctx: StoreContext,
    private readonly reader: ObjectReader,
    private readonly writers: Set<ObjectWriter>,
    private readonly edges: PartEdges,
  ) {}

  create(key: string, meta: { contentType?: string; userMetadata?: Record<string, string>; systemMetadata?: Record<string, string> }): UploadInfo {
    const row: UploadRow = {
      uploadId: randomBytes(24).toString('base64url'),
      key: encodeKey(key),
      createdMs: Date.now(),
      contentType: meta.contentType ?? null,
      userMetadata: JSON.stringify(meta.userMetadata ?? {}),
      systemMetadata: JSON.stringify(meta.systemMetadata ?? {}),
    };
    this.ctx.index.insertUpload(row);
    return uploadInfo(row);
  }

  get(uploadId: string): UploadInfo {
    return uploadInfo(this.row(uploadId));
  }

  async putPart(uploadId: string, partNumber: number, source: ByteSource, options: PartOptions = {}): Promise<PartInfo> {
    this.row(uploadId);
    let part: PartRow | undefined;
    let edges: IngestResult['edges'];
    await ingestAndCommit(this.ctx, this.writers, source, options, (r, added) => {
      edges = r.edges;
      const made: PartRow = {
        uploadId,
        partNumber,
        size: r.size,
        etag: r.md5.toString('hex'),
        systemMetadata: JSON.stringify(added.systemMetadata ?? {}),
        recipeRoot: r.root,
        recipeHeight: r.height,
        chunkCount: r.chunkCount,
        mtimeMs: Date.now(),
      };
      part = made;
      return () => {
        // An abort or completion may have come while the part streamed in.
        if (!this.ctx.index.getUpload(uploadId)) throw new NoSuchUploadError(uploadId);
        this.ctx.index.writePart(made);
      };
    }, new EdgeCapture(seamReach(this.ctx.cutter.parameters.maxSize), this.edges.buffers));
    // An upload completed or aborted meanwhile has been forgotten already; its part is not kept.
    if (edges && part!.recipeRoot && this.ctx.index.getUpload(uploadId)) {
      this.edges.keep({ uploadId, partNumber, root: part!.recipeRoot, size: part!.size, ...edges });
      // Only a guess for the cache: the part is committed whatever it makes of it.
      await this.settleSeams(uploadId, partNumber).catch(() => undefined);
    }
    return partInfo(part!);
  }

  /**
   * A part's head is captured as far as a seam may reach. Once the part before
   * it is in too, the seam between them is re-cut as the completion will
   * (from that part's last chunk), and if it closes within the first look the
   * rest of the head is let go; if not, the completion finds it in memory
   * instead of reading it back from the containers and decoding it, a wait on
   * the workers per seam that made about a fifth of the seams in a backup
   * stream the slowest part of completing it. A guess: a completion naming
   * other parts, or a part before that ended short, reads back what it lacks.
   * The heads are read only before closesWithin's first await (it copies them
   * into its region), so a head let go meanwhile and reused is never read here.
   */
  private async settleSeams(uploadId: string, partNumber: number): Promise<void> {
    const look = firstLook(this.ctx.cutter.parameters.maxSize);
    for (const n of [partNumber, partNumber + 1]) {
      const part = this.edges.peek(uploadId, n);
      if (!part?.bytes || part.bytes.head.length <= look) continue;
      // Nothing is carried into the first part: its head is never re-cut.
      const carry = n === 1 ? null : this.edges.peek(uploadId, n - 1)?.bytes?.lastChunk;
      if (carry === undefined) continue;
      const { chunks } = part;
      const closes =
        carry === null ||
        (await closesWithin(this.ctx.cutter, carry, part.bytes.head.subarray(0, look), {
          chunks: async function* () {
            yield [...walkChunkList(chunks, 0)];
          },
        }));
      if (closes) this.edges.trimHead(uploadId, n, part.root, look);
    }
  }

  /**
   * A part that is a whole existing object: it shares the object's recipe.
   * Only for objects whose ETag is their MD5 (the part's ETag must be).
   */
  sharePart(uploadId: string, partNumber: number, source: ObjectRow): PartInfo {
    this.row(uploadId);
    const part: PartRow = {
      uploadId,
      partNumber,
      size: source.size,
      etag: source.etag,
      systemMetadata: '{}',
      recipeRoot: source.recipeRoot,
      recipeHeight: source.recipeHeight,
      chunkCount: source.chunkCount,
      mtimeMs: Date.now(),
    };
    this.ctx.index.transaction(() => {
      if (!this.ctx.index.getUpload(uploadId)) throw new NoSuchUploadError(uploadId);
      this.ctx.index.writePart(part);
    });
    return partInfo(part);
  }

  listParts(uploadId: string, afterPart: number, limit: number): { parts: PartInfo[]; isTruncated: boolean } {
    this.row(uploadId);
    const rows = this.ctx.index.parts(uploadId, afterPart, limit + 1);
    return { parts: rows.slice(0, limit).map(partInfo), isTruncated: rows.length > limit };
  }

  abort(uploadId: string): void {
    this.edges.forget(uploadId);
    if (!this.ctx.index.deleteUpload(uploadId)) throw new NoSuchUploadError(uploadId);
  }

  async complete(uploadId: string, chosen: { partNumber: number; etag?: string }[], options: CompleteOptions = {}): Promise<ObjectInfo> {
    const upload = this.row(uploadId);
    const stored = new Map(this.ctx.index.allParts(uploadId).map((p) => [p.partNumber, p]));
    const parts: PartRow[] = [];
    let previous = 0;
    for (const c of chosen) {
      if (!Number.isInteger(c.partNumber) || c.partNumber <= previous) throw new InvalidPartOrderError();
      previous = c.partNumber;
      const p = stored.get(c.partNumber);
      if (!p) throw new InvalidPartError(`part ${c.partNumber} was not uploaded`);
      if (c.etag !== undefined && normalizeEtag(c.etag) !== p.etag) throw new InvalidPartError(`part ${c.partNumber} has ETag "${p.etag}", not ${c.etag}`);
      parts.push(p);
    }
    if (parts.length === 0) throw new InvalidPartError('a completion must name at least one part');
    const min = options.minPartSize ?? 0;
    for (const p of parts.slice(0, -1)) if (p.size < min) throw new EntityTooSmallError(p.partNumber, min);
    const infos = parts.map(partInfo);
    const extra = options.systemMetadata?.(infos) ?? {};

    const info = await this.edges.reading(uploadId, () => this.compose(upload, parts, extra, options));
    this.edges.forget(uploadId);
    return info;
  }

  /** The object the chosen parts make, seams re-cut, committed in place of the upload. */
  private async compose(upload: UploadRow, parts: PartRow[], extra: Record<string, string>, options: CompleteOptions): Promise<ObjectInfo> {
    const { uploadId } = upload;
    const writer = new ObjectWriter(this.ctx, { md5: false });
    this.writers.add(writer);
    try {
      for await (const step of stitchParts(parts.map((p) => this.seamPart(p, this.edges.get(uploadId, p.partNumber, p.recipeRoot, p.size))), this.ctx.cutter)) {
        if (step.kind === 'stored') writer.addStored(step.chunks);
        else await writer.addFresh(step.data, step.cuts);
      }
      const composed = await writer.finishComposed();
      const expected = parts.reduce((a, p) => a + p.size, 0);
      if (composed.size !== expected) throw new Error(`upload ${uploadId}: the stitched recipe names ${composed.size} bytes, its parts ${expected}`);
      const etag = `${createHash('md5').update(Buffer.concat(parts.map((p) => Buffer.from(p.etag, 'hex')))).digest('hex')}-${parts.length}`;
      const row: ObjectRow = {
        key: upload.key,
        size: composed.size,
        etag,
        mtimeMs: Date.now(),
        contentType: upload.contentType,
        userMetadata: upload.userMetadata,
        systemMetadata: JSON.stringify({ ...JSON.parse(upload.systemMetadata), ...extra, [PARTS_METADATA]: JSON.stringify(runLengths(parts.map((p) => p.size))) }),
        recipeRoot: composed.root,
        recipeHeight: composed.height,
        chunkCount: composed.chunkCount,
      };
      await writer.commit(() => {
        if (!this.ctx.index.getUpload(uploadId)) throw new NoSuchUploadError(uploadId);
        this.ctx.index.writeObject(row, (existing: ObjectRow | undefined, counters: Counters) => {
          if (options.onlyIfAbsent && existing) throw new PreconditionFailedError(`an object with key ${JSON.stringify(decodeKey(row.key))} exists`);
          options.admit?.({ addedBytes: row.size - (existing?.size ?? 0), logicalBytes: counters.logicalBytes });
        });
        this.ctx.index.dropUpload(uploadId);
      });
      return objectInfo(row);
    } catch (err) {
      await writer.abort();
      throw err;
    } finally {
      this.writers.delete(writer);
    }
  }

  /** Uploads in key order, then upload id; with a delimiter, keys sharing a prefix roll up. */
  list(options: { prefix?: string; delimiter?: string; keyMarker?: string; uploadIdMarker?: string; limit?: number }): UploadListing {
    const limit = Math.max(0, Math.floor(options.limit ?? 1000));
    const prefix = Buffer.from(options.prefix ?? '', 'utf8');
    const delimiter = options.delimiter ? Buffer.from(options.delimiter, 'utf8') : null;
    // After the marker: with an upload id, the uploads of that key after it; without, the keys after it.
    let key: Buffer = options.keyMarker ? Buffer.from(options.keyMarker, 'utf8') : prefix;
    let after = options.keyMarker ? (options.uploadIdMarker ?? '\u{10FFFF}') : '';
    const uploads: UploadInfo[] = [];
    const commonPrefixes: string[] = [];
    let last: { key: string; uploadId: string } | undefined;
    let isTruncated = false;
    scan: for (;;) {
      const batch = this.ctx.index.uploadsFrom(key, after, 100);
      if (batch.length === 0) break;
      for (const row of batch) {
        if (!row.key.subarray(0, prefix.length).equals(prefix)) {
          if (Buffer.compare(row.key, prefix) > 0) break scan;
          key = row.key;
          after = row.uploadId;
          continue;
        }
        if (uploads.length + commonPrefixes.length >= limit) {
          isTruncated = limit > 0;
          break scan;
        }
        const at = delimiter ? row.key.indexOf(delimiter, prefix.length) : -1;
        if (at >= 0) {
          const common = Buffer.from(row.key.subarray(0, at + delimiter!.length));
          commonPrefixes.push(common.toString('utf8'));
          last = { key: common.toString('utf8'), uploadId: '' };
          const next = successor(common);
          if (!next) break scan;
          key = next;
          after = '';
          continue scan;
        }
        const info = uploadInfo(row);
        uploads.push(info);
        last = { key: info.key, uploadId: info.uploadId };
        key = row.key;
        after = row.uploadId;
      }
    }
    return {
      uploads,
      commonPrefixes,
      isTruncated,
      nextKeyMarker: isTruncated ? last?.key : undefined,
      nextUploadIdMarker: isTruncated && last?.uploadId ? last.uploadId : undefined,
    };
  }

  /**
   * A part as the seams need it. What the upload kept is used first: its chunk
   * list names the chunks and finds their bytes with no recipe node loaded,
   * and its head and last chunk, while kept, need no read at all.
   */
  private seamPart(p: PartRow, kept: KeptPart | undefined): SeamPart {
    const { reader } = this;
    const list = kept?.chunks;
    const edges = kept?.bytes;
    const read = async (start: number, end: number): Promise<Buffer> => {
      if (edges && end <= edges.head.length) return edges.head.subarray(start, end);
      const out = Buffer.allocUnsafe(end - start);
      let at = 0;
      const sink = (view: Buffer): void => {
        at += view.copy(out, at);
      };
      this.edges.countReadBack(end - start);
      if (list) await reader.pumpChunks(list, start, end, sink);
      else await reader.pump(p.recipeRoot, p.recipeHeight, start, end, sink);
      if (at !== out.length) throw new Error(`part ${p.partNumber} gave ${at} bytes of [${start}, ${end})`);
      return out;
    };
    return {
      size: p.size,
      chunks: async function* () {
        if (list) {
          yield [...walkChunkList(list, 0)];
          return;
        }
        if (!p.recipeRoot) return;
        for await (const leaf of walkLeaves(reader.loadNode, p.recipeRoot, p.recipeHeight)) {
          yield Array.from({ length: leaf.count }, (_, i) => ({ fingerprint: fingerprintAt(leaf, i), rawLength: leaf.sizes[i]! }));
        }
      },
      read,
      async readLastChunk() {
        if (edges) return edges.lastChunk;
        if (list) return list.rawLengths.length === 0 ? Buffer.alloc(0) : read(p.size - list.rawLengths[list.rawLengths.length - 1]!, p.size);
        if (!p.recipeRoot) return Buffer.alloc(0);
        const last = await walkRecipe(reader.loadNode, p.recipeRoot, p.recipeHeight, p.size - 1).next();
        if (last.done) throw new Error(`part ${p.partNumber} has no chunk at its end`);
        return read(last.value.objectOffset, p.size);
      },
    };
  }

  private row(uploadId: string): UploadRow {
    const row = typeof uploadId === 'string' ? this.ctx.index.getUpload(uploadId) : undefined;
    if (!row) throw new NoSuchUploadError(String(uploadId));
    return row;
  }
}

function normalizeEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

function uploadInfo(row: UploadRow): UploadInfo {
  return {
    uploadId: row.uploadId,
    key: decodeKey(row.key),
    initiated: new Date(row.createdMs),
    contentType: row.contentType ?? undefined,
    userMetadata: JSON.parse(row.userMetadata) as Record<string, string>,
    systemMetadata: JSON.parse(row.systemMetadata) as Record<string, string>,
  };
}

function partInfo(row: PartRow): PartInfo {
  return {
    partNumber: row.partNumber,
    size: row.size,
    etag: row.etag,
    modified: new Date(row.mtimeMs),
    systemMetadata: JSON.parse(row.systemMetadata) as Record<string, string>,
  };
}

/** [[size, count], ...] for a list of sizes: uploads of equal parts take a few bytes, not one number a part. */
export function runLengths(sizes: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const s of sizes) {
    const last = out[out.length - 1];
    if (last && last[0] === s) last[1]++;
    else out.push([s, 1]);
  }
  return out;
}

/** The byte range of part n (1-based) of an object with these part runs; undefined if there is no such part. */
export function partRange(runs: [number, number][], n: number): { start: number; end: number; count: number } | undefined {
  let offset = 0;
  let index = 1;
  const count = runs.reduce((a, [, c]) => a + c, 0);
  for (const [size, c] of runs) {
    if (n < index + c) {
      const start = offset + (n - index) * size;
      return { start, end: start + size, count };
    }
    offset += size * c;
    index += c;
  }
  return undefined;
}
