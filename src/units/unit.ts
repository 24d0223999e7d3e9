import { Transform, type Readable } from 'node:stream';
import type { AdmittedChunks, OfferedChunk } from '../store/chunk-intake.js';
import type { ComposeCommitOptions, ComposedObject } from '../store/composed-object.js';
import { EntityTooLargeError } from '../store/errors.js';
import type { ObjectInfo } from '../store/object-info.js';
import { observed, type ByteSource } from '../store/push-source.js';
import type { CompleteOptions, PartInfo, PartOptions } from '../store/multipart.js';
import type { ByteRange, ChunkStore, GetResult, OpenedObject, PutOptions } from '../store/store.js';
import type { CollectOptions, CollectionResult } from '../store/collector.js';
import type { MarkProgress } from '../store/gc-mark.js';
import { policyProblem, type CollectionPolicy } from '../store/gc-state.js';
import type { ReclaimEstimate } from '../store/reclaim-estimate.js';
import { InvalidParametersError, QuotaExceededError } from './errors.js';
import { quotaState, type Quota, type QuotaState } from './quota.js';

export interface Traffic {
  /** Bytes written into the unit since the server started. */
  bytesIn: number;
  /** Bytes read out of the unit since the server started. */
  bytesOut: number;
}

/**
 * One registered storage unit as the faces use it: its store, with writes held
 * to the unit's quota and the traffic counted. Reads that need no quota go to
 * `store` directly.
 */
export class Unit {
  readonly traffic: Traffic = { bytesIn: 0, bytesOut: 0 };
  private lastState: QuotaState = 'ok';

  constructor(
    readonly name: string,
    readonly store: ChunkStore,
    private quotaRef: Quota,
    private readonly onQuotaState: (unit: string, state: QuotaState, logicalBytes: number) => void,
  ) {
    this.lastState = quotaState(quotaRef, store.usage().logicalBytes);
  }

  get quota(): Quota {
    return this.quotaRef;
  }

  set quota(q: Quota) {
    this.quotaRef = q;
    this.noteQuota();
  }

  get quotaState(): QuotaState {
    return quotaState(this.quotaRef, this.store.usage().logicalBytes);
  }

  /** Stores an object, refusing it whole (nothing stored) if it would cross the hard quota. */
  async put(key: string, source: ByteSource, options: PutOptions = {}): Promise<ObjectInfo> {
    const hard = this.quotaRef.hard;
    let sizeLimit = options.sizeLimit;
    if (hard !== null) {
      const replaced = await this.store.head(key).then((o) => o.size, () => 0);
      const room = Math.max(0, hard - this.store.usage().logicalBytes + replaced);
      sizeLimit = Math.min(sizeLimit ?? Number.POSITIVE_INFINITY, room);
    }
    const counted = this.countIn(source);
    try {
      const info = await this.store.put(key, counted, { ...this.heldToQuota(options), sizeLimit });
      this.noteQuota();
      return info;
    } catch (err) {
      if (err instanceof EntityTooLargeError && hard !== null && (options.sizeLimit === undefined || sizeLimit! < options.sizeLimit)) {
        throw new QuotaExceededError(this.name, hard);
      }
      throw err;
    }
  }

  /** Copies an object (sharing its recipe), held to the quota like a put. */
  async copy(source: string, target: string, options: Parameters<ChunkStore['copy']>[2] = {}): Promise<ObjectInfo> {
    const info = await this.store.copy(source, target, this.heldToQuota(options));
    this.noteQuota();
    return info;
  }

  /** Stores a part of a multipart upload; the hard quota already refuses a part that could never fit. */
  async putPart(uploadId: string, partNumber: number, source: ByteSource, options: PartOptions = {}): Promise<PartInfo> {
    const hard = this.quotaRef.hard;
    const room = hard === null ? Number.POSITIVE_INFINITY : Math.max(0, hard - this.store.usage().logicalBytes);
    try {
      return await this.store.putPart(uploadId, partNumber, this.countIn(source), {
        ...options,
        sizeLimit: Math.min(options.sizeLimit ?? Number.POSITIVE_INFINITY, room),
      });
    } catch (err) {
      if (err instanceof EntityTooLargeError && hard !== null && room < (options.sizeLimit ?? Number.POSITIVE_INFINITY)) {
        throw new QuotaExceededError(this.name, hard);
      }
      throw err;
    }
  }

  /** Completes a multipart upload, held to the quota like a put. */
  async completeUpload(uploadId: string, parts: { partNumber: number; etag?: string }[], options: CompleteOptions = {}): Promise<ObjectInfo> {
    const info = await this.store.completeUpload(uploadId, parts, this.heldToQuota(options));
    this.noteQuota();
    return info;
  }

  /**
   * Chunks a client pushed (source-side dedup), counted as traffic in. `frame` is consumed.
   * They are stored before any object names them, so the logical-bytes quota cannot hold them
   * back; instead the unit's chunk bytes (referenced or not) may never pass its hard quota. Live
   * objects always have at least as many logical bytes as unique chunk bytes, so this refuses
   * only a client that uploads without committing (or leftovers of abandoned pushes, until
   * garbage collection takes them).
   */
  admitChunks(frame: Buffer, offered: readonly OfferedChunk[]): Promise<AdmittedChunks> {
    const hard = this.quotaRef.hard;
    if (hard !== null) {
      const offeredBytes = offered.reduce((n, c) => n + c.rawLength, 0);
      if (this.store.usage().uniqueBytes + offeredBytes > hard) return Promise.reject(new QuotaExceededError(this.name, hard));
    }
    this.traffic.bytesIn += frame.length;
    return this.store.admitChunks(frame, offered);
  }

  /** Commits an object whose recipe a client sent, held to the quota like a put. */
  async commitComposed(composed: ComposedObject, options: ComposeCommitOptions): Promise<ObjectInfo> {
    const info = await composed.commit(this.heldToQuota(options));
    this.noteQuota();
    return info;
  }

  async estimateReclaimable(onProgress?: (p: MarkProgress) => void): Promise<ReclaimEstimate> {
    return this.store.estimateReclaimable({ ...(onProgress && { onProgress }) });
  }

  async collectGarbage(options: CollectOptions = {}): Promise<CollectionResult> {
    const r = await this.store.collectGarbage(options);
    this.noteQuota();
    return r;
  }

  /** Changes the unit's collection policy; bad values are refused whole. */
  setCollectionPolicy(change: Partial<CollectionPolicy>): CollectionPolicy {
    const problem = policyProblem(change);
    if (problem) throw new InvalidParametersError(problem);
    return this.store.setCollectionPolicy(change);
  }

  /** Reads an object, counting the bytes that leave. */
  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const r = await this.store.get(key, range);
    const traffic = this.traffic;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        traffic.bytesOut += chunk.length;
        done(null, chunk);
      },
    });
    const body: Readable = r.body.pipe(counter);
    r.body.on('error', (err) => counter.destroy(err));
    return { ...r, body };
  }

  /** Opens an object for a consumer that writes the bytes straight on, counting them as they leave. */
  async open(key: string, range?: ByteRange): Promise<OpenedObject> {
    const o = await this.store.open(key, range);
    const traffic = this.traffic;
    return {
      ...o,
      pump: (sink) =>
        o.pump((view) => {
          traffic.bytesOut += view.length;
          return sink(view);
        }),
    };
  }

  async delete(key: string): Promise<boolean> {
    const done = await this.store.delete(key);
    this.noteQuota();
    return done;
  }

  /** The options with the hard quota checked in the commit, before any check of the caller's own. */
  private heldToQuota<T extends { admit?: (change: { addedBytes: number; logicalBytes: number }) => void }>(options: T): T {
    return {
      ...options,
      admit: (change: { addedBytes: number; logicalBytes: number }) => {
        this.admit(change);
        options.admit?.(change);
      },
    };
  }

  private admit(change: { addedBytes: number; logicalBytes: number }): void {
    const hard = this.quotaRef.hard;
    if (hard !== null && change.addedBytes > 0 && change.logicalBytes + change.addedBytes > hard) {
      throw new QuotaExceededError(this.name, hard);
    }
  }

  private countIn(source: ByteSource): ByteSource {
    return observed(source, (bytes) => {
      this.traffic.bytesIn += bytes.length;
    });
  }

  private noteQuota(): void {
    const logical = this.store.usage().logicalBytes;
    const state = quotaState(this.quotaRef, logical);
    if (state !== this.lastState) {
      this.lastState = state;
      this.onQuotaState(this.name, state, logical);
    }
  }
}
