import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, rm, symlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { MoverConnection } from './connection.js';
import { counted, pull, pullSmall } from './pull.js';
import { push, type PushOptions, type PushResult } from './push.js';
import { decodeIndex, encodeIndex, findEntry, INDEX_SUFFIX, type DirectoryIndex, type TarEntry } from './tar/directory-index.js';
import { tarDirectory } from './tar/directory-tar.js';
import { extractTar, safeComponents, type ExtractResult } from './tar/extract.js';

/** A directory index larger than this is refused: it is read whole. */
const INDEX_LIMIT = 512 * 1024 * 1024;

export interface DirectoryPushResult extends PushResult {
  files: number;
  /** The index object pushed beside the tar. */
  indexKey: string;
}

/**
 * Pushes a directory as one deterministic POSIX tar object (any S3 client plus
 * tar restores it), then its file index as `<key>.cairn-index.json`, which
 * lets one file be restored by a ranged read.
 */
export async function pushDirectory(
  conn: MoverConnection,
  root: string,
  o: PushOptions & { onWarning?: (path: string, message: string) => void },
): Promise<DirectoryPushResult> {
  const tar = tarDirectory(root, { ...(o.onWarning && { onWarning: o.onWarning }) });
  tar.index.catch(() => undefined); // its failure is the stream's, seen by push
  const r = await push(conn, tar.stream, { ...o, contentType: o.contentType ?? 'application/x-tar' });
  const index = await tar.index;
  const indexKey = o.key + INDEX_SUFFIX;
  const i = await push(conn, [encodeIndex(index)], {
    unit: o.unit,
    key: indexKey,
    contentType: 'application/json',
    ...(o.signal && { signal: o.signal }),
  });
  return {
    ...r,
    files: index.entries.filter((e) => e.type === 'file').length,
    indexKey,
    seconds: r.seconds + i.seconds,
    wire: { sent: r.wire.sent + i.wire.sent, received: r.wire.received + i.wire.received },
  };
}

/** The directory index beside a key, or undefined when the object is not a pushed directory. */
export async function directoryIndex(conn: MoverConnection, unit: string, key: string, signal?: AbortSignal): Promise<DirectoryIndex | undefined> {
  const bytes = await pullSmall(conn, unit, key + INDEX_SUFFIX, INDEX_LIMIT, signal);
  return bytes ? decodeIndex(bytes) : undefined;
}

/** Restores a whole pushed directory into dest, checking every path of the archive (see extract.ts). */
export async function pullDirectory(
  conn: MoverConnection,
  unit: string,
  key: string,
  dest: string,
  o: { signal?: AbortSignal; onWarning?: (path: string, message: string) => void; onBytes?: (n: number) => void } = {},
): Promise<ExtractResult> {
  const object = await pull(conn, { unit, key, ...(o.signal && { signal: o.signal }) });
  return extractTar(counted(object.body, o.onBytes), dest, { ...(o.onWarning && { onWarning: o.onWarning }) });
}

export interface PathRestore {
  files: number;
  directories: number;
  symlinks: number;
  /** Bytes of file data fetched: only the ranges of the files restored. */
  bytes: number;
}

/**
 * Restores one path of a pushed directory (a file, a symlink, or a directory
 * with everything under it) through ranged reads of the tar: nothing else of
 * the archive is fetched. A file lands at dest, or inside dest when dest is an
 * existing directory; a directory's contents land under dest.
 */
export async function pullPath(
  conn: MoverConnection,
  unit: string,
  key: string,
  path: string,
  dest: string,
  o: { signal?: AbortSignal; onBytes?: (n: number) => void } = {},
): Promise<PathRestore> {
  const index = await directoryIndex(conn, unit, key, o.signal);
  if (!index) throw new Error(`${unit}/${key} is not a pushed directory (no ${key + INDEX_SUFFIX} beside it)`);
  const entry = findEntry(index, path);
  if (!entry) throw new Error(`${path} is not in the backup ${unit}/${key}`);
  const done: PathRestore = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  if (entry.type !== 'directory') {
    const target = (await isDirectory(dest)) ? join(dest, basename(entry.path)) : dest;
    await restoreEntry(conn, unit, key, entry, target, done, o);
    return done;
  }
  const prefix = `${entry.path}/`;
  const under = index.entries.filter((e) => e.path.startsWith(prefix));
  await mkdir(dest, { recursive: true });
  for (const e of under) {
    // Paths come from the index: safeComponents refuses any that would leave dest.
    const target = join(dest, ...safeComponents(e.path.slice(prefix.length)));
    await assertNoSymlinkBetween(dest, target);
    await restoreEntry(conn, unit, key, e, target, done, o);
  }
  // Directories last, deepest first: writing their contents would change their times.
  for (const e of [entry, ...under].filter((x) => x.type === 'directory').reverse()) {
    const target = e === entry ? dest : join(dest, ...safeComponents(e.path.slice(prefix.length)));
    await chmod(target, e.mode);
    await utimes(target, e.mtimeMs / 1000, e.mtimeMs / 1000);
  }
  return done;
}

async function restoreEntry(
  conn: MoverConnection,
  unit: string,
  key: string,
  e: TarEntry,
  target: string,
  done: PathRestore,
  o: { signal?: AbortSignal; onBytes?: (n: number) => void },
): Promise<void> {
  if (e.type === 'directory') {
    await mkdir(target, { recursive: true });
    done.directories++;
    return;
  }
  await mkdir(dirname(target), { recursive: true });
  await rm(target, { force: true });
  if (e.type === 'symlink') {
    await symlink(e.linkTarget ?? '', target);
    done.symlinks++;
    return;
  }
  // Written beside the target and renamed: an interrupted restore leaves no half file under the real name.
  const partial = `${target}.cairn-partial`;
  if (e.size > 0) {
    const object = await pull(conn, { unit, key, range: { start: e.dataOffset, end: e.dataOffset + e.size }, ...(o.signal && { signal: o.signal }) });
    if (object.length !== e.size) throw new Error(`the server sent ${object.length} bytes of ${e.path}, not ${e.size}`);
    const onBytes = (n: number): void => {
      done.bytes += n;
      o.onBytes?.(n);
    };
    await pipeline(counted(object.body, onBytes), createWriteStream(partial, { mode: 0o600 }));
  } else {
    await pipeline(async function* () {}, createWriteStream(partial, { mode: 0o600 }));
  }
  await chmod(partial, e.mode);
  await utimes(partial, e.mtimeMs / 1000, e.mtimeMs / 1000);
  await rename(partial, target);
  done.files++;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() === true;
}

/** Refuses to write through a symlink that sits between dest and target. */
async function assertNoSymlinkBetween(dest: string, target: string): Promise<void> {
  let p = dirname(target);
  while (p.length > dest.length) {
    const st = await lstat(p).catch(() => null);
    if (st?.isSymbolicLink()) throw new Error(`refusing to write ${target}: ${p} is a symbolic link`);
    p = dirname(p);
  }
}
