import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { nsToMs } from '../../src/client/tar/tar-header.js';
import { sha256 } from './data.js';

/**
 * Type, mode, mtime (ms), size and content hash or link target of everything
 * under root, by relative path: what a restore must reproduce. With recurse
 * false, only root's own entries.
 */
export async function describeTree(root: string, rel = '', recurse = true): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const names = (await readdir(join(root, rel))).sort();
  for (const name of names) {
    const p = rel ? `${rel}/${name}` : name;
    const abs = join(root, p);
    const st = await lstat(abs, { bigint: true });
    const common = { mode: Number(st.mode & 0o7777n), mtimeMs: nsToMs(st.mtimeNs) };
    if (st.isDirectory()) {
      out[p] = { type: 'directory', ...common };
      if (recurse) Object.assign(out, await describeTree(root, p));
    } else if (st.isSymbolicLink()) {
      out[p] = { type: 'symlink', ...common, target: await readlink(abs) };
    } else {
      out[p] = { type: 'file', ...common, size: Number(st.size), sha256: sha256(await readFile(abs)) };
    }
  }
  return out;
}
