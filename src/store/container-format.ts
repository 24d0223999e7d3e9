import { native } from '../chunking/native.js';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';

/*
 * A container file (docs/format.md): a 64-byte header, then records laid end to
 * end, each a 64-byte record header and its stored bytes; once sealed, a footer
 * listing every record and a 32-byte trailer that locates the footer.
 * All integers are little-endian.
 */

export const CONTAINER_MAGIC = Buffer.from('CAIRNCTR', 'latin1');
export const CONTAINER_VERSION = 1;
export const CONTAINER_HEADER_BYTES = 64;

export const RECORD_MAGIC = 0x4b4e4843; // "CHNK"
export const RECORD_VERSION = 1;
export const RECORD_HEADER_BYTES = 64;

export const FOOTER_ENTRY_BYTES = 48;
export const TRAILER_MAGIC = Buffer.from('CAIRNEND', 'latin1');
export const TRAILER_BYTES = 32;

/** What a record holds. On disk: never renumber. */
export const enum ChunkKind {
  Data = 0,
  Recipe = 1,
}

export const FINGERPRINT_SHA256 = 1;

/** Thrown for any bytes that are not what the format says they must be. */
export class FormatError extends Error {
  override name = 'FormatError';
}

export function xxh64(data: Uint8Array): bigint {
  return native.xxh64(data);
}

export interface ContainerHeader {
  id: number;
  createdMs: number;
}

export function encodeContainerHeader(h: ContainerHeader): Buffer {
  const b = Buffer.alloc(CONTAINER_HEADER_BYTES);
  CONTAINER_MAGIC.copy(b, 0);
  b.writeUInt16LE(CONTAINER_VERSION, 8);
  b.writeUInt16LE(CONTAINER_HEADER_BYTES, 10);
  b.writeUInt32LE(0, 12);
  b.writeBigUInt64LE(BigInt(h.id), 16);
  b.writeBigUInt64LE(BigInt(h.createdMs), 24);
  b.writeUInt8(FINGERPRINT_SHA256, 32);
  b.writeBigUInt64LE(xxh64(b.subarray(0, 56)), 56);
  return b;
}

export function decodeContainerHeader(b: Uint8Array): ContainerHeader {
  const buf = asBuffer(b);
  if (buf.length < CONTAINER_HEADER_BYTES) throw new FormatError('container header truncated');
  if (!buf.subarray(0, 8).equals(CONTAINER_MAGIC)) throw new FormatError('not a cairn container (bad magic)');
  const version = buf.readUInt16LE(8);
  if (version !== CONTAINER_VERSION) throw new FormatError(`unsupported container version ${version}`);
  if (buf.readBigUInt64LE(56) !== xxh64(buf.subarray(0, 56))) throw new FormatError('container header checksum mismatch');
  if (buf.readUInt8(32) !== FINGERPRINT_SHA256) throw new FormatError('unknown fingerprint algorithm');
  return { id: Number(buf.readBigUInt64LE(16)), createdMs: Number(buf.readBigUInt64LE(24)) };
}

/** One record's header, as stored. */
export interface RecordHeader {
  kind: ChunkKind;
  codec: number;
  rawLength: number;
  storedLength: number;
  fingerprint: Buffer;
  payloadChecksum: bigint;
}

export function writeRecordHeader(dst: Buffer, offset: number, h: RecordHeader): void {
  dst.writeUInt32LE(RECORD_MAGIC, offset);
  dst.writeUInt8(RECORD_VERSION, offset + 4);
  dst.writeUInt8(h.kind, offset + 5);
  dst.writeUInt8(h.codec, offset + 6);
  dst.writeUInt8(0, offset + 7);
  dst.writeUInt32LE(h.rawLength, offset + 8);
  dst.writeUInt32LE(h.storedLength, offset + 12);
  h.fingerprint.copy(dst, offset + 16, 0, FINGERPRINT_BYTES);
  dst.writeBigUInt64LE(h.payloadChecksum, offset + 48);
  dst.writeBigUInt64LE(xxh64(dst.subarray(offset, offset + 56)), offset + 56);
}

/** Parses and checks a record header; throws FormatError if it is not whole and sound. */
export function readRecordHeader(src: Uint8Array, offset: number): RecordHeader {
  const b = asBuffer(src);
  if (offset + RECORD_HEADER_BYTES > b.length) throw new FormatError('record header truncated');
  if (b.readUInt32LE(offset) !== RECORD_MAGIC) throw new FormatError('bad record magic');
  if (b.readBigUInt64LE(offset + 56) !== xxh64(b.subarray(offset, offset + 56))) {
    throw new FormatError('record header checksum mismatch');
  }
  const version = b.readUInt8(offset + 4);
  if (version !== RECORD_VERSION) throw new FormatError(`unsupported record version ${version}`);
  return {
    kind: b.readUInt8(offset + 5) as ChunkKind,
    codec: b.readUInt8(offset + 6),
    rawLength: b.readUInt32LE(offset + 8),
    storedLength: b.readUInt32LE(offset + 12),
    fingerprint: Buffer.from(b.subarray(offset + 16, offset + 48)),
    payloadChecksum: b.readBigUInt64LE(offset + 48),
  };
}

/** Where a record sits in its container, as the footer and the index list it. */
export interface RecordEntry {
  fingerprint: Buffer;
  offset: number;
  rawLength: number;
  storedLength: number;
  kind: ChunkKind;
  codec: number;
}

export function encodeFooter(entries: readonly RecordEntry[], footerOffset: number): Buffer {
  const b = Buffer.alloc(entries.length * FOOTER_ENTRY_BYTES + TRAILER_BYTES);
  let o = 0;
  for (const e of entries) {
    e.fingerprint.copy(b, o, 0, FINGERPRINT_BYTES);
    b.writeUInt32LE(e.offset, o + 32);
    b.writeUInt32LE(e.rawLength, o + 36);
    b.writeUInt32LE(e.storedLength, o + 40);
    b.writeUInt8(e.kind, o + 44);
    b.writeUInt8(e.codec, o + 45);
    o += FOOTER_ENTRY_BYTES;
  }
  TRAILER_MAGIC.copy(b, o);
  b.writeBigUInt64LE(BigInt(footerOffset), o + 8);
  b.writeUInt32LE(entries.length, o + 16);
  b.writeUInt32LE(0, o + 20);
  b.writeBigUInt64LE(xxh64(b.subarray(0, o + 24)), o + 24);
  return b;
}

/** Reads the trailer at the end of a sealed container: where the footer starts and how many entries. */
export function decodeTrailer(trailer: Uint8Array, fileSize: number): { footerOffset: number; count: number } {
  const b = asBuffer(trailer);
  if (b.length !== TRAILER_BYTES || !b.subarray(0, 8).equals(TRAILER_MAGIC)) {
    throw new FormatError('container is not sealed (no trailer)');
  }
  const footerOffset = Number(b.readBigUInt64LE(8));
  const count = b.readUInt32LE(16);
  if (footerOffset + count * FOOTER_ENTRY_BYTES + TRAILER_BYTES !== fileSize) {
    throw new FormatError('container trailer does not match the file size');
  }
  return { footerOffset, count };
}

/** Parses the footer entries plus trailer (everything from footerOffset to the end). */
export function decodeFooter(footerAndTrailer: Uint8Array): RecordEntry[] {
  const b = asBuffer(footerAndTrailer);
  const end = b.length - TRAILER_BYTES;
  if (end < 0 || end % FOOTER_ENTRY_BYTES !== 0) throw new FormatError('footer length is not whole entries');
  if (b.readBigUInt64LE(b.length - 8) !== xxh64(b.subarray(0, b.length - 8))) {
    throw new FormatError('footer checksum mismatch');
  }
  const entries: RecordEntry[] = [];
  for (let o = 0; o < end; o += FOOTER_ENTRY_BYTES) {
    entries.push({
      fingerprint: Buffer.from(b.subarray(o, o + 32)),
      offset: b.readUInt32LE(o + 32),
      rawLength: b.readUInt32LE(o + 36),
      storedLength: b.readUInt32LE(o + 40),
      kind: b.readUInt8(o + 44) as ChunkKind,
      codec: b.readUInt8(o + 45),
    });
  }
  return entries;
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
