import { stat } from 'node:fs/promises';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import {
  CONTAINER_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  TRAILER_BYTES,
  decodeContainerHeader,
  decodeFooter,
  decodeTrailer,
  readRecordHeader,
  type RecordEntry,
} from './container-format.js';
import type { ContainerRow } from './index-db.js';
import { decodeKey } from './keys.js';
import type { RecipeNode } from './recipe-format.js';
import type { StoreContext } from './store-context.js';

export interface DamagedRecord {
  container: number;
  offset: number;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  containersChecked: number;
  recordsChecked: number;
  bytesChecked: number;
  damagedRecords: DamagedRecord[];
  /** Index entries whose record is missing or damaged (hex fingerprints). */
  badChunks: string[];
  objectsChecked: number;
  /** Keys of objects that cannot be read back whole. */
  damagedObjects: string[];
  durationMs: number;
}

export interface VerifyProgress {
  phase: 'containers' | 'objects';
  done: number;
  total: number;
}

type NodeLoader = (fp: Buffer, level: number) => Promise<RecipeNode>;

/**
 * Reads every container and checks every record (header, checksum, codec and
 * fingerprint), ties every index entry to a sound record, then walks every
 * object's recipe and names the objects that lean on anything damaged.
 */
export async function verifyStore(
  ctx: StoreContext,
  loadNode: NodeLoader,
  onProgress: (p: VerifyProgress) => void = () => undefined,
): Promise<VerifyReport> {
  const started = Date.now();
  const report: VerifyReport = {
    ok: true,
    containersChecked: 0,
    recordsChecked: 0,
    bytesChecked: 0,
    damagedRecords: [],
    badChunks: [],
    objectsChecked: 0,
    damagedObjects: [],
    durationMs: 0,
  };
  const badChunks = new Set<string>();
  // Containers a collection lets go of meanwhile keep their files until this ends: listed, they are read.
  await ctx.containers.whileReading(() => verifyAll(ctx, loadNode, onProgress, report, badChunks));
  report.badChunks = [...badChunks].sort();
  report.ok = report.damagedRecords.length === 0 && badChunks.size === 0 && report.damagedObjects.length === 0;
  report.durationMs = Date.now() - started;
  return report;
}

async function verifyAll(ctx: StoreContext, loadNode: NodeLoader, onProgress: (p: VerifyProgress) => void, report: VerifyReport, badChunks: Set<string>): Promise<void> {
  const containers = ctx.index.containers();
  for (const row of containers) {
    await verifyContainer(ctx, row, report, badChunks);
    report.containersChecked++;
    onProgress({ phase: 'containers', done: report.containersChecked, total: containers.length });
  }
  for (const fp of ctx.index.orphanChunks()) badChunks.add(fp.toString('hex'));

  const damagedNodes = new Map<string, boolean>();
  const nodeIsDamaged = async (fp: Buffer, level: number): Promise<boolean> => {
    const key = fp.toString('hex');
    const known = damagedNodes.get(key);
    if (known !== undefined) return known;
    let damaged = badChunks.has(key);
    if (!damaged) {
      try {
        const node = await loadNode(fp, level);
        for (let i = 0; i < node.count && !damaged; i++) {
          const child = node.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES);
          damaged =
            level === 0
              ? badChunks.has(child.toString('hex')) || !ctx.index.hasChunk(child)
              : await nodeIsDamaged(child, level - 1);
        }
      } catch {
        damaged = true;
      }
    }
    damagedNodes.set(key, damaged);
    return damaged;
  };

  const total = ctx.index.counters().objects;
  for (const page of ctx.index.recipeRootPages()) {
    for (const obj of page) {
      if (obj.recipeRoot && (await nodeIsDamaged(obj.recipeRoot, obj.recipeHeight - 1))) {
        report.damagedObjects.push(decodeKey(obj.key));
      }
      report.objectsChecked++;
      if (report.objectsChecked % 1000 === 0) onProgress({ phase: 'objects', done: report.objectsChecked, total });
    }
  }
  onProgress({ phase: 'objects', done: report.objectsChecked, total });
}

async function verifyContainer(ctx: StoreContext, row: ContainerRow, report: VerifyReport, badChunks: Set<string>): Promise<void> {
  const indexed = ctx.index.chunkRowsOfContainer(row.id);
  let size: number;
  try {
    size = (await stat(ctx.containers.path(row.id))).size;
  } catch {
    // An open container whose file was never made, and that nothing points into, is no damage.
    if (row.state === 'open' && indexed.length === 0) return;
    report.damagedRecords.push({ container: row.id, offset: 0, reason: 'container file is missing' });
    for (const r of indexed) badChunks.add(r.fingerprint.toString('hex'));
    return;
  }
  const bytes = await ctx.containers.read(row.id, 0, size);
  report.bytesChecked += bytes.length;
  const damage = (offset: number, reason: string): void => {
    report.damagedRecords.push({ container: row.id, offset, reason });
  };

  try {
    decodeContainerHeader(bytes);
  } catch (err) {
    damage(0, (err as Error).message);
  }
  let listed: RecordEntry[] | null = null;
  if (row.state === 'sealed') {
    try {
      const t = decodeTrailer(bytes.subarray(bytes.length - TRAILER_BYTES), bytes.length);
      listed = decodeFooter(bytes.subarray(t.footerOffset));
    } catch (err) {
      damage(Math.max(0, bytes.length - TRAILER_BYTES), `footer: ${(err as Error).message}`);
    }
  }
  // Without a sound footer, find records by walking headers; past a broken one only the index knows.
  // An open container may end in a record still being written: not damage, if nothing committed is there.
  const committedEnd = row.state === 'open' ? ctx.index.maxIndexedEnd(row.id) : bytes.length;
  const offsets = new Set(listed ? listed.map((e) => e.offset) : scanOffsets(bytes, committedEnd, damage));
  for (const r of indexed) offsets.add(r.offset);

  const results = await ctx.compute.verify(bytes, [...offsets].sort((a, b) => a - b));
  const sound = new Map<number, string>();
  for (const r of results) {
    report.recordsChecked++;
    if (r.ok) sound.set(r.offset, r.fingerprint!);
    else damage(r.offset, r.reason ?? 'damaged');
  }
  if (listed) {
    for (const e of listed) {
      const fp = sound.get(e.offset);
      if (fp !== undefined && fp !== e.fingerprint.toString('hex')) damage(e.offset, 'footer lists a different fingerprint');
    }
  }
  for (const r of indexed) {
    const fp = r.fingerprint.toString('hex');
    if (sound.get(r.offset) !== fp) badChunks.add(fp);
  }
}

function scanOffsets(bytes: Buffer, committedEnd: number, damage: (offset: number, reason: string) => void): number[] {
  const offsets: number[] = [];
  let o = CONTAINER_HEADER_BYTES;
  while (o + RECORD_HEADER_BYTES <= bytes.length) {
    try {
      const h = readRecordHeader(bytes, o);
      if (o + RECORD_HEADER_BYTES + h.storedLength > bytes.length && o >= committedEnd) break;
      offsets.push(o);
      o += RECORD_HEADER_BYTES + h.storedLength;
    } catch (err) {
      if (o < committedEnd) damage(o, (err as Error).message);
      break;
    }
  }
  return offsets;
}
