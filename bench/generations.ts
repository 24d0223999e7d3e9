/*
 * Synthetic backup generations. Generation 1 is a tree of files of four
 * kinds (incompressible media, text logs, database pages, sparse zeros); each
 * later generation edits the previous one the way a week of use does:
 * overwrites, insertions and deletions inside files, appends to logs, new and
 * removed files. A generation is streamed as a tar-like archive, so what
 * changes shifts everything after it, as in a real backup stream.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

type Kind = 'random' | 'text' | 'db' | 'zero';

interface Segment {
  kind: Kind;
  seed: number;
  offset: number;
  length: number;
}

interface FileSpec {
  name: string;
  kind: Kind;
  segments: Segment[];
}

/** mulberry32: a small deterministic PRNG for choosing edits. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function keystream(seed: number, offset: number, length: number): Buffer {
  const key = createHash('sha256').update(`bench-${seed}`).digest();
  const iv = Buffer.alloc(16);
  const block = Math.floor(offset / 16);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const skip = offset - block * 16;
  return createCipheriv('aes-256-ctr', key, iv).update(Buffer.alloc(length + skip)).subarray(skip);
}

const WORDS = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'backup restore snapshot volume namespace pod deployment velero kopia restic chunk container index recipe unit ' +
  'error warning info debug request response latency bytes seconds started finished failed retry timeout cluster ' +
  'node storage policy schedule retention replica primary secondary upload download checksum verified completed'
).split(' ');

/** 4 KiB of log-like text, a pure function of (seed, block). */
function textBlock(seed: number, block: number): Buffer {
  const r = keystream(seed * 7919 + 1, block * 2048, 2048);
  const out = Buffer.alloc(4096);
  let o = 0;
  let i = 0;
  while (o < 4096) {
    const line = `2026-11-${10 + (r[i]! % 20)}T${String(r[i + 1]! % 24).padStart(2, '0')}:${String(r[i + 2]! % 60).padStart(2, '0')} `;
    o += out.write(line, o);
    i += 3;
    const words = 6 + (r[i++]! % 10);
    for (let w = 0; w < words && o < 4096; w++) o += out.write(`${WORDS[r[i++ % r.length]! % WORDS.length]} `, o);
    if (o < 4096) o += out.write('\n', o);
  }
  return out;
}

/** A 4 KiB database page: a header and rows of a fixed schema with varying values. */
function dbPage(seed: number, page: number): Buffer {
  const r = keystream(seed * 104729 + 3, page * 512, 512);
  const out = Buffer.alloc(4096);
  out.writeUInt32LE(page, 0);
  out.writeUInt32LE(seed, 4);
  let o = 16;
  for (let row = 0; o < 4000; row++) {
    const id = page * 64 + row;
    const s = `id=${id};name=customer-${r[row % 512]! * 37};status=${r[(row + 1) % 512]! % 3 === 0 ? 'ACTIVE' : 'DORMANT'};balance=${r[(row + 2) % 512]! * 113}|`;
    o += out.write(s, o);
  }
  return out;
}

function blockwise(fn: (seed: number, block: number) => Buffer, seed: number, offset: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let o = 0;
  while (o < length) {
    const pos = offset + o;
    const block = Math.floor(pos / 4096);
    const within = pos - block * 4096;
    const n = Math.min(4096 - within, length - o);
    fn(seed, block).copy(out, o, within, within + n);
    o += n;
  }
  return out;
}

function produce(s: Segment): Buffer {
  switch (s.kind) {
    case 'random':
      return keystream(s.seed, s.offset, s.length);
    case 'text':
      return blockwise(textBlock, s.seed, s.offset, s.length);
    case 'db':
      return blockwise(dbPage, s.seed, s.offset, s.length);
    case 'zero':
      return Buffer.alloc(s.length);
  }
}

function fileSize(f: FileSpec): number {
  return f.segments.reduce((n, s) => n + s.length, 0);
}

/** Splits the file's segments at pos; returns the index of the first segment at or after pos. */
function splitAt(f: FileSpec, pos: number): number {
  let o = 0;
  for (let i = 0; i < f.segments.length; i++) {
    const s = f.segments[i]!;
    if (pos === o) return i;
    if (pos < o + s.length) {
      const head = { ...s, length: pos - o };
      const tail = { ...s, offset: s.offset + (pos - o), length: s.length - (pos - o) };
      f.segments.splice(i, 1, head, tail);
      return i + 1;
    }
    o += s.length;
  }
  return f.segments.length;
}

let nextSeed = 1000;

function newFile(name: string, rand: () => number, size: number): FileSpec {
  const pick = rand();
  const kind: Kind = pick < 0.4 ? 'random' : pick < 0.7 ? 'text' : pick < 0.95 ? 'db' : 'zero';
  return { name, kind, segments: [{ kind, seed: nextSeed++, offset: 0, length: size }] };
}

export interface GenerationSet {
  /** Files of each generation, in archive order. */
  generations: FileSpec[][];
}

/** Builds the file lists of `count` generations, the first about `firstBytes` long. */
export function planGenerations(firstBytes: number, count: number): GenerationSet {
  nextSeed = 1000;
  const rand = prng(20261122);
  const files: FileSpec[] = [];
  let total = 0;
  for (let i = 0; total < firstBytes; i++) {
    // Log-uniform sizes from 4 KiB to 16 MiB.
    const size = Math.min(firstBytes - total, Math.round(4096 * Math.pow(4096, rand())));
    files.push(newFile(`data/dir${String(i % 37).padStart(2, '0')}/file${String(i).padStart(5, '0')}`, rand, size));
    total += size;
  }
  files.sort((a, b) => (a.name < b.name ? -1 : 1));
  const generations: FileSpec[][] = [files.map(cloneFile)];
  let current = files;
  for (let g = 1; g < count; g++) {
    current = current.map(cloneFile);
    const edit = prng(7 + g);
    for (const f of current) {
      if (edit() < 0.04) editFile(f, edit);
      if (f.kind === 'text' && edit() < 0.2) {
        f.segments.push({ kind: 'text', seed: nextSeed++, offset: 0, length: 4096 + Math.floor(edit() * 60_000) });
      }
    }
    current = current.filter(() => edit() >= 0.01);
    const added = Math.floor(current.length * 0.01);
    for (let i = 0; i < added; i++) {
      current.push(newFile(`data/new-g${g}/file${i}`, edit, 4096 + Math.floor(edit() * 2_000_000)));
    }
    current.sort((a, b) => (a.name < b.name ? -1 : 1));
    generations.push(current.map(cloneFile));
  }
  return { generations };
}

function cloneFile(f: FileSpec): FileSpec {
  return { ...f, segments: f.segments.map((s) => ({ ...s })) };
}

function editFile(f: FileSpec, rand: () => number): void {
  const edits = 1 + Math.floor(rand() * 3);
  for (let e = 0; e < edits; e++) {
    const size = fileSize(f);
    if (size === 0) return;
    const pos = Math.floor(rand() * size);
    const len = 1 + Math.floor(Math.pow(rand(), 2) * 65536);
    const what = rand();
    const fresh: Segment = { kind: f.kind === 'zero' ? 'random' : f.kind, seed: nextSeed++, offset: 0, length: len };
    if (what < 0.4) {
      // Overwrite in place.
      const from = splitAt(f, pos);
      const to = splitAt(f, Math.min(size, pos + len));
      f.segments.splice(from, to - from, { ...fresh, length: Math.min(len, size - pos) });
    } else if (what < 0.7) {
      f.segments.splice(splitAt(f, pos), 0, fresh);
    } else {
      const from = splitAt(f, pos);
      const to = splitAt(f, Math.min(size, pos + len));
      f.segments.splice(from, to - from);
    }
  }
}

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 99), 0);
  h.write(size.toString(8).padStart(11, '0'), 124);
  return h;
}

/** Writes generation g as an archive file (cached: an existing file of the plan's size is reused). */
export async function materialize(set: GenerationSet, g: number, dir: string): Promise<{ path: string; bytes: number }> {
  mkdirSync(dir, { recursive: true });
  const files = set.generations[g]!;
  let bytes = 0;
  for (const f of files) bytes += 512 + Math.ceil(fileSize(f) / 512) * 512;
  const digest = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 12);
  const path = join(dir, `gen${g + 1}-${digest}.tar`);
  if (existsSync(path) && statSync(path).size === bytes) return { path, bytes };
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
  for (const f of files) {
    const size = fileSize(f);
    if (!out.write(tarHeader(f.name, size))) await once(out, 'drain');
    for (const s of f.segments) {
      for (let o = 0; o < s.length; o += 1 << 20) {
        const piece = produce({ ...s, offset: s.offset + o, length: Math.min(1 << 20, s.length - o) });
        if (!out.write(piece)) await once(out, 'drain');
      }
    }
    const pad = (512 - (size % 512)) % 512;
    if (pad && !out.write(Buffer.alloc(pad))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  renameSync(tmp, path);
  return { path, bytes };
}
