// A directory as one deterministic POSIX (pax) tar stream, plus the index of where each file's data sits.
import { constants as fsConstants } from 'node:fs';
import { lstat, open, readdir, readlink, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { DirectoryIndex, TarEntry } from './directory-index.js';
import { BLOCK_BYTES, END_OF_ARCHIVE_BYTES, encodeEntryHeader, nsToMs, paddingFor, type EntryHeaderFields } from './tar-header.js';

export interface DirectoryTar {
  /** The tar bytes, in pieces of at most 1 MiB; reading it drives the walk. Iterate it once. */
  stream: AsyncIterable<Buffer>;
  /** Resolves once the stream has been read to its end (rejects if the stream failed or was abandoned). */
  index: Promise<DirectoryIndex>;
}

export interface TarDirectoryOptions {
  onWarning?: (path: string, message: string) => void;
}

export const PIECE_BYTES = 1024 * 1024;
// Parts at least this big go out as they are; smaller ones (headers, small files) are batched so a tree
// of small files does not become a stream of 512-byte pieces.
const DIRECT_PART_BYTES = 64 * 1024;

// Errors that mean "this entry cannot be read now" rather than "the backup is broken": skip and warn.
const SKIPPABLE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP']);

type Warn = (path: string, message: string) => void;

interface WalkState {
  warn: Warn;
  entries: TarEntry[];
  /** Bytes produced so far: the stream offset of the next part. */
  position: number;
}

function skippable(err: unknown): err is NodeJS.ErrnoException {
  return typeof (err as NodeJS.ErrnoException)?.code === 'string' && SKIPPABLE.has((err as NodeJS.ErrnoException).code!);
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'vanished during the walk';
  return err.code === 'EACCES' || err.code === 'EPERM' ? `unreadable (${err.code})` : `${err.code}: ${err.message}`;
}

/** Positional reads, as FileHandle offers them; separate so size reconciliation can be tested on its own. */
export interface PositionalReader {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

/**
 * Exactly `size` bytes of data followed by the padding to a block boundary, whatever the file does
 * meanwhile: the header already promised `size`. A file that shrank is padded with zeros, one that grew is
 * cut; either way onChanged is called (once).
 */
export async function* fixedSizeBody(
  reader: PositionalReader,
  size: number,
  onChanged: () => void,
  pieceBytes = PIECE_BYTES,
): AsyncGenerator<Buffer> {
  const total = size + paddingFor(size);
  let position = 0;
  let changed = false;
  while (position < total) {
    // pieceBytes is a multiple of the block size, so the padding never pushes a piece past it.
    const piece = Buffer.allocUnsafe(Math.min(pieceBytes, total - position));
    const want = Math.max(0, Math.min(piece.length, size - position));
    let filled = 0;
    while (!changed && filled < want) {
      const { bytesRead } = await reader.read(piece, filled, want - filled, position + filled);
      if (bytesRead === 0) changed = true;
      filled += bytesRead;
    }
    // Zeros for the padding, and for whatever a shrunk file no longer has.
    piece.fill(0, filled);
    position += piece.length;
    yield piece;
  }
  if (!changed) {
    const probe = Buffer.alloc(1);
    if ((await reader.read(probe, 0, 1, size)).bytesRead > 0) changed = true;
  }
  if (changed) onChanged();
}

function headerPart(state: WalkState, entry: Omit<TarEntry, 'dataOffset'>): Buffer {
  const fields: EntryHeaderFields = entry;
  const header = encodeEntryHeader(fields);
  state.position += header.length;
  state.entries.push({ ...entry, dataOffset: entry.type === 'file' ? state.position : 0 });
  return header;
}

function kindOf(st: { isSocket(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  return 'unknown file type';
}

/** Names of a directory in byte order of their UTF-8 encoding; names that are not valid UTF-8 are warned about and left out. */
async function sortedNames(state: WalkState, abs: string, rel: string): Promise<string[]> {
  const raw = await readdir(abs, { encoding: 'buffer' });
  raw.sort(Buffer.compare);
  const names: string[] = [];
  for (const b of raw) {
    const name = b.toString('utf8');
    if (Buffer.from(name, 'utf8').equals(b)) names.push(name);
    else state.warn(rel ? `${rel}/${name}` : name, 'skipped: name is not valid UTF-8');
  }
  return names;
}

async function* children(state: WalkState, abs: string, rel: string, names: string[]): AsyncGenerator<Buffer> {
  for (const name of names) yield* entry(state, join(abs, name), rel ? `${rel}/${name}` : name);
}

async function* fileEntry(state: WalkState, abs: string, rel: string): AsyncGenerator<Buffer> {
  let fh: FileHandle;
  try {
    // NOFOLLOW: the entry may have been swapped for a symlink since lstat. NONBLOCK: or for a FIFO.
    fh = await open(abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  } catch (err) {
    if (!skippable(err)) throw err;
    state.warn(rel, `skipped: ${describe(err)}`);
    return;
  }
  try {
    // Metadata of what was actually opened, not of what lstat saw a moment ago.
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) {
      state.warn(rel, 'skipped: changed type during the walk');
      return;
    }
    const size = Number(st.size);
    yield headerPart(state, {
      path: rel, type: 'file', mode: Number(st.mode) & 0o7777, mtimeMs: nsToMs(st.mtimeNs), size, uid: Number(st.uid), gid: Number(st.gid),
    });
    for await (const piece of fixedSizeBody(fh, size, () => state.warn(rel, 'file changed as it was read'))) {
      state.position += piece.length;
      yield piece;
    }
  } finally {
    await fh.close();
  }
}

type Found =
  | { kind: 'directory'; fields: Omit<TarEntry, 'dataOffset'>; names: string[] }
  | { kind: 'symlink'; fields: Omit<TarEntry, 'dataOffset'> }
  | { kind: 'file' }
  | { kind: 'skip' };

/** What is at `abs`, with everything needed before its header can go out. */
async function inspect(state: WalkState, abs: string, rel: string): Promise<Found> {
  const st = await lstat(abs, { bigint: true });
  const fields = { path: rel, mode: Number(st.mode) & 0o7777, mtimeMs: nsToMs(st.mtimeNs), size: 0, uid: Number(st.uid), gid: Number(st.gid) };
  if (st.isDirectory()) {
    // Listed before its header goes out, so an unlistable directory is skipped whole rather than restored empty.
    return { kind: 'directory', fields: { ...fields, type: 'directory' }, names: await sortedNames(state, abs, rel) };
  }
  if (st.isSymbolicLink()) {
    const target = await readlink(abs, { encoding: 'buffer' });
    const text = target.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(target)) return { kind: 'symlink', fields: { ...fields, type: 'symlink', linkTarget: text } };
    state.warn(rel, 'skipped: symlink target is not valid UTF-8');
    return { kind: 'skip' };
  }
  if (st.isFile()) return { kind: 'file' };
  state.warn(rel, `skipped: ${kindOf(st)}`);
  return { kind: 'skip' };
}

async function* entry(state: WalkState, abs: string, rel: string): AsyncGenerator<Buffer> {
  let found: Found;
  try {
    found = await inspect(state, abs, rel);
  } catch (err) {
    if (!skippable(err)) throw err;
    state.warn(rel, `skipped: ${describe(err)}`);
    return;
  }
  if (found.kind === 'directory') {
    yield headerPart(state, found.fields);
    yield* children(state, abs, rel, found.names);
  } else if (found.kind === 'symlink') {
    yield headerPart(state, found.fields);
  } else if (found.kind === 'file') {
    yield* fileEntry(state, abs, rel);
  }
}

async function* tarParts(root: string, state: WalkState): AsyncGenerator<Buffer> {
  const st = await stat(root);
  if (!st.isDirectory()) throw new Error(`${root} is not a directory`);
  yield* children(state, root, '', await sortedNames(state, root, ''));
  state.position += END_OF_ARCHIVE_BYTES;
  yield Buffer.alloc(END_OF_ARCHIVE_BYTES);
}

async function* coalesce(parts: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const part of parts) {
    if (pendingBytes > 0 && pendingBytes + part.length > PIECE_BYTES) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
    if (part.length >= DIRECT_PART_BYTES) {
      if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      yield part;
    } else {
      pending.push(part);
      pendingBytes += part.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/**
 * Streams `root` (following it if it is a symlink, but nothing below it) as a tar. Nothing is read until
 * the stream is iterated, and nothing is read ahead of what the consumer asks for.
 */
export function tarDirectory(root: string, options: TarDirectoryOptions = {}): DirectoryTar {
  let settle!: { resolve: (i: DirectoryIndex) => void; reject: (e: unknown) => void };
  const index = new Promise<DirectoryIndex>((resolve, reject) => (settle = { resolve, reject }));
  // Callers that only want the stream must not get an unhandled rejection; awaiting index still sees it.
  index.catch(() => {});
  const state: WalkState = { warn: options.onWarning ?? (() => {}), entries: [], position: 0 };

  async function* run(): AsyncGenerator<Buffer> {
    let done = false;
    try {
      yield* coalesce(tarParts(root, state));
      done = true;
      if (state.position % BLOCK_BYTES !== 0) throw new Error(`internal error: tar length ${state.position} is not block-aligned`);
      settle.resolve({ format: 'cairn-directory-index', version: 1, tarBytes: state.position, entries: state.entries });
    } catch (err) {
      settle.reject(err);
      throw err;
    } finally {
      if (!done) settle.reject(new Error(`tar stream of ${root} was not read to its end`));
    }
  }
  return { stream: run(), index };
}
