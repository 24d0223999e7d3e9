/*
 * Child process of the bench: stores one large generated object (all new data,
 * the worst case for memory) in a fresh unit and prints what it cost as JSON.
 * Run alone so its peak RSS is the store's, not the bench's.
 */
import { createCipheriv } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ChunkStore } from '../src/store/store.js';
import { measure } from './measure.js';

const [dir, gib] = [process.argv[2]!, Number(process.argv[3] ?? 4)];
rmSync(dir, { recursive: true, force: true });

async function* generated(bytes: number): AsyncGenerator<Buffer> {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 9), Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  for (let o = 0; o < bytes; o += zeros.length) {
    const piece = cipher.update(zeros);
    // Every other MiB compressible: bytes of 16 letters, four at a time.
    if ((o >> 20) % 2 === 1) {
      const words = new Uint32Array(piece.buffer, piece.byteOffset, piece.length >>> 2);
      for (let i = 0; i < words.length; i++) words[i] = (words[i]! & 0x0f0f0f0f) | 0x61616161;
    }
    yield piece;
  }
}

const store = await ChunkStore.open(dir, { settings: JSON.parse(process.env.CAIRN_BENCH_SETTINGS ?? '{}') });
const bytes = gib * 2 ** 30;
const put = await measure(() => store.put('big', generated(bytes)));
const read = await measure(async () => {
  let n = 0;
  for await (const piece of (await store.get('big')).body) n += (piece as Buffer).length;
  return n;
});
await store.close();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    bytes,
    seconds: put.seconds,
    storePeakRssMiB: put.peakRssMiB,
    readBytes: read.value,
    readSeconds: read.seconds,
    readPeakRssMiB: read.peakRssMiB,
    chunks: put.value.chunkCount,
    recipeHeight: put.value.recipeHeight,
  }),
);
