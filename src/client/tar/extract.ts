// Restores a tar stream under a directory, treating the archive as hostile: nothing may land outside
// dest, and nothing is written through a symlink.
import { constants as fsConstants } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, rmdir, symlink, unlink, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readTar, type TarHeaderInfo } from './tar-reader.js';

export interface ExtractResult {
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
}

export interface ExtractOptions {
  onWarning?: (path: string, message: string) => void;
}

interface DirectoryFixup {
  rel: string;
  depth: number;
  mode: number;
  mtimeMs: number;
}

/** The entry's path as components under dest: '.' and empty components dropped, anything escaping refused. May be empty (the root). */
export function safeComponents(path: string): string[] {
  if (path.includes('\0')) throw new Error(`refusing tar entry ${JSON.stringify(path)}: path contains NUL`);
  if (path.startsWith('/')) throw new Error(`refusing tar entry ${JSON.stringify(path)}: absolute path`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`refusing tar entry ${JSON.stringify(path)}: '..' component`);
  return parts;
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

async function lstatOrUndefined(abs: string) {
  try {
    return await lstat(abs);
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function seconds(ms: number): number {
  return ms / 1000;
}

class Extractor {
  readonly result: ExtractResult = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  /** Relative paths known to be real directories (not symlinks); saves an lstat per parent per entry. */
  private readonly knownDirs = new Set<string>();
  private readonly fixups = new Map<string, DirectoryFixup>();

  constructor(
    private readonly dest: string,
    private readonly warn: (path: string, message: string) => void,
  ) {}

  private abs(parts: string[]): string {
    return join(this.dest, ...parts);
  }

  /** Makes every parent of `parts` a real directory, refusing to go through a symlink. */
  private async ensureParents(parts: string[], path: string): Promise<void> {
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      if (this.knownDirs.has(rel)) continue;
      const abs = this.abs(parts.slice(0, i));
      const st = await lstatOrUndefined(abs);
      if (!st) await mkdir(abs);
      else if (st.isSymbolicLink()) throw new Error(`refusing tar entry ${JSON.stringify(path)}: its parent ${JSON.stringify(rel)} is a symlink`);
      else if (!st.isDirectory()) throw new Error(`refusing tar entry ${JSON.stringify(path)}: its parent ${JSON.stringify(rel)} is not a directory`);
      this.knownDirs.add(rel);
    }
  }

  /** Clears the final component for a new non-directory; an existing symlink there is removed, never followed. */
  private async clearTarget(parts: string[], path: string, kind: string): Promise<void> {
    const abs = this.abs(parts);
    const st = await lstatOrUndefined(abs);
    if (!st) return;
    if (!st.isDirectory()) {
      await unlink(abs);
      return;
    }
    try {
      await rmdir(abs);
    } catch (err) {
      if (code(err) === 'ENOTEMPTY' || code(err) === 'EEXIST') throw new Error(`cannot restore ${kind} ${JSON.stringify(path)}: a non-empty directory is in the way`);
      throw err;
    }
    const rel = parts.join('/');
    for (const known of this.knownDirs) if (known === rel || known.startsWith(`${rel}/`)) this.knownDirs.delete(known);
    this.fixups.delete(rel);
  }

  async directory(parts: string[], h: TarHeaderInfo): Promise<void> {
    const abs = this.abs(parts);
    const rel = parts.join('/');
    const st = await lstatOrUndefined(abs);
    if (st?.isDirectory()) {
      // Owner access until the fixup, so the directory's contents can be written whatever its final mode.
      if ((st.mode & 0o700) !== 0o700) await chmod(abs, (st.mode & 0o7777) | 0o700);
    } else {
      if (st) await unlink(abs);
      await mkdir(abs, { mode: 0o700 });
    }
    this.knownDirs.add(rel);
    this.fixups.set(rel, { rel, depth: parts.length, mode: h.mode, mtimeMs: h.mtimeMs });
    this.result.directories++;
  }

  async file(parts: string[], h: TarHeaderInfo, body: AsyncIterable<Buffer>): Promise<void> {
    await this.clearTarget(parts, h.path, 'file');
    // A fresh inode (EXCL), never an existing one that might be hard-linked elsewhere; NOFOLLOW against races.
    const fh = await open(this.abs(parts), fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, 0o600);
    try {
      for await (const piece of body) {
        for (let done = 0; done < piece.length; ) done += (await fh.write(piece, done, piece.length - done)).bytesWritten;
        this.result.bytes += piece.length;
      }
      await fh.chmod(h.mode);
      await fh.utimes(seconds(h.mtimeMs), seconds(h.mtimeMs));
    } finally {
      await fh.close();
    }
    this.result.files++;
  }

  async symlink(parts: string[], h: TarHeaderInfo): Promise<void> {
    if (!h.linkTarget) throw new Error(`cannot restore symlink ${JSON.stringify(h.path)}: empty link target`);
    await this.clearTarget(parts, h.path, 'symlink');
    const abs = this.abs(parts);
    await symlink(h.linkTarget, abs);
    try {
      await lutimes(abs, seconds(h.mtimeMs), seconds(h.mtimeMs));
    } catch (err) {
      if (code(err) !== 'ENOSYS' && code(err) !== 'EOPNOTSUPP') throw err;
    }
    this.result.symlinks++;
  }

  async entry(h: TarHeaderInfo, body: AsyncIterable<Buffer>): Promise<void> {
    const parts = safeComponents(h.path);
    if (parts.length === 0) {
      // './' is how `tar -C dir .` names the root; dest stands for it, and its metadata is not ours to change.
      if (h.type === 'directory') return;
      throw new Error(`refusing tar entry ${JSON.stringify(h.path)}: empty path`);
    }
    if (h.type === 'other') {
      this.warn(h.path, 'skipped: unsupported entry type (hard link, device, FIFO or other)');
      return;
    }
    await this.ensureParents(parts, h.path);
    if (h.type === 'directory') await this.directory(parts, h);
    else if (h.type === 'symlink') await this.symlink(parts, h);
    else await this.file(parts, h, body);
  }

  /** Directory modes and mtimes last and deepest first: writing into a directory changes its mtime and needs its permissions. */
  async finish(): Promise<void> {
    const order = [...this.fixups.values()].sort((a, b) => b.depth - a.depth);
    for (const f of order) {
      const parts = f.rel.split('/');
      // chmod and utimes follow symlinks: check again that this is still the directory we made.
      await this.ensureParents(parts, f.rel);
      const abs = this.abs(parts);
      const st = await lstat(abs);
      if (!st.isDirectory()) throw new Error(`restored directory ${JSON.stringify(f.rel)} was replaced during extraction`);
      await chmod(abs, f.mode);
      await utimes(abs, seconds(f.mtimeMs), seconds(f.mtimeMs));
    }
  }
}

/** Restores every entry of the tar under dest (created if missing); existing files are overwritten. */
export async function extractTar(source: AsyncIterable<Uint8Array>, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  const x = new Extractor(root, options.onWarning ?? (() => {}));
  for await (const { header, body } of readTar(source)) await x.entry(header, body);
  await x.finish();
  return x.result;
}
