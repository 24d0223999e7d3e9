import type { ChunkLocation } from './index-db.js';

/**
 * Committed chunk locations, loaded a container at a time. A backup stream that
 * hits one chunk of a container usually goes on to the chunks stored beside it,
 * so one index read per container answers a whole duplicate run. Evicts the
 * least recently used container as a whole. The capacity counts chunks, not
 * containers: a container of 1 KiB chunks holds thirty times the entries of
 * one of 32 KiB chunks, and a cap in containers let such a unit's cache reach
 * hundreds of MiB (an entry costs about 200 bytes of heap).
 */
export class LocalityCache {
  private readonly byFingerprint = new Map<string, ChunkLocation>();
  /** Insertion order is recency order: a touched container is moved to the end. */
  private readonly containers = new Map<number, string[]>();

  private entries = 0;

  constructor(private readonly capacityChunks: number) {}

  get(fpKey: string): ChunkLocation | undefined {
    const loc = this.byFingerprint.get(fpKey);
    if (loc) this.touch(loc.container);
    return loc;
  }

  has(container: number): boolean {
    return this.containers.has(container);
  }

  /** Adds one container's committed chunks: [fingerprint, offset, stored length, raw length]. */
  load(container: number, rows: readonly [Buffer, number, number, number][]): void {
    this.evict(container);
    const keys: string[] = [];
    for (const [fp, offset, storedLength, rawLength] of rows) {
      const key = fingerprintKey(fp);
      keys.push(key);
      this.byFingerprint.set(key, { container, offset, storedLength, rawLength });
    }
    this.containers.set(container, keys);
    this.entries += keys.length;
    // The container just loaded always stays, whatever its size.
    while (this.entries > this.capacityChunks && this.containers.size > 1) {
      const oldest = this.containers.keys().next().value as number;
      this.evict(oldest);
    }
  }

  /** Forgets a container (its chunks moved or it was removed). */
  evict(container: number): void {
    const keys = this.containers.get(container);
    if (!keys) return;
    this.containers.delete(container);
    this.entries -= keys.length;
    for (const k of keys) {
      if (this.byFingerprint.get(k)?.container === container) this.byFingerprint.delete(k);
    }
  }

  private touch(container: number): void {
    const keys = this.containers.get(container);
    if (!keys) return;
    this.containers.delete(container);
    this.containers.set(container, keys);
  }
}

/** A map key for a fingerprint: latin1 maps each byte to one UTF-16 unit, losslessly. */
export function fingerprintKey(fp: Buffer, offset = 0): string {
  return fp.toString('latin1', offset, offset + 32);
}
