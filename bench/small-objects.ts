/*
 * Small objects, several at a time: what a backup's metadata and index blobs
 * look like (Velero's json and gz files, Kopia's index blobs). Each put's cost
 * is mostly its commit: the container fsync and the index's. The baseline, in
 * the same process and run, is what a plain file system target does for the
 * same guarantee: one file per object, written and fdatasync'd, the directory
 * synced after each create.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../src/store/fs-durability.js';
import { ChunkStore } from '../src/store/store.js';
import { measure } from './measure.js';

export interface SmallObjectsRow {
  lanes: number;
  storeObjectsPerSecond: number;
  storeCpuSeconds: number;
  filesObjectsPerSecond: number;
  filesCpuSeconds: number;
  /** The store run's event-loop lag, 99th percentile and worst, in ms (timer ticks of 1 ms). */
  lagP99Ms: number;
  lagMaxMs: number;
}

async function inLanes(total: number, lanes: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < total) await one(next++);
  }));
}

async function syncedFile(dir: string, name: string, data: Buffer): Promise<void> {
  const file = await open(join(dir, name), 'wx');
  try {
    await file.writeFile(data);
    await file.datasync();
  } finally {
    await file.close();
  }
  await syncDirectory(join(dir, name));
}

export async function smallObjects(args: { dir: string; objects: number; bytes: number; lanes: number[] }): Promise<SmallObjectsRow[]> {
  rmSync(args.dir, { recursive: true, force: true });
  const store = await ChunkStore.open(join(args.dir, 'unit'));
  const rows: SmallObjectsRow[] = [];
  try {
    for (const lanes of args.lanes) {
      const lag: number[] = [];
      let last = performance.now();
      const ticker = setInterval(() => {
        const now = performance.now();
        lag.push(now - last - 1);
        last = now;
      }, 1);
      const s = await measure(() =>
        inLanes(args.objects, lanes, async (i) => {
          await store.put(`l${lanes}/o${i}`, (async function* () {
            yield randomBytes(args.bytes);
          })());
        }),
      );
      clearInterval(ticker);
      lag.sort((a, b) => a - b);
      const files = join(args.dir, `files-${lanes}`);
      mkdirSync(files, { recursive: true });
      const f = await measure(() => inLanes(args.objects, lanes, (i) => syncedFile(files, `o${i}`, randomBytes(args.bytes))));
      rows.push({
        lanes,
        storeObjectsPerSecond: args.objects / s.seconds,
        storeCpuSeconds: s.cpuSeconds,
        filesObjectsPerSecond: args.objects / f.seconds,
        filesCpuSeconds: f.cpuSeconds,
        lagP99Ms: lag[Math.floor(0.99 * (lag.length - 1))] ?? 0,
        lagMaxMs: lag[lag.length - 1] ?? 0,
      });
    }
  } finally {
    await store.close();
    rmSync(args.dir, { recursive: true, force: true });
  }
  return rows;
}
