import type { IndexDb, ObjectRow } from './index-db.js';
import { objectInfo, type ObjectInfo } from './object-info.js';

export interface ListOptions {
  prefix?: string;
  /** Only keys (and common prefixes) strictly after this one. */
  startAfter?: string;
  /** At most this many keys plus common prefixes; default 1000. */
  limit?: number;
  delimiter?: string;
}

export interface ListResult {
  objects: ObjectInfo[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned: pass as startAfter for the next page. */
  nextStartAfter: string | undefined;
}

type Entry = { kind: 'object'; row: ObjectRow } | { kind: 'prefix'; prefix: Buffer };

/**
 * Lists keys in UTF-8 byte order, as S3 does. With a delimiter, all keys
 * under one common prefix are skipped with a single index seek, so a unit of
 * many objects lists its top level in as many queries as it has entries.
 */
export function listObjects(index: IndexDb, options: ListOptions = {}): ListResult {
  const limit = Math.max(0, Math.floor(options.limit ?? 1000));
  const prefix = Buffer.from(options.prefix ?? '', 'utf8');
  const after = options.startAfter !== undefined && options.startAfter !== '' ? Buffer.from(options.startAfter, 'utf8') : null;
  const delimiter = options.delimiter ? Buffer.from(options.delimiter, 'utf8') : null;
  const upper = successor(prefix);

  let cursor: Buffer = prefix;
  let exclusive = false;
  if (after && Buffer.compare(after, prefix) >= 0) {
    cursor = after;
    exclusive = true;
  }

  const entries: Entry[] = [];
  let batch: ObjectRow[] = [];
  let bi = 0;
  // One extra entry tells whether the listing is truncated.
  // With a delimiter most rows fetched past a common prefix are skipped: fetch few, more while they are used.
  let fetch = delimiter ? 16 : limit + 1;
  while (entries.length < limit + 1) {
    if (bi >= batch.length) {
      batch = exclusive ? nextBatchAfter(index, cursor, fetch) : index.objectsFrom(cursor, fetch);
      fetch = Math.min(limit + 1, fetch * 2);
      bi = 0;
      if (batch.length === 0) break;
    }
    const row = batch[bi++]!;
    if ((upper && Buffer.compare(row.key, upper) >= 0) || !startsWith(row.key, prefix)) break;
    cursor = row.key;
    exclusive = true;
    if (delimiter) {
      const at = row.key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const common = row.key.subarray(0, at + delimiter.length);
        if (!after || Buffer.compare(common, after) > 0) entries.push({ kind: 'prefix', prefix: Buffer.from(common) });
        const next = successor(common);
        if (!next) break;
        cursor = next;
        exclusive = false;
        batch = [];
        fetch = 16;
        continue;
      }
    }
    entries.push({ kind: 'object', row });
  }

  // With a limit of 0 there is no page to continue from: S3 answers an empty, untruncated list.
  const isTruncated = limit > 0 && entries.length > limit;
  const page = entries.slice(0, limit);
  const last = page[page.length - 1];
  return {
    objects: page.filter((e) => e.kind === 'object').map((e) => objectInfo(e.row)),
    commonPrefixes: page.filter((e) => e.kind === 'prefix').map((e) => e.prefix.toString('utf8')),
    isTruncated,
    nextStartAfter: isTruncated && last ? (last.kind === 'object' ? last.row.key : last.prefix).toString('utf8') : undefined,
  };
}

function nextBatchAfter(index: IndexDb, key: Buffer, limit: number): ObjectRow[] {
  const first = index.firstObjectFrom(key, true);
  if (!first) return [];
  return [first, ...index.objectsFrom(first.key, limit).slice(1)];
}

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** The smallest byte string greater than every string starting with b; null if there is none. */
export function successor(b: Buffer): Buffer | null {
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const s = Buffer.from(b.subarray(0, i + 1));
      s[i]!++;
      return s;
    }
  }
  return null;
}
