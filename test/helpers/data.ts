import { createCipheriv, createHash } from 'node:crypto';

/** Deterministic pseudo-random bytes: AES-256-CTR keystream of a seed. Fast (AES-NI) and reproducible. */
export function pseudoRandomBytes(seed: string | number, length: number, offset = 0): Buffer {
  const key = createHash('sha256').update(String(seed)).digest();
  const iv = Buffer.alloc(16);
  // Counter mode: block n of the stream starts at byte 16n, so any offset is reachable.
  const block = Math.floor(offset / 16);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const cipher = createCipheriv('aes-256-ctr', key, iv);
  const skip = offset - block * 16;
  const out = cipher.update(Buffer.alloc(length + skip));
  return out.subarray(skip);
}

/** Compressible, text-like bytes: words drawn from a small vocabulary. */
export function textBytes(seed: string | number, length: number): Buffer {
  const words = ['backup', 'volume', 'snapshot', 'namespace', 'velero', 'kopia', 'restic', 'chunk', 'the', 'of', 'and', 'data'];
  const r = pseudoRandomBytes(seed, length);
  const out = Buffer.alloc(length);
  let o = 0;
  let i = 0;
  while (o < length) {
    const w = words[r[i++ % r.length]! % words.length]!;
    o += out.write(`${w} `, o);
  }
  return out;
}

/** Splits a buffer into pieces of random sizes in [1, maxPiece]. */
export function randomSplits(data: Uint8Array, seed: number, maxPiece: number): Uint8Array[] {
  const sizes = pseudoRandomBytes(`split-${seed}`, 4 * Math.ceil(data.length / 1) + 16);
  const pieces: Uint8Array[] = [];
  let o = 0;
  let i = 0;
  while (o < data.length) {
    const n = 1 + (sizes.readUInt32LE((i++ * 4) % (sizes.length - 4)) % maxPiece);
    pieces.push(data.subarray(o, Math.min(data.length, o + n)));
    o += n;
  }
  return pieces;
}

export async function* streamOf(pieces: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p;
}

/** Yields data in pieces of a fixed size. */
export function piecesOf(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += size) out.push(data.subarray(o, o + size));
  return out;
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
