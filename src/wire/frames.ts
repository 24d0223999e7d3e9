/*
 * The binary frames of the source-side ingest protocol (docs/ingest-protocol.md),
 * shared by the server face (src/ingest) and the mover (src/client): pure
 * encoding and decoding, no I/O. Every frame is a 24-byte header, then the
 * body its kind defines. All integers are little-endian.
 *
 *   0  magic "CRNW"      4  version u16     6  kind u16
 *   8  count u32         12 reserved u32 (0) 16 sequence u64
 */

export const FRAME_MAGIC = 0x574e5243; // "CRNW" read little-endian
export const FRAME_VERSION = 1;
export const FRAME_HEADER_BYTES = 24;
export const FINGERPRINT_BYTES = 32;
/** fingerprint, raw length u32, stored length u32, codec u8, 7 reserved bytes. */
export const CHUNK_DESCRIPTOR_BYTES = 48;
/** fingerprint, raw length u32. */
export const RECIPE_ENTRY_BYTES = 36;
export const FRAME_MEDIA_TYPE = 'application/vnd.cairn.frame';

export const enum FrameKind {
  /** A query: which of these fingerprints does the unit lack? */
  Fingerprints = 1,
  /** The answer: one bit per queried fingerprint, set when it is missing. */
  Missing = 2,
  /** Chunks the unit lacked, each compressed (or raw) by the client. */
  Chunks = 3,
  /** The next entries of the object's recipe, in order; sequence is the first entry's index. */
  Recipe = 4,
}

/** Codecs a chunk may travel in; the numbers are those of the store's records. */
export const WIRE_CODECS = { raw: 0, zstd: 1 } as const;

export type WireErrorCode = 'BadMagic' | 'UnsupportedVersion' | 'WrongKind' | 'Truncated' | 'Malformed' | 'TooLarge';

/** A frame that is not what the protocol says it must be. */
export class WireError extends Error {
  override name = 'WireError';
  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface FrameHeader {
  kind: FrameKind;
  count: number;
  sequence: number;
}

export function writeFrameHeader(buf: Uint8Array, h: FrameHeader): void {
  const v = view(buf);
  v.setUint32(0, FRAME_MAGIC, true);
  v.setUint16(4, FRAME_VERSION, true);
  v.setUint16(6, h.kind, true);
  v.setUint32(8, h.count, true);
  v.setUint32(12, 0, true);
  v.setBigUint64(16, BigInt(h.sequence), true);
}

/** Reads and checks a frame header: magic, version, kind, the reserved word. */
export function readFrameHeader(buf: Uint8Array, expected: FrameKind): FrameHeader {
  if (buf.length < FRAME_HEADER_BYTES) throw new WireError('Truncated', `a frame needs a ${FRAME_HEADER_BYTES}-byte header; got ${buf.length} bytes`);
  const v = view(buf);
  if (v.getUint32(0, true) !== FRAME_MAGIC) throw new WireError('BadMagic', 'not a Cairn ingest frame (bad magic)');
  const version = v.getUint16(4, true);
  if (version !== FRAME_VERSION) throw new WireError('UnsupportedVersion', `frame version ${version} is not supported (this server speaks ${FRAME_VERSION})`);
  const kind = v.getUint16(6, true) as FrameKind;
  if (kind !== expected) throw new WireError('WrongKind', `expected a frame of kind ${expected}, got ${kind}`);
  if (v.getUint32(12, true) !== 0) throw new WireError('Malformed', 'reserved header bytes must be zero');
  const sequence = v.getBigUint64(16, true);
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('Malformed', 'sequence out of range');
  return { kind, count: v.getUint32(8, true), sequence: Number(sequence) };
}

/** A query frame over n fingerprints laid end to end. */
export function encodeFingerprints(fingerprints: Uint8Array): Buffer {
  if (fingerprints.length % FINGERPRINT_BYTES !== 0) throw new RangeError('fingerprints must be whole 32-byte values');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + fingerprints.length);
  writeFrameHeader(out, { kind: FrameKind.Fingerprints, count: fingerprints.length / FINGERPRINT_BYTES, sequence: 0 });
  out.set(fingerprints, FRAME_HEADER_BYTES);
  return out;
}

/** The fingerprints of a query frame, as one view (32 bytes each). */
export function decodeFingerprints(buf: Uint8Array, maxCount: number): Buffer {
  const h = readFrameHeader(buf, FrameKind.Fingerprints);
  if (h.count > maxCount) throw new WireError('TooLarge', `a query may carry at most ${maxCount} fingerprints; this one has ${h.count}`);
  expectLength(buf, FRAME_HEADER_BYTES + h.count * FINGERPRINT_BYTES);
  return asBuffer(buf).subarray(FRAME_HEADER_BYTES);
}

/** The answer to a query of `count` fingerprints: bit i (least significant first) set when fingerprint i is missing. */
export function encodeMissing(missing: (i: number) => boolean, count: number): Buffer {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + Math.ceil(count / 8));
  writeFrameHeader(out, { kind: FrameKind.Missing, count, sequence: 0 });
  for (let i = 0; i < count; i++) if (missing(i)) out[FRAME_HEADER_BYTES + (i >> 3)]! |= 1 << (i & 7);
  return out;
}

/** Which of the `count` queried fingerprints are missing. */
export function decodeMissing(buf: Uint8Array, count: number): boolean[] {
  const h = readFrameHeader(buf, FrameKind.Missing);
  if (h.count !== count) throw new WireError('Malformed', `the answer covers ${h.count} fingerprints, the query had ${count}`);
  expectLength(buf, FRAME_HEADER_BYTES + Math.ceil(count / 8));
  const out: boolean[] = new Array<boolean>(count);
  for (let i = 0; i < count; i++) out[i] = (buf[FRAME_HEADER_BYTES + (i >> 3)]! & (1 << (i & 7))) !== 0;
  return out;
}

/** One chunk of a chunks frame, as positions within the frame. */
export interface ChunkDescriptor {
  fingerprintOffset: number;
  rawLength: number;
  storedLength: number;
  codec: number;
  payloadOffset: number;
}

/** Where a chunks frame of `count` chunks has its first payload byte. */
export function chunkPayloadsStart(count: number): number {
  return FRAME_HEADER_BYTES + count * CHUNK_DESCRIPTOR_BYTES;
}

/** Writes chunk i's descriptor (the payloads follow every descriptor, in the same order). */
export function writeChunkDescriptor(buf: Uint8Array, i: number, fingerprint: Uint8Array, rawLength: number, storedLength: number, codec: number): void {
  const at = FRAME_HEADER_BYTES + i * CHUNK_DESCRIPTOR_BYTES;
  buf.set(fingerprint.subarray(0, FINGERPRINT_BYTES), at);
  const v = view(buf);
  v.setUint32(at + 32, rawLength, true);
  v.setUint32(at + 36, storedLength, true);
  buf.fill(0, at + 40, at + CHUNK_DESCRIPTOR_BYTES);
  v.setUint8(at + 40, codec);
}

/** The most bytes zstd may take for `raw` bytes (its ZSTD_COMPRESSBOUND): no honest chunk is stored larger. */
export function storedLengthBound(raw: number): number {
  return raw + (raw >>> 8) + (raw < 128 * 1024 ? (128 * 1024 - raw) >>> 11 : 0);
}

/** Chunks frames may always be this big; a unit whose largest chunk needs more allows one such chunk. */
export const BASE_FRAME_BYTES = 16 * 1024 * 1024;

/** The largest chunks frame a unit with this maximum chunk size accepts: room for at least one incompressible chunk. */
export function chunkFrameLimit(maxChunkSize: number): number {
  return Math.max(BASE_FRAME_BYTES, chunkPayloadsStart(1) + storedLengthBound(maxChunkSize));
}

export interface ChunkLimits {
  maxCount: number;
  /** The unit's maximum chunk size: no chunk may claim more. */
  maxRawLength: number;
  /** The most stored bytes a chunk of maxRawLength may take (a compression bound). */
  maxStoredLength: number;
}

/** Checks a chunks frame's layout (every length adds up exactly) and returns its chunks. */
export function decodeChunks(buf: Uint8Array, limits: ChunkLimits): ChunkDescriptor[] {
  const h = readFrameHeader(buf, FrameKind.Chunks);
  if (h.count > limits.maxCount) throw new WireError('TooLarge', `a chunks frame may carry at most ${limits.maxCount} chunks; this one has ${h.count}`);
  const start = chunkPayloadsStart(h.count);
  if (buf.length < start) throw new WireError('Truncated', `the frame ends inside its chunk descriptors (${buf.length} of ${start} bytes)`);
  const v = view(buf);
  const out: ChunkDescriptor[] = [];
  let payloadOffset = start;
  for (let i = 0; i < h.count; i++) {
    const at = FRAME_HEADER_BYTES + i * CHUNK_DESCRIPTOR_BYTES;
    const rawLength = v.getUint32(at + 32, true);
    const storedLength = v.getUint32(at + 36, true);
    const codec = v.getUint8(at + 40);
    for (let r = at + 41; r < at + CHUNK_DESCRIPTOR_BYTES; r++) if (buf[r] !== 0) throw new WireError('Malformed', `chunk ${i}: reserved bytes must be zero`);
    if (codec !== WIRE_CODECS.raw && codec !== WIRE_CODECS.zstd) throw new WireError('Malformed', `chunk ${i}: unknown codec ${codec}`);
    if (rawLength === 0 || rawLength > limits.maxRawLength) {
      throw new WireError('Malformed', `chunk ${i}: raw length ${rawLength} is outside 1..${limits.maxRawLength}, the unit's maximum chunk size`);
    }
    if (storedLength === 0 || storedLength > Math.min(limits.maxStoredLength, storedLengthBound(rawLength)) || (codec === WIRE_CODECS.raw && storedLength !== rawLength)) {
      throw new WireError('Malformed', `chunk ${i}: stored length ${storedLength} is not possible for raw length ${rawLength} and codec ${codec}`);
    }
    out.push({ fingerprintOffset: at, rawLength, storedLength, codec, payloadOffset });
    payloadOffset += storedLength;
    if (payloadOffset > buf.length) throw new WireError('Truncated', `the frame ends inside chunk ${i}'s payload (${buf.length} of at least ${payloadOffset} bytes)`);
  }
  if (payloadOffset !== buf.length) throw new WireError('Malformed', `${buf.length - payloadOffset} bytes follow the last chunk's payload`);
  return out;
}

/** One entry of an object's recipe: a chunk, by fingerprint and length. */
export interface RecipeEntry {
  fingerprint: Uint8Array;
  rawLength: number;
}

/** A recipe frame whose first entry is entry number `sequence` of the object. */
export function encodeRecipe(sequence: number, fingerprints: Uint8Array, rawLengths: ArrayLike<number>): Buffer {
  const n = rawLengths.length;
  if (fingerprints.length !== n * FINGERPRINT_BYTES) throw new RangeError('one fingerprint per raw length');
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + n * RECIPE_ENTRY_BYTES);
  writeFrameHeader(out, { kind: FrameKind.Recipe, count: n, sequence });
  for (let i = 0; i < n; i++) {
    const at = FRAME_HEADER_BYTES + i * RECIPE_ENTRY_BYTES;
    out.set(fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES), at);
    out.writeUInt32LE(rawLengths[i]!, at + FINGERPRINT_BYTES);
  }
  return out;
}

export interface DecodedRecipe {
  sequence: number;
  entries: RecipeEntry[];
}

export function decodeRecipe(buf: Uint8Array, maxCount: number, maxRawLength: number): DecodedRecipe {
  const h = readFrameHeader(buf, FrameKind.Recipe);
  if (h.count > maxCount) throw new WireError('TooLarge', `a recipe frame may carry at most ${maxCount} entries; this one has ${h.count}`);
  expectLength(buf, FRAME_HEADER_BYTES + h.count * RECIPE_ENTRY_BYTES);
  const b = asBuffer(buf);
  const entries: RecipeEntry[] = [];
  for (let i = 0; i < h.count; i++) {
    const at = FRAME_HEADER_BYTES + i * RECIPE_ENTRY_BYTES;
    const rawLength = b.readUInt32LE(at + FINGERPRINT_BYTES);
    if (rawLength === 0 || rawLength > maxRawLength) throw new WireError('Malformed', `entry ${i}: raw length ${rawLength} is outside 1..${maxRawLength}`);
    entries.push({ fingerprint: b.subarray(at, at + FINGERPRINT_BYTES), rawLength });
  }
  return { sequence: h.sequence, entries };
}

function expectLength(buf: Uint8Array, length: number): void {
  if (buf.length < length) throw new WireError('Truncated', `the frame is ${buf.length} bytes; its header announces ${length}`);
  if (buf.length > length) throw new WireError('Malformed', `the frame is ${buf.length} bytes; its header announces ${length}`);
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}
