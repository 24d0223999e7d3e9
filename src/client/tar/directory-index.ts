// The file index stored beside a pushed directory's tar: where each file's bytes sit in the tar stream,
// so one file can be restored with a ranged read.
import type { EntryHeaderFields, EntryType } from './tar-header.js';

export type { EntryType };

/** An entry of a pushed directory (the root itself is not one), and where its data sits in the tar. */
export interface TarEntry extends EntryHeaderFields {
  /** Files: byte offset of the file's first data byte within the tar stream; 0 for others. */
  dataOffset: number;
}

export interface DirectoryIndex {
  format: 'cairn-directory-index';
  version: 1;
  tarBytes: number;
  entries: TarEntry[];
}

/** The index object's key is the tar object's key + this. */
export const INDEX_SUFFIX = '.cairn-index.json';

const FORMAT = 'cairn-directory-index';
const ENTRY_TYPES: ReadonlySet<string> = new Set(['file', 'directory', 'symlink']);

/** JSON with keys in a fixed order, so the same tree always gives the same index bytes. */
export function encodeIndex(index: DirectoryIndex): Buffer {
  const entries = index.entries.map((e) => ({
    path: e.path,
    type: e.type,
    mode: e.mode,
    mtimeMs: e.mtimeMs,
    size: e.size,
    ...(e.type === 'symlink' ? { linkTarget: e.linkTarget } : {}),
    uid: e.uid,
    gid: e.gid,
    dataOffset: e.dataOffset,
  }));
  return Buffer.from(JSON.stringify({ format: index.format, version: index.version, tarBytes: index.tarBytes, entries }), 'utf8');
}

/** Why `path` is unsafe as a relative path under a restore root, or undefined when it is safe. */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'empty path';
  if (path.includes('\0')) return 'contains NUL';
  if (path.startsWith('/')) return 'absolute path';
  for (const part of path.split('/')) {
    if (part === '') return 'empty path component';
    if (part === '..') return "'..' component";
    if (part === '.') return "'.' component";
  }
  return undefined;
}

function fail(what: string): never {
  throw new Error(`invalid directory index: ${what}`);
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function decodeEntry(raw: unknown, at: string, tarBytes: number): TarEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`${at} is not an object`);
  const e = raw as Record<string, unknown>;
  if (typeof e.path !== 'string') fail(`${at}.path is not a string`);
  const unsafe = unsafePathReason(e.path);
  if (unsafe) fail(`${at}.path ${JSON.stringify(e.path)} is unsafe (${unsafe})`);
  if (typeof e.type !== 'string' || !ENTRY_TYPES.has(e.type)) fail(`${at}.type ${JSON.stringify(e.type)} is not file, directory or symlink`);
  const type = e.type as EntryType;
  if (!isNonNegativeInteger(e.mode) || e.mode > 0o7777) fail(`${at}.mode ${JSON.stringify(e.mode)} is not a permission-bits integer`);
  if (typeof e.mtimeMs !== 'number' || !Number.isSafeInteger(e.mtimeMs)) fail(`${at}.mtimeMs ${JSON.stringify(e.mtimeMs)} is not an integer`);
  for (const k of ['size', 'uid', 'gid', 'dataOffset'] as const) {
    if (!isNonNegativeInteger(e[k])) fail(`${at}.${k} ${JSON.stringify(e[k])} is not a non-negative integer`);
  }
  const size = e.size as number;
  const dataOffset = e.dataOffset as number;
  if (type === 'file') {
    if (dataOffset + size > tarBytes) fail(`${at} data [${dataOffset}, ${dataOffset + size}) lies beyond tarBytes ${tarBytes}`);
  } else if (size !== 0 || dataOffset !== 0) {
    fail(`${at} is a ${type} but has size ${size} and dataOffset ${dataOffset} (both must be 0)`);
  }
  if (type === 'symlink') {
    if (typeof e.linkTarget !== 'string' || e.linkTarget === '') fail(`${at}.linkTarget is missing or not a non-empty string`);
  } else if (e.linkTarget !== undefined) {
    fail(`${at} is a ${type} but has a linkTarget`);
  }
  const entry: TarEntry = { path: e.path, type, mode: e.mode, mtimeMs: e.mtimeMs, size, uid: e.uid as number, gid: e.gid as number, dataOffset };
  if (type === 'symlink') entry.linkTarget = e.linkTarget as string;
  return entry;
}

/** Parses and strictly validates an index; the error message says what is wrong. */
export function decodeIndex(bytes: Uint8Array): DirectoryIndex {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    fail(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not a JSON object');
  const o = raw as Record<string, unknown>;
  if (o.format !== FORMAT) fail(`format is ${JSON.stringify(o.format)}, expected ${JSON.stringify(FORMAT)}`);
  if (o.version !== 1) fail(`version ${JSON.stringify(o.version)} is not supported (expected 1)`);
  if (!isNonNegativeInteger(o.tarBytes)) fail(`tarBytes ${JSON.stringify(o.tarBytes)} is not a non-negative integer`);
  if (!Array.isArray(o.entries)) fail('entries is not an array');
  const tarBytes = o.tarBytes;
  const entries = o.entries.map((e, i) => decodeEntry(e, `entries[${i}]`, tarBytes));
  return { format: FORMAT, version: 1, tarBytes, entries };
}

/** Looks `path` up as stored; a leading './' (or several) is accepted and dropped. */
export function findEntry(index: DirectoryIndex, path: string): TarEntry | undefined {
  let p = path;
  while (p.startsWith('./')) p = p.slice(2);
  return index.entries.find((e) => e.path === p);
}
