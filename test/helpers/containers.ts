import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFooter, decodeTrailer, TRAILER_BYTES, type RecordEntry } from '../../src/store/container-format.js';

export interface ContainerOnDisk {
  path: string;
  size: number;
  footerOffset: number;
  entries: RecordEntry[];
}

/** Reads every sealed container of a unit straight from its files, through the format module only. */
export function sealedContainers(unitDir: string): ContainerOnDisk[] {
  const root = join(unitDir, 'containers');
  const out: ContainerOnDisk[] = [];
  for (const shard of readdirSync(root).sort()) {
    for (const name of readdirSync(join(root, shard)).sort()) {
      const path = join(root, shard, name);
      const bytes = readFileSync(path);
      const t = decodeTrailer(bytes.subarray(bytes.length - TRAILER_BYTES), bytes.length);
      out.push({ path, size: bytes.length, footerOffset: t.footerOffset, entries: decodeFooter(bytes.subarray(t.footerOffset)) });
    }
  }
  return out;
}
