/*
 * Child process of the bench: stores one large generated object (all new data,
 * the worst case for memory) in a fresh unit and prints what it cost as JSON.
 * Run alone so its peak RSS is the store's, not the bench's.
 */
import { rmSync } from 'node:fs';
import { ChunkStore } from '../src/store/store.js';
import { generated } from './generated.js';
import { measure } from './measure.js';

const [dir, gib] = [process.argv[2]!, Number(process.argv[3] ?? 4)];
rmSync(dir, { recursive: true, force: true });

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
