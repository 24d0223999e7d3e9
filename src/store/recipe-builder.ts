import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import {
  RECIPE_MAX_ENTRIES,
  RECIPE_MIN_ENTRIES,
  encodeRecipeNode,
  isNodeBoundary,
} from './recipe-format.js';

/** Stores one encoded node and returns its fingerprint. */
export type NodeSink = (node: Buffer, level: number) => Buffer;

export interface RecipeRoot {
  /** Null for an empty object. */
  root: Buffer | null;
  /** Levels of nodes: 1 when the root is a leaf, 0 when there is no root. */
  height: number;
}

/**
 * Builds an object's recipe tree as its chunks stream past, holding one
 * unfinished node per level: memory grows with the log of the object's size.
 * Node ends are content-defined (on the fingerprints), so an edit only
 * changes the nodes around it and the path above them.
 */
export class RecipeBuilder {
  private readonly levels: Level[] = [new Level(0)];

  constructor(private readonly sink: NodeSink) {}

  add(fingerprints: Uint8Array, offset: number, rawLength: number): void {
    this.addAt(0, fingerprints, offset, rawLength);
  }

  finish(): RecipeRoot {
    for (let level = 0; ; level++) {
      const acc = this.levels[level]!;
      if (level === this.levels.length - 1) {
        if (acc.count === 0) return { root: null, height: 0 };
        // A top node with a single child adds nothing: its child is the root.
        if (acc.count === 1 && level > 0) return { root: Buffer.from(acc.fingerprint(0)), height: level };
        return { root: this.sink(acc.encode(), level), height: level + 1 };
      }
      if (acc.count > 0) this.close(level);
    }
  }

  private addAt(level: number, fps: Uint8Array, offset: number, size: number): void {
    const acc = this.levels[level]!;
    acc.push(fps, offset, size);
    if ((acc.count >= RECIPE_MIN_ENTRIES && isNodeBoundary(fps, offset)) || acc.count >= RECIPE_MAX_ENTRIES) {
      this.close(level);
    }
  }

  private close(level: number): void {
    const acc = this.levels[level]!;
    const fp = this.sink(acc.encode(), level);
    const bytes = acc.bytes;
    acc.reset();
    if (this.levels.length === level + 1) this.levels.push(new Level(level + 1));
    this.addAt(level + 1, fp, 0, bytes);
  }
}

/** Entries a level has room for at first: a small object's recipe is a node of a few entries. */
const FIRST_ROOM = 64;

class Level {
  /**
   * Grown as entries come, up to a full node's: every stream (a small put, a
   * part) has a level, and a full node's 64 KiB, zeroed for each, cost a
   * multipart upload's main thread about 0.4 ms a part on this host.
   */
  private fps = Buffer.allocUnsafe(FIRST_ROOM * FINGERPRINT_BYTES);
  private sizes: number[] = [];
  bytes = 0;

  constructor(readonly level: number) {}

  get count(): number {
    return this.sizes.length;
  }

  push(fps: Uint8Array, offset: number, size: number): void {
    const at = this.sizes.length * FINGERPRINT_BYTES;
    if (at === this.fps.length) {
      const grown = Buffer.allocUnsafe(Math.min(2 * this.fps.length, RECIPE_MAX_ENTRIES * FINGERPRINT_BYTES));
      this.fps.copy(grown);
      this.fps = grown;
    }
    this.fps.set(fps.subarray(offset, offset + FINGERPRINT_BYTES), at);
    this.sizes.push(size);
    this.bytes += size;
  }

  fingerprint(i: number): Buffer {
    return this.fps.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
  }

  encode(): Buffer {
    return encodeRecipeNode(this.level, this.fps, this.sizes);
  }

  reset(): void {
    this.sizes = [];
    this.bytes = 0;
  }
}
