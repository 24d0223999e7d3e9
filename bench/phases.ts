/*
 * One bench phase per process (run.ts starts them one after another), so each
 * phase's peak RSS is its own and no phase inherits another's heap.
 * Usage: node phases.js <phase> <json args>; prints the result as JSON on stdout.
 * Each phase runs with the server's heap headroom, so the store measured here
 * collects its heap as it does inside the server.
 */
import { createCipheriv } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { defaultChunkingParameters } from '../src/chunking/parameters.js';
import { widenHeapHeadroom } from '../src/http/heap-headroom.js';
import { ChunkStore } from '../src/store/store.js';
import { ceilings } from './ceilings.js';
import { smallObjects } from './small-objects.js';
import { generated } from './generated.js';
import { measure, MiB, rate } from './measure.js';
import { loadSource, piecesOf, sourceMiB } from './source.js';
import { measureOpens } from './unit-open.js';

widenHeapHeadroom();

export const BENCH_SEED = '5eed5eed5eed5eed5eed5eed5eed5eed';

export interface GenerationFile {
  path: string;
  bytes: number;
}

export interface GenerationRow {
  generation: number;
  logicalMB: number;
  mbps: number;
  cpuSeconds: number;
  dedupSoFar: number;
  storedMB: number;
  peakRssMiB: number;
  chunks: number;
  filterNegatives: number;
  localityHits: number;
  indexReads: number;
}

/**
 * With --expose-gc (run.ts passes it): a source fed from memory is gone before
 * the next RSS is sampled. Pauses on both sides: the finished stream is still
 * referenced by its last queued callbacks, and V8 frees array buffers on a
 * sweeper thread after the collection.
 */
async function collectGarbage(): Promise<void> {
  const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));
  await pause();
  (globalThis as { gc?: () => void }).gc?.();
  await pause();
}

function readPrefix(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.allocUnsafe(bytes);
  const n = readSync(fd, b, 0, bytes, 0);
  closeSync(fd);
  return b.subarray(0, n);
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}

async function storeGenerations(unitDir: string, gens: GenerationFile[], avgSize: number, level?: number) {
  rmSync(unitDir, { recursive: true, force: true });
  const store = await ChunkStore.open(unitDir, {
    create: { chunking: defaultChunkingParameters(avgSize, BENCH_SEED), ...(level !== undefined && { compression: { codec: 'zstd', level } }) },
  });
  const rows: GenerationRow[] = [];
  for (const [g, gen] of gens.entries()) {
    let source: ReturnType<typeof loadSource> | null = loadSource(gen.path);
    const before = store.lookupCounters();
    const m = await measure(() => store.put(`backups/gen${g + 1}.tar`, piecesOf(source!)));
    const inMemoryMiB = sourceMiB(source);
    source = null;
    await collectGarbage();
    const after = store.lookupCounters();
    const s = store.stats();
    rows.push({
      generation: g + 1,
      logicalMB: gen.bytes / 1e6,
      mbps: rate(gen.bytes, m.seconds),
      cpuSeconds: m.cpuSeconds,
      dedupSoFar: s.dedupFactor,
      storedMB: s.containerBytes / 1e6,
      peakRssMiB: m.peakRssMiB - inMemoryMiB,
      chunks: m.value.chunkCount,
      filterNegatives: after.filterNegatives - before.filterNegatives,
      localityHits: after.localityHits - before.localityHits,
      indexReads: after.indexReads - before.indexReads,
    });
  }
  return { store, rows };
}

const phases: Record<string, (args: never) => Promise<unknown>> = {
  async ceilings(args: { sample: string; avgSize: number; levels: number[] }) {
    const sample = readPrefix(args.sample, 256 * MiB);
    const random = createCipheriv('aes-256-ctr', Buffer.alloc(32, 1), Buffer.alloc(16)).update(Buffer.alloc(256 * MiB));
    const chunking = defaultChunkingParameters(args.avgSize, BENCH_SEED);
    return args.levels.map((level) => ({ level, ...ceilings(sample, random, chunking, level) }));
  },

  async storePath(args: { unit: string; gens: GenerationFile[]; avgSize: number; level: number }) {
    const { store, rows } = await storeGenerations(args.unit, args.gens, args.avgSize, args.level);
    const restore = await measure(async () => {
      let n = 0;
      for await (const piece of (await store.get(`backups/gen${args.gens.length}.tar`)).body) n += (piece as Buffer).length;
      return n;
    });
    const stats = store.stats();
    await store.close();
    return { rows, restore: { bytes: restore.value, mbps: rate(restore.value, restore.seconds), peakRssMiB: restore.peakRssMiB }, stats };
  },

  async sweep(args: { unit: string; gens: GenerationFile[]; avgSize: number; level: number }) {
    const logical = args.gens.reduce((n, p) => n + p.bytes, 0);
    const m = await measure(() => storeGenerations(args.unit, args.gens, args.avgSize, args.level));
    const st = m.value.store.stats();
    const chunks = m.value.rows.reduce((n, r) => n + r.chunks, 0);
    await m.value.store.close();
    const result = {
      avgKiB: args.avgSize / 1024,
      meanChunkKiB: logical / chunks / 1024,
      dedup: st.dedupFactor,
      total: st.reductionFactor,
      mbps: rate(logical, m.seconds),
      newMbps: m.value.rows[0]!.mbps,
      dupMbps: m.value.rows.slice(1).reduce((a, r) => a + r.mbps, 0) / (m.value.rows.length - 1),
      uniqueChunks: st.dataChunks,
      indexMB: (statSync(join(args.unit, 'index.db')).size + walBytes(args.unit)) / 1e6,
      onDiskMB: dirBytes(args.unit) / 1e6,
    };
    rmSync(args.unit, { recursive: true, force: true });
    return result;
  },
};

/**
 * Garbage collection on a unit of many chunks: 1 KiB average chunks make a
 * million of them from about 1.2 GB. Half the objects are deleted, then the
 * reclaim estimate (a full mark and the per-container join) and a collection
 * run; their times, peak RSS and the bytes given back are the figures. Then
 * half of what is left is deleted, and ingest of new objects is timed alone
 * and while a second collection runs (the ratio is the figure).
 */
export async function gcMark(args: { unit: string; bytes: number; objects: number }) {
  rmSync(args.unit, { recursive: true, force: true });
  const store = await ChunkStore.open(args.unit, { create: { chunking: defaultChunkingParameters(1024, BENCH_SEED) } });
  const each = Math.floor(args.bytes / args.objects);
  const fill = await measure(async () => {
    for (let i = 0; i < args.objects; i++) await store.put(`backup-${String(i).padStart(4, '0')}`, generated(each, 100 + i));
  });
  for (let i = 0; i < args.objects; i += 2) await store.delete(`backup-${String(i).padStart(4, '0')}`);
  await collectGarbage();
  const before = store.stats();
  const rssBefore = process.memoryUsage.rss() / MiB;
  const m = await measure(() => store.estimateReclaimable());
  const gc = await measure(() => store.collectGarbage());
  const afterFirst = store.stats().containerBytes;
  const freedShare = (before.containerBytes - afterFirst) / m.value.deadBytes;

  // Ingest beside a collection: 8 MB objects of new data, for as long as the collection runs.
  for (let i = 1; i < args.objects; i += 4) await store.delete(`backup-${String(i).padStart(4, '0')}`);
  let seed = 10_000;
  const ingestFor = async (until: () => boolean): Promise<{ bytes: number; seconds: number }> => {
    const start = process.hrtime.bigint();
    let bytes = 0;
    while (!until()) {
      await store.put(`ingest-${seed}`, generated(8e6, seed++));
      bytes += 8e6;
    }
    return { bytes, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
  };
  await collectGarbage();
  const aloneUntil = Date.now() + 10_000;
  const alone = await ingestFor(() => Date.now() >= aloneUntil);
  let collecting = true;
  const second = measure(() => store.collectGarbage()).finally(() => (collecting = false));
  const beside = await ingestFor(() => !collecting);
  const g2 = await second;
  const result = {
    freedShare,
    compactedContainers: gc.value.containersRewritten,
    copiedMB: gc.value.bytesCopied / 1e6,
    compactBelow: gc.value.compactBelow,
    ingestAloneMbps: rate(alone.bytes, alone.seconds),
    ingestDuringGcMbps: rate(beside.bytes, beside.seconds),
    secondGcSeconds: g2.seconds,
    secondGcFreedMB: g2.value.bytesFreed / 1e6,
    secondGcCompacted: g2.value.containersRewritten,
    gcSeconds: gc.seconds,
    gcCpuSeconds: gc.cpuSeconds,
    gcPeakRssMiB: gc.peakRssMiB,
    freedMB: (before.containerBytes - afterFirst) / 1e6,
    containersRemoved: gc.value.containersRemoved,
    containersExamined: gc.value.containersExamined,
    onDiskAfterMB: afterFirst / 1e6,
    chunks: before.dataChunks + before.recipeChunks,
    fillMbps: rate(each * args.objects, fill.seconds),
    markSeconds: m.seconds,
    markCpuSeconds: m.cpuSeconds,
    rssBeforeMiB: rssBefore,
    markPeakRssMiB: m.peakRssMiB,
    liveChunks: m.value.liveChunks,
    deadChunks: m.value.deadChunks,
    deadMB: m.value.deadBytes / 1e6,
    reclaimableMB: m.value.reclaimableBytes / 1e6,
    onDiskMB: before.containerBytes / 1e6,
  };
  await store.close();
  // The unit as a collection left it, reopened: with the filter the close saved, and as after a crash.
  const opens = await measureOpens(args.unit);
  rmSync(args.unit, { recursive: true, force: true });
  return {
    ...result,
    openChunks: opens.chunks,
    loadedOpenMs: opens.loadedOpenMs,
    loadedFilterMs: opens.loadedFilterMs,
    filterSaveMs: opens.saveMs,
    rebuiltOpenMs: opens.rebuiltOpenMs,
    rebuiltFilterMs: opens.rebuiltFilterMs,
  };
}
phases.gcMark = gcMark as never;
phases.smallObjects = smallObjects as never;

function walBytes(unit: string): number {
  try {
    return statSync(join(unit, 'index.db-wal')).size;
  } catch {
    return 0;
  }
}

const [name, json] = [process.argv[2]!, process.argv[3] ?? '{}'];
const phase = phases[name];
if (!phase) {
  console.error(`unknown phase ${name}`);
  process.exit(2);
}
const value = await phase(JSON.parse(json) as never);
process.stdout.write(JSON.stringify({ value, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
