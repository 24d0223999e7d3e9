import { native } from './native.js';

const INITIAL = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

/**
 * One stream's MD5, in a form the native code can advance several at a time:
 * MD5 is a serial chain, so one stream runs no faster than one core's chain,
 * but streams hashed together share the core (see md5Update).
 * The state is four words and the bytes of an unfinished block.
 */
export class Md5State {
  readonly words = Uint32Array.from(INITIAL);
  /** The bytes after the last whole block, until a block is whole. */
  readonly partial = new Uint8Array(64);
  partialLength = 0;
  /** Bytes hashed so far. */
  length = 0;
}

/**
 * Advances each state by its data, the states side by side (their chains
 * interleaved, or vector lanes) unless `sideBySide` is false, the reference
 * the tests hold side by side to. A state appears at most once.
 */
export function md5Update(items: readonly { state: Md5State; data: Uint8Array }[], sideBySide = true): void {
  if (new Set(items.map((i) => i.state)).size !== items.length) throw new Error('md5Update: a state appears twice');
  // First each state's unfinished block, where the data completes it; then the data's whole blocks.
  const heads: Md5State[] = [];
  const bodies: { state: Md5State; blocks: Uint8Array }[] = [];
  const rests: { state: Md5State; rest: Uint8Array }[] = [];
  for (const { state, data } of items) {
    const { headWhole, blocks, rest } = split(state, data);
    if (headWhole) heads.push(state);
    if (blocks.length > 0) bodies.push({ state, blocks });
    if (rest.length > 0) rests.push({ state, rest });
  }
  advance(heads.map((state) => ({ state, blocks: state.partial })), sideBySide);
  advance(bodies, sideBySide);
  for (const { state, rest } of rests) keep(state, rest);
}

/**
 * Begins an update of one state by data, for work that rides along with the
 * chain (see md5-fingerprints.ts): the state's unfinished block is completed
 * and hashed now, and the whole blocks after it returned. The caller advances
 * state.words over them, then calls done(), which keeps the rest for later.
 */
export function md5Begin(state: Md5State, data: Uint8Array): { blocks: Uint8Array; done(): void } {
  const { headWhole, blocks, rest } = split(state, data);
  if (headWhole) advance([{ state, blocks: state.partial }], false);
  return { blocks, done: () => keep(state, rest) };
}

/**
 * Counts data into state and completes its unfinished block from data's start
 * (headWhole: it is now whole, to be hashed before the blocks); the whole
 * blocks after that, and the rest, which becomes the unfinished block once the
 * blocks are hashed.
 */
function split(state: Md5State, data: Uint8Array): { headWhole: boolean; blocks: Uint8Array; rest: Uint8Array } {
  state.length += data.length;
  let offset = 0;
  let headWhole = false;
  if (state.partialLength > 0) {
    offset = Math.min(64 - state.partialLength, data.length);
    state.partial.set(data.subarray(0, offset), state.partialLength);
    state.partialLength += offset;
    if (state.partialLength === 64) {
      state.partialLength = 0;
      headWhole = true;
    }
  }
  const whole = (data.length - offset) & ~63;
  return { headWhole, blocks: data.subarray(offset, offset + whole), rest: data.subarray(offset + whole) };
}

function keep(state: Md5State, rest: Uint8Array): void {
  if (rest.length === 0) return;
  state.partial.set(rest, 0);
  state.partialLength = rest.length;
}

/** The digest of everything hashed (the state is spent). */
export function md5Digest(state: Md5State): Buffer {
  const tail = new Uint8Array(state.partialLength < 56 ? 64 : 128);
  tail.set(state.partial.subarray(0, state.partialLength));
  tail[state.partialLength] = 0x80;
  const view = new DataView(tail.buffer);
  const bits = state.length * 8;
  view.setUint32(tail.length - 8, bits % 2 ** 32, true);
  view.setUint32(tail.length - 4, Math.floor(bits / 2 ** 32), true);
  advance([{ state, blocks: tail }], false);
  const out = Buffer.allocUnsafe(16);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(state.words[i]!, 4 * i);
  return out;
}

/** The native call takes at most 64 lanes. */
const MAX_LANES = 64;

function advance(lanes: readonly { state: Md5State; blocks: Uint8Array }[], sideBySide: boolean): void {
  for (let i = 0; i < lanes.length; i += MAX_LANES) advanceAtOnce(lanes.slice(i, i + MAX_LANES), sideBySide);
}

function advanceAtOnce(lanes: readonly { state: Md5State; blocks: Uint8Array }[], sideBySide: boolean): void {
  if (lanes.length === 0) return;
  const words = new Uint32Array(4 * lanes.length);
  lanes.forEach(({ state }, i) => words.set(state.words, 4 * i));
  native.md5Lanes(words, lanes.map((l) => l.blocks), sideBySide);
  lanes.forEach(({ state }, i) => state.words.set(words.subarray(4 * i, 4 * i + 4)));
}
