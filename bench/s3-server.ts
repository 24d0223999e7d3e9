/*
 * The server side of the bench's S3 path: a Cairn server in a process of its
 * own, so its memory is measured apart from the client's. Prints
 * {"url","accessKeyId","secretAccessKey"} once listening; on stdin, "peak"
 * answers the peak RSS since the last "reset" (sampled every 20 ms) and the
 * full (mark-compact) collections V8 ran since then, "memory"
 * the process's memoryUsage(); "direct <unit> <file> <key>" stores the file
 * (read into memory first, untimed) straight into a unit of this same process,
 * without HTTP, and answers its seconds: the baseline the S3 figures are paired
 * with, measured seconds apart and with the same threads and pools;
 * "directmp <unit> <file> <key>" does the same through the store's multipart
 * path, as the raw S3 multipart client cuts it.
 * "restore <key>" reads that object back the same way, for the GET figures;
 * "unique <unit>" answers a unit's unique bytes, as stored and as kept once a
 * collection takes what no recipe reaches.
 * Run with --expose-gc, so the source is gone before the next measurement.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { rmSync } from 'node:fs';
import { startServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { ChunkStore } from '../src/store/store.js';
import { MULTIPART_IN_FLIGHT, MULTIPART_PART, uploadParts } from './multipart-shape.js';
import { loadSource, piecesOf, type InMemorySource } from './source.js';

const dir = process.argv[2]!;
rmSync(dir, { recursive: true, force: true });
const server = await startServer(loadConfig([], { CAIRN_DATA_DIR: dir, CAIRN_PORT: '0' }), { logger: false });
let peak = process.memoryUsage.rss();
setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20).unref();
let majors = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
}).observe({ entryTypes: ['gc'] });
/**
 * Stores a file (read into memory first, untimed) into a unit of this process
 * without HTTP, and answers its seconds and this process's CPU seconds.
 */
async function paired(unit: string, path: string, store: (store: ChunkStore, source: InMemorySource) => Promise<unknown>): Promise<void> {
  if (!server.units.has(unit)) await server.units.create(unit);
  const rssBefore = process.memoryUsage.rss();
  let source: InMemorySource | null = loadSource(path);
  const bytes = source.bytes;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await store(server.units.unit(unit).store, source);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  source = null;
  (globalThis as { gc?: () => void }).gc?.();
  // V8 hands the source's memory back on a thread of its own, about 100 ms for 1 GB: a peak
  // measured from the next reset would count it otherwise.
  for (const until = Date.now() + 500; Date.now() < until && process.memoryUsage.rss() > rssBefore + 64 * 2 ** 20; ) {
    await new Promise((r) => setTimeout(r, 10));
  }
  process.stdout.write(`${JSON.stringify({ bytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
}

const key = server.firstAdminKey!;
process.stdout.write(`${JSON.stringify({ url: server.url, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'reset') {
    peak = process.memoryUsage.rss();
    majors = 0;
  }
  if (line === 'peak') {
    // Observer entries arrive asynchronously: a moment for the last ones.
    await new Promise((r) => setTimeout(r, 50));
    process.stdout.write(`${JSON.stringify({ peakRssMiB: peak / 2 ** 20, majors })}\n`);
  }
  if (line === 'memory') process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
  if (line.startsWith('populate ')) {
    // A unit of many objects for the listing figures: copies of one object (index rows only).
    const n = Number(line.split(' ')[1]);
    const t0 = process.hrtime.bigint();
    await server.units.create('listing');
    const store = server.units.unit('listing').store;
    await store.put('seed', (async function* () { yield Buffer.from('x'); })());
    for (let i = 0; i < n; i++) await store.copy('seed', `ns${String(i % 100).padStart(3, '0')}/backup-${String(i).padStart(7, '0')}.tar.gz`);
    process.stdout.write(`${JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
  }
  if (line.startsWith('direct ')) {
    const [, unit, path, key] = line.split(' ');
    await paired(unit!, path!, (store, source) => store.put(key!, piecesOf(source)));
  }
  if (line.startsWith('directmp ')) {
    // The store's own multipart path, for the S3 multipart figures: the same parts and parts in flight as the raw client.
    const [, unit, path, key] = line.split(' ');
    await paired(unit!, path!, async (store, source) => {
      const upload = store.createUpload(key!);
      const etags = await uploadParts(source, MULTIPART_PART, MULTIPART_IN_FLIGHT, async (n, part) => (await store.putPart(upload.uploadId, n, piecesOf(part))).etag);
      await store.completeUpload(upload.uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    });
  }
  if (line.startsWith('unique ')) {
    const store = server.units.unit(line.slice('unique '.length)).store;
    const { deadDataRawBytes } = await store.estimateReclaimable();
    const stored = store.stats().uniqueBytes;
    process.stdout.write(`${JSON.stringify({ stored, kept: stored - deadDataRawBytes })}\n`);
  }
  if (line.startsWith('restore ')) {
    // The paired baseline for GET: the read path inside this process, bytes consumed and dropped.
    const t0 = process.hrtime.bigint();
    const r = await server.units.unit('direct').store.get(line.slice('restore '.length));
    let bytes = 0;
    for await (const piece of r.body as AsyncIterable<Buffer>) bytes += piece.length;
    process.stdout.write(`${JSON.stringify({ bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
  }
  if (line === 'quit') break;
}
await server.close();
process.exit(0);
