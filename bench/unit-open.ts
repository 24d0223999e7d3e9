import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FILTER_FILE } from '../src/store/filter-file.js';
import { ChunkStore } from '../src/store/store.js';

export interface UnitOpenRow {
  chunks: number;
  /** Opening with the filter the last close saved: the whole open, and the filter's share of it. */
  loadedOpenMs: number;
  loadedFilterMs: number;
  /** The close that saved it again. */
  saveMs: number;
  /** Opening as after a crash (no saved filter): every fingerprint read from the index. */
  rebuiltOpenMs: number;
  rebuiltFilterMs: number;
}

/**
 * Opens a closed unit twice: with the filter its close saved, and again with
 * that file removed, as a crash would leave it. The baseline is the rebuild,
 * which every open paid before filters were saved.
 */
export async function measureOpens(unitDir: string): Promise<UnitOpenRow> {
  const once = async (): Promise<{ openMs: number; filterMs: number; closeMs: number; chunks: number; loaded: boolean }> => {
    const lines: { ms: number; chunks: number; loaded: boolean }[] = [];
    const started = process.hrtime.bigint();
    const store = await ChunkStore.open(unitDir, {
      log: (_level, message, fields) => {
        if (message === 'fingerprint filter loaded' || message === 'fingerprint filter rebuilt') {
          lines.push({ ms: fields!.ms as number, chunks: fields!.chunks as number, loaded: message.endsWith('loaded') });
        }
      },
    });
    const openMs = Number(process.hrtime.bigint() - started) / 1e6;
    const closing = process.hrtime.bigint();
    await store.close();
    const closeMs = Number(process.hrtime.bigint() - closing) / 1e6;
    const f = lines[0];
    if (!f) throw new Error('the open logged no filter line');
    return { openMs, filterMs: f.ms, closeMs, chunks: f.chunks, loaded: f.loaded };
  };
  const loaded = await once();
  if (!loaded.loaded) throw new Error('a unit closed cleanly did not load its saved filter');
  rmSync(join(unitDir, FILTER_FILE));
  const rebuilt = await once();
  if (rebuilt.loaded) throw new Error('a unit without its filter file loaded one');
  return {
    chunks: loaded.chunks,
    loadedOpenMs: loaded.openMs,
    loadedFilterMs: loaded.filterMs,
    saveMs: loaded.closeMs,
    rebuiltOpenMs: rebuilt.openMs,
    rebuiltFilterMs: rebuilt.filterMs,
  };
}
