import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { FingerprintFilter, PROBES, type SavedLayer } from './bloom-filter.js';
import { xxh64 } from './container-format.js';
import { syncDirectory, writeFully } from './fs-durability.js';
import type { IndexDb } from './index-db.js';

/**
 * The fingerprint filter, saved when a unit closes so that the next open need
 * not read every fingerprint in the index (2-2.3 s a million chunks here). The
 * file is trusted only with the index's word for it: closing writes the file,
 * makes it durable, then records its token in the index's meta table; opening
 * deletes that token before anything can be written. A unit that was written
 * after an open and never closed has no token, so its file is not read; one
 * written by a build that keeps no token has moved the marks the file carries.
 */
export const FILTER_FILE = 'fingerprint-filter';
const TOKEN_META = 'fingerprint_filter';
const MAGIC = Buffer.from('CAIRNBLM', 'latin1');
const VERSION = 1;
const HEADER_BYTES = 64;
const LAYER_HEADER_BYTES = 32;
/** The file as it is written, renamed into place once durable. */
const PARTIAL = '.partial';
/**
 * A filter that has seen this many more fingerprints than the index holds is
 * rebuilt instead: the chunks collections removed still answer "maybe", and
 * each such answer for new data costs an index read.
 */
const STALE_FACTOR = 2;
/**
 * Layers past this many are rebuilt into one: every layer adds its own false
 * "maybe" rate, and a unit that grew across many closes would keep them all,
 * where a rebuild sizes one layer for twice its chunks.
 */
const MOST_LAYERS = 3;
/** The bits are written as the host holds them; every target Cairn builds for is little-endian. */
const LITTLE_ENDIAN = endianness() === 'LE';

/** What the file must have been saved beside: the index as it stood when the unit closed. */
export interface IndexMark {
  /** Data and recipe chunks in the index. */
  chunks: number;
  /** IndexDb.containerHighWater(). */
  containerHighWater: number;
}

export type FilterSource = { filter: FingerprintFilter; loaded: true } | { filter: null; loaded: false; why: string };

/**
 * The saved filter, if the index vouches for it and it reads back whole;
 * otherwise null and why. Either way the index's token is gone afterwards and
 * the file removed: the unit may be written from here on.
 */
export function takeSavedFilter(unitDir: string, index: IndexDb, mark: IndexMark): FilterSource {
  const path = join(unitDir, FILTER_FILE);
  const token = index.getMeta(TOKEN_META);
  try {
    if (token === undefined) {
      const why = mark.chunks === 0 && mark.containerHighWater === 0 ? 'a new unit' : 'the unit was not closed since it was last opened';
      return { filter: null, loaded: false, why };
    }
    if (!LITTLE_ENDIAN) return { filter: null, loaded: false, why: 'a big-endian host' };
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      return { filter: null, loaded: false, why: `no filter file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
    }
    return decode(data, token, mark);
  } finally {
    if (token !== undefined) index.deleteMeta(TOKEN_META);
    rmSync(path, { force: true });
    rmSync(`${path}${PARTIAL}`, { force: true });
  }
}

function decode(data: Buffer, token: string, mark: IndexMark): FilterSource {
  const refuse = (why: string): FilterSource => ({ filter: null, loaded: false, why });
  if (data.length < HEADER_BYTES || !data.subarray(0, 8).equals(MAGIC)) return refuse('not a filter file');
  if (data.readBigUInt64LE(56) !== xxh64(data.subarray(0, 56))) return refuse('its header checksum does not match');
  const version = data.readUInt16LE(8);
  if (version !== VERSION) return refuse(`version ${version}, this build reads ${VERSION}`);
  if (data.readUInt16LE(10) !== HEADER_BYTES || data.readUInt32LE(16) !== PROBES) return refuse('a layout this build does not read');
  if (data.subarray(24, 40).toString('hex') !== token) return refuse('the index holds another token');
  const savedCount = Number(data.readBigUInt64LE(40));
  if (savedCount !== mark.chunks) return refuse(`saved beside ${savedCount} chunks, the index holds ${mark.chunks}`);
  const savedHighWater = Number(data.readBigUInt64LE(48));
  if (savedHighWater !== mark.containerHighWater) {
    return refuse(`saved when container ${savedHighWater} was the newest, the index has made ${mark.containerHighWater}`);
  }
  const bitsPerEntry = data.readUInt32LE(12);
  const layerCount = data.readUInt32LE(20);
  if (layerCount > MOST_LAYERS) return refuse(`${layerCount} layers, to be made one`);
  const layers: SavedLayer[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < layerCount; i++) {
    if (at + LAYER_HEADER_BYTES > data.length) return refuse('it ends inside a layer');
    const capacity = Number(data.readBigUInt64LE(at));
    const count = Number(data.readBigUInt64LE(at + 8));
    const words = Number(data.readBigUInt64LE(at + 16));
    const start = at + LAYER_HEADER_BYTES;
    if (start + words * 4 > data.length) return refuse('it ends inside a layer');
    const bytes = data.subarray(start, start + words * 4);
    if (data.readBigUInt64LE(at + 24) !== xxh64(bytes)) return refuse(`layer ${i}'s checksum does not match`);
    // The file's own memory where it is aligned for a Uint32Array (a file read whole has a buffer to
    // itself), or else a copy: a filter of 50 million chunks is 128 MiB, and a copy would hold it twice.
    const aligned = bytes.byteOffset % 4 === 0;
    const bits = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, words) : new Uint32Array(words);
    if (!aligned) Buffer.from(bits.buffer).set(bytes);
    layers.push({ capacity, count, bits });
    at = start + words * 4;
  }
  if (at !== data.length) return refuse('bytes after its last layer');
  let filter: FingerprintFilter;
  try {
    filter = FingerprintFilter.restore(bitsPerEntry, layers);
  } catch (err) {
    return refuse((err as Error).message);
  }
  if (filter.added > STALE_FACTOR * mark.chunks + (1 << 20)) return refuse(`it has seen ${filter.added} fingerprints for ${mark.chunks} chunks`);
  return { filter, loaded: true };
}

/**
 * Writes the filter beside the index and then vouches for it there. Called
 * when nothing adds to the filter any more: the unit's writers are done.
 * Returns whether it vouched: not if the index moved while the file was
 * written (work close() did not wait for), nor on a big-endian host.
 */
export async function saveFilter(unitDir: string, index: IndexDb, filter: FingerprintFilter, markNow: () => IndexMark): Promise<boolean> {
  if (!LITTLE_ENDIAN) return false;
  const mark = markNow();
  const token = randomBytes(16);
  const layers = filter.saved();
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt16LE(VERSION, 8);
  header.writeUInt16LE(HEADER_BYTES, 10);
  header.writeUInt32LE(filter.bitsPerEntry, 12);
  header.writeUInt32LE(PROBES, 16);
  header.writeUInt32LE(layers.length, 20);
  token.copy(header, 24);
  header.writeBigUInt64LE(BigInt(mark.chunks), 40);
  header.writeBigUInt64LE(BigInt(mark.containerHighWater), 48);
  header.writeBigUInt64LE(xxh64(header.subarray(0, 56)), 56);
  const pieces: Uint8Array[] = [header];
  for (const l of layers) {
    const bytes = Buffer.from(l.bits.buffer, l.bits.byteOffset, l.bits.byteLength);
    const lh = Buffer.alloc(LAYER_HEADER_BYTES);
    lh.writeBigUInt64LE(BigInt(l.capacity), 0);
    lh.writeBigUInt64LE(BigInt(l.count), 8);
    lh.writeBigUInt64LE(BigInt(l.bits.length), 16);
    lh.writeBigUInt64LE(xxh64(bytes), 24);
    pieces.push(lh, bytes);
  }
  const path = join(unitDir, FILTER_FILE);
  const partial = `${path}${PARTIAL}`;
  try {
    await writeDurably(partial, pieces);
    await rename(partial, path);
  } catch (err) {
    // A full disk is the likeliest cause: the partial file must not stay on it.
    await rm(partial, { force: true }).catch(() => undefined);
    throw err;
  }
  await syncDirectory(path);
  const after = markNow();
  if (after.chunks !== mark.chunks || after.containerHighWater !== mark.containerHighWater) return false;
  // Only now, with the file durable under its name: a crash before this line leaves no token, so the file is not read.
  index.setMeta(TOKEN_META, token.toString('hex'));
  return true;
}

async function writeDurably(path: string, pieces: readonly Uint8Array[]): Promise<void> {
  const handle = await open(path, 'w', 0o600);
  try {
    let position = 0;
    for (const piece of pieces) {
      await writeFully(handle, piece, position);
      position += piece.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}
