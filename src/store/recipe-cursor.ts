import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import type { RecipeNode } from './recipe-format.js';

/** Loads a recipe node by fingerprint (checked against it). */
export type NodeLoader = (fp: Buffer, level: number) => Promise<RecipeNode>;

/** One data chunk of an object, where it falls in the object. */
export interface ChunkRef {
  fingerprint: Buffer;
  rawLength: number;
  /** Offset of the chunk's first byte within the object. */
  objectOffset: number;
}

interface Frame {
  node: RecipeNode;
  index: number;
  /** Object offset of the node's entry at index. */
  offset: number;
}

/** A stretch of bytes named as a plain list of chunks (fingerprints end to end, and their lengths). */
export interface ChunkList {
  fingerprints: Buffer;
  rawLengths: Uint32Array;
}

/** Walks a chunk list from a byte offset, as walkRecipe walks a recipe: no nodes to load. */
export function* walkChunkList(list: ChunkList, from: number): Generator<ChunkRef> {
  let offset = 0;
  for (let i = 0; i < list.rawLengths.length; i++) {
    const rawLength = list.rawLengths[i]!;
    if (offset + rawLength > from) {
      yield { fingerprint: list.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES), rawLength, objectOffset: offset };
    }
    offset += rawLength;
  }
}

/**
 * Walks an object's chunks in order from any byte offset. Seeking descends the
 * tree by subtree sizes: a ranged read of a huge object touches one node per
 * level before its first chunk, never the whole list.
 */
export async function* walkRecipe(
  load: NodeLoader,
  root: Buffer,
  height: number,
  from: number,
): AsyncGenerator<ChunkRef> {
  const stack: Frame[] = [];
  let node = await load(root, height - 1);
  let offset = 0;
  // Descend to the leaf holding `from`.
  for (;;) {
    let i = 0;
    while (i < node.count && offset + node.sizes[i]! <= from) offset += node.sizes[i++]!;
    if (i === node.count) return; // from is at or past the end
    if (node.level === 0) {
      stack.push({ node, index: i, offset });
      break;
    }
    // The parent resumes after this child; offset stays at the child's start.
    stack.push({ node, index: i + 1, offset: offset + node.sizes[i]! });
    node = await load(fingerprintAt(node, i), node.level - 1);
  }
  for (;;) {
    const top = stack[stack.length - 1]!;
    if (top.index < top.node.count) {
      const size = top.node.sizes[top.index]!;
      if (top.node.level === 0) {
        yield { fingerprint: fingerprintAt(top.node, top.index), rawLength: size, objectOffset: top.offset };
        top.offset += size;
        top.index++;
        continue;
      }
      const child = await load(fingerprintAt(top.node, top.index), top.node.level - 1);
      const childOffset = top.offset;
      top.offset += size;
      top.index++;
      stack.push({ node: child, index: 0, offset: childOffset });
      continue;
    }
    stack.pop();
    if (stack.length === 0) return;
  }
}

/** An object's leaf nodes in order: its chunks a node at a time, for walks that take every chunk. */
export async function* walkLeaves(load: NodeLoader, root: Buffer, height: number): AsyncGenerator<RecipeNode> {
  yield* leavesUnder(load, await load(root, height - 1));
}

async function* leavesUnder(load: NodeLoader, node: RecipeNode): AsyncGenerator<RecipeNode> {
  if (node.level === 0) {
    yield node;
    return;
  }
  for (let i = 0; i < node.count; i++) yield* leavesUnder(load, await load(fingerprintAt(node, i), node.level - 1));
}

export function fingerprintAt(node: RecipeNode, i: number): Buffer {
  return node.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
}
