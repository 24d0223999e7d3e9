import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { FormatError } from './container-format.js';

/*
 * A recipe node (docs/format.md): a 16-byte header, then entries. A leaf lists
 * data chunks (fingerprint, raw length); an interior node lists child nodes
 * (fingerprint, bytes of object data below it). Nodes are stored as chunks of
 * kind Recipe, so identical runs of a repeated backup share them.
 */
export const RECIPE_MAGIC = 0x50435243; // "CRCP"
export const RECIPE_VERSION = 1;
export const RECIPE_HEADER_BYTES = 16;
export const LEAF_ENTRY_BYTES = FINGERPRINT_BYTES + 4;
export const INTERIOR_ENTRY_BYTES = FINGERPRINT_BYTES + 8;

/** Entries per node: content-defined between these bounds, about 1 in RECIPE_FANOUT. */
export const RECIPE_MIN_ENTRIES = 32;
export const RECIPE_FANOUT = 256;
export const RECIPE_MAX_ENTRIES = 2048;

export interface RecipeNode {
  level: number;
  count: number;
  /** count fingerprints, end to end. */
  fingerprints: Buffer;
  /** Raw length of each chunk (leaf) or data bytes under each child (interior). */
  sizes: number[];
}

export function encodeRecipeNode(level: number, fingerprints: Uint8Array, sizes: readonly number[]): Buffer {
  const count = sizes.length;
  const entryBytes = level === 0 ? LEAF_ENTRY_BYTES : INTERIOR_ENTRY_BYTES;
  const b = Buffer.alloc(RECIPE_HEADER_BYTES + count * entryBytes);
  b.writeUInt32LE(RECIPE_MAGIC, 0);
  b.writeUInt8(RECIPE_VERSION, 4);
  b.writeUInt8(level, 5);
  b.writeUInt32LE(count, 8);
  let o = RECIPE_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    b.set(fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES), o);
    if (level === 0) b.writeUInt32LE(sizes[i]!, o + FINGERPRINT_BYTES);
    else b.writeBigUInt64LE(BigInt(sizes[i]!), o + FINGERPRINT_BYTES);
    o += entryBytes;
  }
  return b;
}

export function decodeRecipeNode(b: Buffer): RecipeNode {
  if (b.length < RECIPE_HEADER_BYTES || b.readUInt32LE(0) !== RECIPE_MAGIC) throw new FormatError('not a recipe node');
  const version = b.readUInt8(4);
  if (version !== RECIPE_VERSION) throw new FormatError(`unsupported recipe version ${version}`);
  const level = b.readUInt8(5);
  const count = b.readUInt32LE(8);
  const entryBytes = level === 0 ? LEAF_ENTRY_BYTES : INTERIOR_ENTRY_BYTES;
  if (b.length !== RECIPE_HEADER_BYTES + count * entryBytes) throw new FormatError('recipe node length mismatch');
  const fingerprints = Buffer.alloc(count * FINGERPRINT_BYTES);
  const sizes = new Array<number>(count);
  let o = RECIPE_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    b.copy(fingerprints, i * FINGERPRINT_BYTES, o, o + FINGERPRINT_BYTES);
    sizes[i] = level === 0 ? b.readUInt32LE(o + FINGERPRINT_BYTES) : Number(b.readBigUInt64LE(o + FINGERPRINT_BYTES));
    o += entryBytes;
  }
  return { level, count, fingerprints, sizes };
}

/** True where a node may end after this entry: a content-defined cut on the fingerprint. */
export function isNodeBoundary(fp: Uint8Array, offset: number): boolean {
  const tail = fp[offset + 30]! | (fp[offset + 31]! << 8);
  return (tail & (RECIPE_FANOUT - 1)) === 0;
}
