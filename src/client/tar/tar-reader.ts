// Reads a tar stream entry by entry: ustar, pax ('x', 'g') and GNU long names ('L', 'K').
import { BLOCK_BYTES, decodePaxRecords, decodeUstarHeader, paddingFor, parsePaxTime, type DecodedUstarHeader, type EntryHeaderFields, type EntryType } from './tar-header.js';

export interface TarHeaderInfo extends Omit<EntryHeaderFields, 'type'> {
  /** 'other' for the entry types a restore skips with a warning. */
  type: EntryType | 'other';
}

// Metadata entries (pax records, GNU long names) are held in memory; a hostile archive must not make that unbounded.
const MAX_METADATA_BYTES = 1024 * 1024;

/** Pulls exact byte counts out of an iterable of arbitrary pieces, counting the stream offset. */
class ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Stream offset of the next unread byte. */
  offset = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.pending.length === 0) {
      if (this.ended) return false;
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return false;
      }
      this.pending = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    }
    return true;
  }

  /** Up to `max` bytes (at least one), or undefined at end of stream. */
  async some(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const n = Math.min(max, this.pending.length);
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    this.offset += n;
    return out;
  }

  /** Exactly n bytes; undefined if the stream ends before the first of them; throws if it ends midway. */
  async exactly(n: number, what: () => string): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const part = await this.some(n - got);
      if (!part) {
        if (got === 0) return undefined;
        throw truncated(this.offset, what());
      }
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }

  async skip(n: number, what: () => string): Promise<void> {
    for (let left = n; left > 0; ) {
      const part = await this.some(left);
      if (!part) throw truncated(this.offset, what());
      left -= part.length;
    }
  }

  async drain(): Promise<void> {
    while (await this.some(Infinity));
  }

  async close(): Promise<void> {
    if (!this.ended) await this.it.return?.();
  }
}

function truncated(offset: number, what: string): Error {
  return new Error(`tar stream truncated at offset ${offset} (in ${what})`);
}

function typeOf(h: DecodedUstarHeader): EntryType | 'other' {
  switch (h.typeflag) {
    case '0':
    case '\0':
    case '7': // contiguous file: a plain file everywhere that matters
      // Pre-POSIX archives mark directories only by the trailing slash.
      return h.typeflag !== '7' && h.path.endsWith('/') ? 'directory' : 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    default:
      return 'other';
  }
}

function paxInteger(records: Map<string, string>, key: string, offset: number): number | undefined {
  const v = records.get(key);
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Error(`malformed pax ${key} ${JSON.stringify(v)} for the entry at offset ${offset}`);
  return Number(v);
}

function mergePax(into: Map<string, string>, records: Map<string, string>): void {
  // An empty value removes the key: the header field applies again.
  for (const [k, v] of records) {
    if (v === '') into.delete(k);
    else into.set(k, v);
  }
}

/**
 * Yields each entry with its body. Read the body (or leave it) before asking for the next entry: moving
 * on skips whatever was not read, and the old body can no longer be read.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>): AsyncGenerator<{ header: TarHeaderInfo; body: AsyncIterable<Buffer> }> {
  const src = new ByteSource(source);
  const global = new Map<string, string>();
  let local = new Map<string, string>();
  let longName: string | undefined;
  let longLink: string | undefined;
  try {
    for (;;) {
      const at = src.offset;
      const block = await src.exactly(BLOCK_BYTES, () => `the header at offset ${at}`);
      if (!block) throw new Error(`tar stream truncated at offset ${at}: it ends without the end-of-archive blocks`);
      const h = decodeUstarHeader(block, at);
      if (!h) {
        // A zero block ends the archive (normally two of them). What follows (the second block, blocking
        // padding) is read and ignored: the source runs to its end, so a producer waiting for that (such as
        // tarDirectory's index) completes, and an HTTP body is not cut off.
        await src.drain();
        return;
      }

      const metaWhat = () => `the ${h.typeflag} metadata entry at offset ${at}`;
      const metadata = async (): Promise<Buffer> => {
        if (h.size > MAX_METADATA_BYTES) throw new Error(`tar metadata entry at offset ${at} is too large (${h.size} bytes)`);
        const data = await src.exactly(h.size, metaWhat);
        if (!data) throw truncated(src.offset, metaWhat());
        await src.skip(paddingFor(h.size), metaWhat);
        return data;
      };
      if (h.typeflag === 'x' || h.typeflag === 'g') {
        const records = decodePaxRecords(await metadata(), at + BLOCK_BYTES);
        mergePax(h.typeflag === 'x' ? local : global, records);
        continue;
      }
      if (h.typeflag === 'L' || h.typeflag === 'K') {
        const data = await metadata();
        const nul = data.indexOf(0);
        const text = data.subarray(0, nul === -1 ? data.length : nul).toString('utf8');
        if (h.typeflag === 'L') longName = text;
        else longLink = text;
        continue;
      }

      const pax = new Map([...global, ...local]);
      local = new Map();
      const rawPath = pax.get('path') ?? longName ?? h.path;
      const type = typeOf({ ...h, path: rawPath });
      const size = paxInteger(pax, 'size', at) ?? h.size;
      const header: TarHeaderInfo = {
        // Directories carry a trailing '/' in the archive; entries are named without it.
        path: type === 'directory' ? rawPath.replace(/\/+$/, '') : rawPath,
        type,
        mode: h.mode & 0o7777,
        mtimeMs: pax.has('mtime') ? parsePaxTime(pax.get('mtime')!, at) : h.mtime * 1000,
        // Only files carry data in this model, but the archive's size still says how much to skip.
        size,
        uid: paxInteger(pax, 'uid', at) ?? h.uid,
        gid: paxInteger(pax, 'gid', at) ?? h.gid,
      };
      const link = pax.get('linkpath') ?? longLink ?? h.linkname;
      if (type === 'symlink' || (type === 'other' && link !== '')) header.linkTarget = link;
      longName = undefined;
      longLink = undefined;

      const what = () => `the data of ${JSON.stringify(header.path)}`;
      let left = size;
      let current = true;
      const body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          if (!current) throw new Error(`the body of ${JSON.stringify(header.path)} was read after moving to the next tar entry`);
          while (left > 0) {
            const part = await src.some(left);
            if (!part) throw truncated(src.offset, what());
            left -= part.length;
            yield part;
          }
        },
      };
      yield { header, body };
      current = false;
      await src.skip(left + paddingFor(size), what);
    }
  } finally {
    await src.close();
  }
}
