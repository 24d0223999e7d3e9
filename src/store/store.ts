import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createCutFinder } from '../chunking/cut-finder.js';
import { FINGERPRINT_ALGORITHM } from '../chunking/fingerprint.js';
import {
  defaultChunkingParameters,
  validateChunkingParameters,
  type ChunkingParameters,
} from '../chunking/parameters.js';
import { ChunkCodec } from '../compute/codec.js';
import { FingerprintFilter } from './bloom-filter.js';
import { saveFilter, takeSavedFilter, type IndexMark } from './filter-file.js';
import { ChunkDirectory } from './chunk-directory.js';
import { ContainerSet } from './container-set.js';
import { InvalidRangeError, NoSuchKeyError, PreconditionFailedError, StoreClosedError } from './errors.js';
import { syncDirectory } from './fs-durability.js';
import { INDEX_SCHEMA_VERSION, IndexDb, type ObjectRow } from './index-db.js';
import { encodeKey } from './keys.js';
import { listObjects, type ListOptions, type ListResult } from './listing.js';
import { LocalityCache } from './locality-cache.js';
import { Multipart, type CompleteOptions, type PartInfo, type PartOptions, type UploadInfo, type UploadListing } from './multipart.js';
import { objectInfo, type ObjectInfo } from './object-info.js';
import { PartEdges } from './part-edges.js';
import type { ByteSource } from './push-source.js';
import { ObjectReader } from './object-reader.js';
import { admitChunks, missingChunks, type AdmittedChunks, type OfferedChunk } from './chunk-intake.js';
import { ComposedObject, type ComposedMetadata } from './composed-object.js';
import type { ObjectWriter } from './object-writer.js';
import { ingestAndCommit, type CommitAdditions, type StreamOptions, type Written } from './stream-commit.js';
import { computeStats, usageOf, type StoreStats, type StoreUsage } from './stats.js';
import { StoreCompute } from './store-compute.js';
import type { StoreContext, StoreLog, StoreSettings } from './store-context.js';
import { UnitLock } from './unit-lock.js';
import { collect, type CollectOptions, type CollectionResult } from './collector.js';
import { CollectionState, type CollectionPolicy } from './gc-state.js';
import { estimateReclaimable, type ReclaimEstimate } from './reclaim-estimate.js';
import { verifyStore, type VerifyProgress, type VerifyReport } from './verify.js';

/** Fixed when the unit is created; recorded in its index. */
export interface UnitParameters {
  chunking: ChunkingParameters;
  fingerprint: typeof FINGERPRINT_ALGORITHM;
  compression: { codec: 'zstd'; level: number };
  containerSize: number;
}

export interface OpenOptions {
  /** Parameters for a new unit; an existing unit keeps its own. */
  create?: Partial<Omit<UnitParameters, 'fingerprint'>>;
  /** Refuse to create a unit that does not exist. */
  mustExist?: boolean;
  compute?: StoreCompute;
  /** Where multipart parts' edges are kept for their completion (default: one cache for the process). */
  partEdges?: PartEdges;
  settings?: Partial<StoreSettings>;
  /** Chunk locations kept cached for dedup and reads, whole containers at a time (default 131072: about 25 MiB, some 550 containers of 32 KiB chunks). */
  localityChunks?: number;
  log?: StoreLog;
}

export type { StoreLog };

export interface PutOptions extends StreamOptions {
  contentType?: string;
  userMetadata?: Record<string, string>;
  systemMetadata?: Record<string, string>;
  /** Store only if no object has this key (S3 If-None-Match: *). */
  onlyIfAbsent?: boolean;
  /** Runs inside the commit transaction with the unit's counters: throw to refuse (a quota). */
  admit?: (change: { addedBytes: number; logicalBytes: number }) => void;
}

export type { CommitAdditions, Written };

export interface ByteRange {
  start: number;
  /** Exclusive; clamped to the object's size. */
  end?: number;
}

export interface GetResult {
  info: ObjectInfo;
  /** The bytes returned: [start, end). */
  start: number;
  end: number;
  body: Readable;
}

export interface OpenedObject {
  info: ObjectInfo;
  start: number;
  end: number;
  pump(sink: (view: Buffer) => Promise<void> | void): Promise<void>;
}

export const DEFAULT_CONTAINER_SIZE = 4 * 1024 * 1024;
export const DEFAULT_COMPRESSION_LEVEL = 1;

const DEFAULT_SETTINGS: StoreSettings = {
  // Each batch is a few hand-offs between threads; on a busy host those cost more than the memory (docs/architecture.md).
  batchSize: 4 * 1024 * 1024,
  batchesInFlight: 4,
  compressionLevel: DEFAULT_COMPRESSION_LEVEL,
  readSpanBytes: 2 * 1024 * 1024,
  readAhead: 4,
  verifyFingerprintsOnRead: false,
};

/** The filter the unit saved at its last close, or one built from every fingerprint in the index. */
function openFilter(root: string, index: IndexDb, log: StoreLog): FingerprintFilter {
  const started = Date.now();
  const mark = indexMark(index);
  const saved = takeSavedFilter(root, index, mark);
  if (saved.loaded) {
    log('info', 'fingerprint filter loaded', { chunks: mark.chunks, ms: Date.now() - started });
    return saved.filter;
  }
  const filter = new FingerprintFilter(Math.max(1 << 20, mark.chunks * 2));
  for (const fp of index.allFingerprints()) filter.add(fp);
  log('info', 'fingerprint filter rebuilt', { chunks: mark.chunks, ms: Date.now() - started, why: saved.why });
  return filter;
}

/** What a saved filter must have been saved beside. The counters hold the chunk count: no pass over the table. */
function indexMark(index: IndexDb): IndexMark {
  const { dataChunks, recipeChunks } = index.counters();
  return { chunks: dataChunks + recipeChunks, containerHighWater: index.containerHighWater() };
}

/**
 * One storage unit's deduplicating store: objects in, objects out. Every object
 * is cut into content-defined chunks, each stored once, compressed, in
 * append-only containers, with an SQLite index. Knows nothing of HTTP, S3 or
 * credentials.
 */
export class ChunkStore {
  /** Set by the first close(); the store is closed from then on. */
  private closing: Promise<void> | null = null;
  private readonly writers = new Set<ObjectWriter>();
  private readonly multipart: Multipart;

  private readonly gc: CollectionState;
  /** Collections and estimates under way, and the signal that stops them when the unit closes. */
  private readonly background = new Set<Promise<unknown>>();
  private readonly stopping = new AbortController();

  private constructor(
    readonly dir: string,
    readonly parameters: UnitParameters,
    private readonly ctx: StoreContext,
    private readonly reader: ObjectReader,
    private readonly lock: UnitLock,
    partEdges: PartEdges,
    private readonly filter: FingerprintFilter,
  ) {
    this.multipart = new Multipart(ctx, reader, this.writers, partEdges);
    this.gc = new CollectionState(ctx.index);
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<ChunkStore> {
    const root = resolve(dir);
    mkdirSync(join(root, 'containers'), { recursive: true, mode: 0o700 });
    const lock = UnitLock.acquire(root);
    let index: IndexDb | null = null;
    try {
      const opening = Date.now();
      index = new IndexDb(join(root, 'index.db'));
      // The WAL file exists now; its name must outlive a power cut before WalSync's fdatasync can vouch for commits in it.
      await syncDirectory(join(root, 'index.db'));
      const parameters = loadOrCreateParameters(index, options);
      const log = options.log ?? (() => undefined);
      if (index.migratedFrom !== null) {
        log('info', 'index migrated', { from: index.migratedFrom, to: INDEX_SCHEMA_VERSION, ms: Date.now() - opening });
      }
      const containers = new ContainerSet(join(root, 'containers'), index, parameters.containerSize, log);
      await containers.recoverOpen((id, r) =>
        log(r.damagedAt.length > 0 ? 'warn' : 'info', 'recovered open container', { container: id, ...r }),
      );
      const filter = openFilter(root, index, log);
      const settings = { ...DEFAULT_SETTINGS, compressionLevel: parameters.compression.level, ...options.settings };
      const ctx: StoreContext = {
        index,
        containers,
        compute: options.compute ?? StoreCompute.shared(),
        directory: new ChunkDirectory(index, filter, new LocalityCache(options.localityChunks ?? 131_072)),
        cutter: createCutFinder(parameters.chunking),
        nodeCodec: new ChunkCodec(settings.compressionLevel),
        settings,
        log,
      };
      return new ChunkStore(root, parameters, ctx, new ObjectReader(ctx), lock, options.partEdges ?? PartEdges.shared(), filter);
    } catch (err) {
      index?.close();
      lock.release();
      throw err;
    }
  }

  /** Stores a stream as an object. Nothing is visible, and nothing is committed, unless it all arrives. */
  async put(key: string, source: ByteSource, options: PutOptions = {}): Promise<ObjectInfo> {
    this.checkOpen();
    const keyBytes = encodeKey(key);
    let row: ObjectRow | undefined;
    await ingestAndCommit(this.ctx, this.writers, source, options, (r, added) => {
      const made: ObjectRow = {
        key: keyBytes,
        size: r.size,
        etag: r.md5.toString('hex'),
        mtimeMs: Date.now(),
        contentType: options.contentType ?? null,
        userMetadata: JSON.stringify(options.userMetadata ?? {}),
        systemMetadata: JSON.stringify({ ...options.systemMetadata, ...added.systemMetadata }),
        recipeRoot: r.root,
        recipeHeight: r.height,
        chunkCount: r.chunkCount,
      };
      row = made;
      return () =>
        this.ctx.index.writeObject(made, (existing, counters) => {
          if (options.onlyIfAbsent && existing) throw new PreconditionFailedError(`an object with key ${JSON.stringify(key)} exists`);
          options.admit?.({ addedBytes: made.size - (existing?.size ?? 0), logicalBytes: counters.logicalBytes });
        });
    });
    return objectInfo(row!);
  }

  async head(key: string): Promise<ObjectInfo> {
    return objectInfo(this.row(key));
  }

  /** Streams an object or a byte range of it. Damaged bytes end the stream with an error, never wrong data. */
  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const { row, start, end } = this.resolveRange(key, range);
    const body = Readable.from(this.reader.read(row.recipeRoot, row.recipeHeight, start, end), { objectMode: false });
    return { info: objectInfo(row), start, end, body };
  }

  private resolveRange(key: string, range?: ByteRange): { row: ObjectRow; start: number; end: number } {
    const row = this.row(key);
    let start = 0;
    let end = row.size;
    if (range) {
      start = range.start;
      end = Math.min(range.end ?? row.size, row.size);
      if (!Number.isInteger(start) || start < 0 || start >= row.size || end <= start) throw new InvalidRangeError(row.size);
    }
    return { row, start, end };
  }

  /**
   * Like get, for a consumer that writes bytes straight on (a socket): `pump`
   * hands each piece to the sink without copying; a piece is valid until the
   * sink's promise settles.
   */
  async open(key: string, range?: ByteRange): Promise<OpenedObject> {
    const { row, start, end } = this.resolveRange(key, range);
    return {
      info: objectInfo(row),
      start,
      end,
      pump: (sink) => this.reader.pump(row.recipeRoot, row.recipeHeight, start, end, sink),
    };
  }

  /** Removes an object. The chunks it alone used are reclaimed by garbage collection. */
  async delete(key: string): Promise<boolean> {
    this.checkOpen();
    return this.ctx.index.deleteObject(encodeKey(key)) !== undefined;
  }

  /** A new object sharing the source's recipe: no chunk is read or written. */
  async copy(
    sourceKey: string,
    targetKey: string,
    options: { replaceMetadata?: Pick<PutOptions, 'contentType' | 'userMetadata' | 'systemMetadata'>; admit?: PutOptions['admit'] } = {},
  ): Promise<ObjectInfo> {
    this.checkOpen();
    const src = this.row(sourceKey);
    const target = encodeKey(targetKey);
    const m = options.replaceMetadata;
    const row: ObjectRow = {
      ...src,
      key: target,
      mtimeMs: Date.now(),
      ...(m && {
        contentType: m.contentType ?? null,
        userMetadata: JSON.stringify(m.userMetadata ?? {}),
        systemMetadata: JSON.stringify(m.systemMetadata ?? {}),
      }),
    };
    this.ctx.index.putObjectRow(row, (existing) => {
      options.admit?.({ addedBytes: row.size - (existing?.size ?? 0), logicalBytes: this.ctx.index.counters().logicalBytes });
    });
    return objectInfo(row);
  }

  /** Starts a multipart upload; its parts are committed one by one and composed at completion. */
  createUpload(key: string, meta: Pick<PutOptions, 'contentType' | 'userMetadata' | 'systemMetadata'> = {}): UploadInfo {
    this.checkOpen();
    return this.multipart.create(key, meta);
  }

  getUpload(uploadId: string): UploadInfo {
    this.checkOpen();
    return this.multipart.get(uploadId);
  }

  putPart(uploadId: string, partNumber: number, source: ByteSource, options?: PartOptions): Promise<PartInfo> {
    this.checkOpen();
    return this.multipart.putPart(uploadId, partNumber, source, options);
  }

  /** A part that is a whole existing object (whose ETag is its MD5): shares its recipe, copies nothing. */
  sharePart(uploadId: string, partNumber: number, sourceKey: string): PartInfo {
    return this.multipart.sharePart(uploadId, partNumber, this.row(sourceKey));
  }

  listParts(uploadId: string, afterPart = 0, limit = 1000): { parts: PartInfo[]; isTruncated: boolean } {
    this.checkOpen();
    return this.multipart.listParts(uploadId, afterPart, limit);
  }

  listUploads(options: Parameters<Multipart['list']>[0] = {}): UploadListing {
    this.checkOpen();
    return this.multipart.list(options);
  }

  abortUpload(uploadId: string): void {
    this.checkOpen();
    this.multipart.abort(uploadId);
  }

  /** Aborts the multipart uploads begun before beforeMs; their ids. */
  abortUploadsBegunBefore(beforeMs: number): string[] {
    this.checkOpen();
    const stale = this.ctx.index.uploadsCreatedBefore(beforeMs);
    for (const id of stale) this.multipart.abort(id);
    return stale;
  }

  completeUpload(uploadId: string, parts: { partNumber: number; etag?: string }[], options?: CompleteOptions): Promise<ObjectInfo> {
    this.checkOpen();
    return this.multipart.complete(uploadId, parts, options);
  }

  /** Which of these fingerprints (32 bytes each) the unit lacks: the question of a source-side dedup client. */
  missingChunks(fingerprints: Buffer): boolean[] {
    this.checkOpen();
    return missingChunks(this.ctx, fingerprints);
  }

  /** Stores chunks a client sent (see chunk-intake.ts); durable when this resolves. `frame` is consumed. */
  admitChunks(frame: Buffer, offered: readonly OfferedChunk[]): Promise<AdmittedChunks> {
    this.checkOpen();
    return admitChunks(this.ctx, frame, offered);
  }

  /** Starts an object whose recipe a client sends, naming chunks the unit holds. */
  compose(key: string, meta: ComposedMetadata = {}): ComposedObject {
    this.checkOpen();
    return new ComposedObject(this.ctx, this.writers, key, meta);
  }

  /** Replaces an object's system metadata (tags, say), leaving its data and time as they are. */
  setSystemMetadata(key: string, systemMetadata: Record<string, string>): ObjectInfo {
    const row = { ...this.row(key), systemMetadata: JSON.stringify(systemMetadata) };
    this.ctx.index.putObjectRow(row);
    return objectInfo(row);
  }

  list(options: ListOptions = {}): ListResult {
    this.checkOpen();
    return listObjects(this.ctx.index, options);
  }

  /**
   * Every figure of the unit, from the counters (the containers' among them)
   * and the open containers' bytes. For figures a request needs, use usage().
   */
  stats(): StoreStats {
    this.checkOpen();
    const totals = this.ctx.index.containerTotals();
    return computeStats(this.ctx.index.counters(), { count: totals.count, bytes: totals.bytes + this.ctx.containers.openBytes() });
  }

  /** Logical and unique bytes and objects, from the counters alone: what every write's quota check reads. */
  usage(): StoreUsage {
    this.checkOpen();
    return usageOf(this.ctx.index.counters());
  }

  /** How dedup lookups were answered since open: filter, locality cache or index. */
  lookupCounters(): { lookups: number; filterNegatives: number; localityHits: number; indexReads: number } {
    const d = this.ctx.directory;
    return { lookups: d.lookups, filterNegatives: d.filterNegatives, localityHits: d.localityHits, indexReads: d.indexReads };
  }

  verify(onProgress?: (p: VerifyProgress) => void): Promise<VerifyReport> {
    this.checkOpen();
    return verifyStore(this.ctx, this.reader.loadNode, onProgress);
  }

  /**
   * Collects garbage: marks everything live, deletes the sealed containers
   * that hold nothing live and copies the live chunks of sparse ones forward,
   * while writes and reads go on (src/store/collector.ts).
   */
  async collectGarbage(options: CollectOptions = {}): Promise<CollectionResult> {
    this.checkOpen();
    const r = await this.tracked(collect(this.ctx, this.dir, this.reader.loadNode, this.writers, { compactBelow: this.gc.policy().compactBelow, ...options, stop: this.stopping.signal }));
    this.gc.noteCollection(r);
    return r;
  }

  /** What a garbage collection would give back now, measured by a mark of everything live (changes nothing). */
  async estimateReclaimable(o: Parameters<typeof estimateReclaimable>[3] = {}): Promise<ReclaimEstimate> {
    this.checkOpen();
    const e = await this.tracked(estimateReclaimable(this.dir, this.ctx.index, this.reader.loadNode, { compactBelow: this.gc.policy().compactBelow, ...o, stop: this.stopping.signal }));
    this.gc.noteEstimate(e);
    return e;
  }

  /** Background work that close() must stop and wait for before the index closes. */
  private async tracked<T>(running: Promise<T>): Promise<T> {
    this.background.add(running);
    try {
      return await running;
    } finally {
      this.background.delete(running);
    }
  }

  /** The unit's collection policy (schedule, compaction threshold). */
  collectionPolicy(): CollectionPolicy {
    return this.gc.policy();
  }

  setCollectionPolicy(change: Partial<CollectionPolicy>): CollectionPolicy {
    this.checkOpen();
    return this.gc.setPolicy(change);
  }

  /** The last collection and reclaim estimate of this unit, kept across restarts. */
  lastCollection(): CollectionResult | null {
    return this.gc.lastCollection();
  }

  lastReclaimEstimate(): ReclaimEstimate | null {
    return this.gc.lastEstimate();
  }

  /**
   * Lets commits under way finish, aborts other streams, seals open containers,
   * saves the fingerprint filter for the next open (unless the unit is about to
   * be deleted) and releases the unit. A second call waits for the first.
   */
  close(options: { saveFilter?: boolean } = {}): Promise<void> {
    this.closing ??= this.shut(options.saveFilter ?? true);
    return this.closing;
  }

  private async shut(keepFilter: boolean): Promise<void> {
    // A collection or estimate stops at its next step (each step is whole in the index) before the index closes.
    this.stopping.abort();
    await Promise.allSettled([...this.background]);
    await Promise.allSettled([...this.writers].map((w) => w.abort()));
    try {
      await this.ctx.containers.sealAll();
      if (keepFilter) await this.saveFilter();
    } finally {
      this.ctx.index.close();
      this.lock.release();
    }
  }

  /** Saved for the next open; if it cannot be, that open reads the index instead. */
  private async saveFilter(): Promise<void> {
    const started = Date.now();
    try {
      const vouched = await saveFilter(this.dir, this.ctx.index, this.filter, () => indexMark(this.ctx.index));
      if (vouched) this.ctx.log('info', 'fingerprint filter saved', { bytes: this.filter.memoryBytes, ms: Date.now() - started });
      else this.ctx.log('info', 'fingerprint filter not saved: the index changed while it was written; the next open rebuilds it');
    } catch (err) {
      this.ctx.log('warn', 'could not save the fingerprint filter; the next open rebuilds it', { error: (err as Error).message });
    }
  }

  private row(key: string): ObjectRow {
    this.checkOpen();
    const row = this.ctx.index.getObject(encodeKey(key));
    if (!row) throw new NoSuchKeyError(key);
    return row;
  }

  private checkOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }
}

function loadOrCreateParameters(index: IndexDb, options: OpenOptions): UnitParameters {
  const stored = index.getMeta('unit_parameters');
  if (stored) return JSON.parse(stored) as UnitParameters;
  if (options.mustExist) throw new Error('no storage unit here');
  const c = options.create ?? {};
  const containerSize = c.containerSize ?? DEFAULT_CONTAINER_SIZE;
  if (!Number.isInteger(containerSize) || containerSize < 64 * 1024 || containerSize > 1024 * 1024 * 1024) {
    throw new RangeError('containerSize must be between 64 KiB and 1 GiB');
  }
  const level = c.compression?.level ?? DEFAULT_COMPRESSION_LEVEL;
  if (!Number.isInteger(level) || level < -7 || level > 19) throw new RangeError('compression level must be in [-7, 19]');
  const parameters: UnitParameters = {
    chunking: validateChunkingParameters(c.chunking ?? defaultChunkingParameters()),
    fingerprint: FINGERPRINT_ALGORITHM,
    compression: { codec: 'zstd', level },
    containerSize,
  };
  index.setMeta('unit_parameters', JSON.stringify(parameters));
  index.setMeta('created_ms', String(Date.now()));
  return parameters;
}
