/*
 * Child process of the bench: stores one large generated object (all new data,
 * the worst case for memory) in a fresh unit and prints what it cost as JSON.
 * Run alone so its peak RSS is the store's, not the bench's.
 */
import { createCipheriv } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ChunkStore } from '../src/store/store.js';

const [dir, gib] = [process.argv[2]!, Number(process.argv[3] ?? 4)];
rmSync(dir, { recursive: true, force: true });

async function* generated(bytes: number): AsyncGenerator<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  for (let o = 0; o < bytes; o += zeros.length) {
    const piece = cipher.update(zeros);
    // Every other MiB compressible: half the bytes as 4-bit symbols.
    if ((o >> 20) % 2 === 1) for (let i = 0; i < piece.length; i++) piece[i] = 0x61 + (piece[i]! & 15);
    yield piece;
  }
}

const store = await ChunkStore.open(dir);
const bytes = gib * 2 ** 30;
const t0 = process.hrtime.bigint();
const info = await store.put('big', generated(bytes));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const t1 = process.hrtime.bigint();
let read = 0;
for await (const piece of (await store.get('big')).body) read += (piece as Buffer).length;
const readSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
await store.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    bytes,
    seconds,
    readBytes: read,
    readSeconds,
    chunks: info.chunkCount,
    recipeHeight: info.recipeHeight,
  }),
);
