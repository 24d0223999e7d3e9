import { createHash, type Hash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { native } from '../chunking/native.js';
import { s3Error } from './s3-errors.js';

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';
export const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
export type ChecksumType = 'FULL_OBJECT' | 'COMPOSITE';

/** The header (and trailer) that carries an algorithm's value: x-amz-checksum-crc32 and so on. */
export function checksumHeader(a: ChecksumAlgorithm): string {
  return `x-amz-checksum-${a.toLowerCase()}`;
}

/** The element in XML documents: ChecksumCRC32 and so on. */
export function checksumElement(a: ChecksumAlgorithm): string {
  return `Checksum${a}`;
}

export function parseAlgorithm(value: string | undefined): ChecksumAlgorithm | undefined {
  if (value === undefined || value === '') return undefined;
  const a = value.toUpperCase() as ChecksumAlgorithm;
  if (!ALGORITHMS.includes(a)) throw s3Error('InvalidRequest', `unknown checksum algorithm ${value}`);
  return a;
}

const RAW_BYTES: Record<ChecksumAlgorithm, number> = { CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32 };

/** Checks a base64 checksum value has the right length for its algorithm. */
export function validChecksumValue(a: ChecksumAlgorithm, value: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
  return Buffer.from(value, 'base64').length === RAW_BYTES[a];
}

/** One algorithm computed over a stream, piece by piece. */
export class StreamChecksum {
  private crc = 0n;
  private crc32 = 0;
  private hash: Hash | null = null;
  length = 0;

  constructor(readonly algorithm: ChecksumAlgorithm) {
    if (algorithm === 'SHA1') this.hash = createHash('sha1');
    if (algorithm === 'SHA256') this.hash = createHash('sha256');
  }

  update(data: Uint8Array): void {
    this.length += data.length;
    switch (this.algorithm) {
      case 'CRC32':
        this.crc32 = zlibCrc32(data, this.crc32);
        break;
      case 'CRC32C':
        this.crc = native.crc(1, data, this.crc);
        break;
      case 'CRC64NVME':
        this.crc = native.crc(2, data, this.crc);
        break;
      default:
        this.hash!.update(data);
    }
  }

  /** The base64 value, as S3 carries it (CRCs big-endian). */
  digest(): string {
    return encodeRaw(this.algorithm, this.rawValue());
  }

  /** The CRC as a number (for combining), or the hash bytes. */
  rawValue(): bigint | Buffer {
    if (this.algorithm === 'CRC32') return BigInt(this.crc32);
    if (this.hash) return this.hash.digest();
    return this.crc;
  }
}

function encodeRaw(a: ChecksumAlgorithm, v: bigint | Buffer): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  const b = Buffer.alloc(RAW_BYTES[a]);
  if (a === 'CRC64NVME') b.writeBigUInt64BE(v);
  else b.writeUInt32BE(Number(v));
  return b.toString('base64');
}

function decodeCrc(a: ChecksumAlgorithm, value: string): bigint {
  const b = Buffer.from(value, 'base64');
  return a === 'CRC64NVME' ? b.readBigUInt64BE(0) : BigInt(b.readUInt32BE(0));
}

/** COMPOSITE: the algorithm over the parts' raw digests in order, then "-N". */
export function compositeChecksum(a: ChecksumAlgorithm, partValues: string[]): string {
  const raw = Buffer.concat(partValues.map((v) => Buffer.from(v, 'base64')));
  const c = new StreamChecksum(a);
  c.update(raw);
  return `${c.digest()}-${partValues.length}`;
}

/** FULL_OBJECT for CRCs: the CRC of the whole object, combined from the parts' CRCs and sizes. */
export function fullObjectChecksum(a: ChecksumAlgorithm, parts: { value: string; size: number }[]): string {
  const kind = a === 'CRC32' ? 0 : a === 'CRC32C' ? 1 : 2;
  let crc = 0n;
  let first = true;
  for (const p of parts) {
    const v = decodeCrc(a, p.value);
    crc = first ? v : native.crcCombine(kind, crc, v, BigInt(p.size));
    first = false;
  }
  return encodeRaw(a, crc);
}

export function supportsFullObject(a: ChecksumAlgorithm): boolean {
  return a === 'CRC32' || a === 'CRC32C' || a === 'CRC64NVME';
}
