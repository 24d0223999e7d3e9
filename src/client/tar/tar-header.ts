// 512-byte ustar headers and pax extended header records (POSIX.1-2001 "pax" interchange format).

export const BLOCK_BYTES = 512;
/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE_BYTES = 2 * BLOCK_BYTES;

// Largest values the octal fields can hold (digits + terminator).
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** Header fields as they sit in one ustar block, before any pax or GNU override. */
export interface UstarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds. */
  mtime: number;
  typeflag: string;
  linkname: string;
  /** POSIX ustar only; GNU's old format uses these bytes for other things. */
  prefix: string;
}

export interface DecodedUstarHeader extends UstarHeader {
  /** prefix + '/' + name when the header is POSIX ustar with a prefix, else name. */
  path: string;
}

export type EntryType = 'file' | 'directory' | 'symlink';

/** What one archive entry says about itself; encodeEntryHeader turns it into pax + ustar blocks. */
export interface EntryHeaderFields {
  /** Relative to the archived root, '/'-separated, no leading './', no trailing '/'. */
  path: string;
  type: EntryType;
  /** Permission bits only (mode & 0o7777). */
  mode: number;
  /** Integer milliseconds. */
  mtimeMs: number;
  /** Bytes of file data; 0 for directories and symlinks. */
  size: number;
  /** Symlinks only. */
  linkTarget?: string;
  uid: number;
  gid: number;
}

export function paddingFor(size: number): number {
  return (BLOCK_BYTES - (size % BLOCK_BYTES)) % BLOCK_BYTES;
}

// ---- ustar block ----

const FIELDS = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const;
type FieldName = keyof typeof FIELDS;

function writeString(block: Buffer, field: FieldName, value: string): void {
  const [at, width] = FIELDS[field];
  const bytes = Buffer.from(value, 'utf8');
  // A string may fill its field exactly; it is then not NUL-terminated, as ustar allows.
  if (bytes.length > width) throw new RangeError(`tar header field ${field} cannot hold ${bytes.length} bytes (max ${width})`);
  bytes.copy(block, at);
}

function writeOctal(block: Buffer, field: FieldName, value: number): void {
  const [at, width] = FIELDS[field];
  if (!Number.isSafeInteger(value) || value < 0 || value > 8 ** (width - 1) - 1) {
    throw new RangeError(`tar header field ${field} cannot hold ${value}`);
  }
  block.write(value.toString(8).padStart(width - 1, '0') + '\0', at, 'latin1');
}

function checksumOf(block: Buffer): { unsigned: number; signed: number } {
  // The checksum is computed as if its own field held spaces. Some historic writers summed signed chars.
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_BYTES; i++) {
    const inField = i >= 148 && i < 156;
    const b = inField ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return { unsigned, signed };
}

export function encodeUstarHeader(h: UstarHeader): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES);
  writeString(block, 'name', h.name);
  writeOctal(block, 'mode', h.mode);
  writeOctal(block, 'uid', h.uid);
  writeOctal(block, 'gid', h.gid);
  writeOctal(block, 'size', h.size);
  writeOctal(block, 'mtime', h.mtime);
  if (h.typeflag.length !== 1) throw new RangeError(`tar typeflag must be one character, got ${JSON.stringify(h.typeflag)}`);
  writeString(block, 'typeflag', h.typeflag);
  writeString(block, 'linkname', h.linkname);
  block.write('ustar\0', FIELDS.magic[0], 'latin1');
  block.write('00', FIELDS.version[0], 'latin1');
  writeOctal(block, 'devmajor', 0);
  writeOctal(block, 'devminor', 0);
  writeString(block, 'prefix', h.prefix);
  const sum = checksumOf(block).unsigned;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', FIELDS.chksum[0], 'latin1');
  return block;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

function readString(block: Buffer, field: FieldName): string {
  const [at, width] = FIELDS[field];
  const raw = block.subarray(at, at + width);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul === -1 ? width : nul).toString('utf8');
}

function readNumber(block: Buffer, field: FieldName, offset: number): number {
  const [at, width] = FIELDS[field];
  const raw = block.subarray(at, at + width);
  if (raw[0]! & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit of the first byte as the marker.
    let v = BigInt(raw[0]! & 0x7f) - (raw[0]! & 0x40 ? 0x80n : 0n);
    for (let i = 1; i < width; i++) v = (v << 8n) | BigInt(raw[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new Error(`tar header at offset ${offset}: ${field} field out of range`);
    }
    return Number(v);
  }
  // Octal digits, optionally space-padded in front, ended by NUL or space; bytes after the terminator don't count.
  const m = /^ *([0-7]*)(?:[ \0][^]*)?$/.exec(raw.toString('latin1'));
  if (!m) throw new Error(`tar header at offset ${offset}: malformed ${field} field ${JSON.stringify(raw.toString('latin1'))}`);
  return m[1] === '' ? 0 : parseInt(m[1]!, 8);
}

/**
 * Decodes one header block; null for a zero block (end of archive). `offset` is the block's position
 * in the stream, for error messages.
 */
export function decodeUstarHeader(block: Buffer, offset: number): DecodedUstarHeader | null {
  if (block.length !== BLOCK_BYTES) throw new Error(`tar header at offset ${offset} is ${block.length} bytes, not ${BLOCK_BYTES}`);
  if (isZeroBlock(block)) return null;
  const stored = readNumber(block, 'chksum', offset);
  const { unsigned, signed } = checksumOf(block);
  if (stored !== unsigned && stored !== signed) throw new Error(`tar header checksum mismatch at offset ${offset}`);
  const posix = block.toString('latin1', FIELDS.magic[0], FIELDS.magic[0] + 6) === 'ustar\0';
  const name = readString(block, 'name');
  const prefix = posix ? readString(block, 'prefix') : '';
  const typeflag = block[FIELDS.typeflag[0]] === 0 ? '\0' : String.fromCharCode(block[FIELDS.typeflag[0]]!);
  return {
    name,
    prefix,
    path: prefix ? `${prefix}/${name}` : name,
    mode: readNumber(block, 'mode', offset),
    uid: readNumber(block, 'uid', offset),
    gid: readNumber(block, 'gid', offset),
    size: readNumber(block, 'size', offset),
    mtime: readNumber(block, 'mtime', offset),
    typeflag,
    linkname: readString(block, 'linkname'),
  };
}

// ---- pax records ----

/** Records in the given order: "<len> <key>=<value>\n", where len counts the whole record including itself. */
export function encodePaxRecords(records: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    if (key === '' || key.includes('=')) throw new RangeError(`invalid pax key ${JSON.stringify(key)}`);
    const rest = Buffer.byteLength(` ${key}=${value}\n`, 'utf8');
    let len = rest + 1;
    while (String(len).length + rest !== len) len = String(len).length + rest;
    parts.push(Buffer.from(`${len} ${key}=${value}\n`, 'utf8'));
  }
  return Buffer.concat(parts);
}

/** `offset` is where the records start in the stream, for error messages. */
export function decodePaxRecords(data: Buffer, offset: number): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    // Some writers pad the record area with NULs.
    if (isZeroBlock(data.subarray(pos))) break;
    const space = data.indexOf(0x20, pos);
    const lenText = space === -1 ? '' : data.toString('latin1', pos, space);
    const len = /^[0-9]{1,12}$/.test(lenText) ? parseInt(lenText, 10) : NaN;
    if (!(len > space - pos + 1) || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new Error(`malformed pax record at offset ${offset + pos}`);
    }
    const record = data.subarray(space + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new Error(`malformed pax record at offset ${offset + pos}`);
    out.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1));
    pos += len;
  }
  return out;
}

// ---- time ----

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * Nanoseconds to milliseconds, rounded to nearest. Rounding (not truncating) matters: setting an mtime
 * of x.123 s goes through a double and libuv's microsecond truncation, and reads back as x.122999 s.
 */
export function nsToMs(ns: bigint): number {
  return Number(floorDiv(ns + 500_000n, 1_000_000n));
}

/** A pax time value ("1700000000.123", "-1.5") in milliseconds, rounded to nearest. */
export function parsePaxTime(value: string, offset: number): number {
  const m = /^(-?)([0-9]+)(?:\.([0-9]*))?$/.exec(value);
  if (!m) throw new Error(`malformed pax time ${JSON.stringify(value)} at offset ${offset}`);
  const frac = (m[3] ?? '').slice(0, 9).padEnd(9, '0');
  const ns = BigInt(m[2]!) * 1_000_000_000n + BigInt(frac);
  return nsToMs(m[1] ? -ns : ns);
}

export function formatPaxTime(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  const secs = Math.floor(abs / 1000);
  const frac = abs % 1000;
  return frac === 0 ? `${sign}${secs}` : `${sign}${secs}.${String(frac).padStart(3, '0')}`;
}

// ---- one entry: optional pax header, then its ustar header ----

const TYPEFLAGS: Record<EntryType, string> = { file: '0', directory: '5', symlink: '2' };

function isAscii(s: string): boolean {
  return /^[\x00-\x7f]*$/.test(s);
}

/** Stand-in text for fields carried by pax: readers without pax support see something close, never raw UTF-8. */
function asciiOnly(s: string): string {
  return s.replace(/[^\x00-\x7f]/gu, '_');
}

/** Splits an ASCII path into ustar prefix (≤155) and name (≤100, non-empty) at a '/'; undefined when impossible. */
export function splitUstarPath(path: string): { prefix: string; name: string } | undefined {
  if (path.length <= 100) return { prefix: '', name: path };
  for (let i = path.indexOf('/'); i !== -1 && i <= 155; i = path.indexOf('/', i + 1)) {
    const name = path.slice(i + 1);
    if (name.length > 0 && name.length <= 100) return { prefix: path.slice(0, i), name };
  }
  return undefined;
}

/**
 * The header blocks for one entry: a pax 'x' header (with its records, padded) when some field does not
 * fit ustar, then the ustar header. Encodes whatever it is given (tests craft hostile archives with it).
 */
export function encodeEntryHeader(f: EntryHeaderFields): Buffer {
  const headerPath = f.type === 'directory' ? `${f.path}/` : f.path;
  const link = f.linkTarget ?? '';
  const records: Array<[string, string]> = [];

  let split = isAscii(headerPath) ? splitUstarPath(headerPath) : undefined;
  if (!split) {
    records.push(['path', headerPath]);
    const fallback = asciiOnly(headerPath);
    split = splitUstarPath(fallback) ?? { prefix: '', name: fallback.slice(0, 100) };
  }
  let linkname = link;
  if (!isAscii(link) || link.length > 100) {
    records.push(['linkpath', link]);
    linkname = asciiOnly(link).slice(0, 100);
  }
  const size = f.size > MAX_OCTAL_11 ? 0 : f.size;
  if (size !== f.size) records.push(['size', String(f.size)]);
  const mtimeSecs = Math.floor(f.mtimeMs / 1000);
  const mtimeFits = mtimeSecs >= 0 && mtimeSecs <= MAX_OCTAL_11;
  if (f.mtimeMs % 1000 !== 0 || !mtimeFits) records.push(['mtime', formatPaxTime(f.mtimeMs)]);
  const uid = f.uid > MAX_OCTAL_7 ? 0 : f.uid;
  if (uid !== f.uid) records.push(['uid', String(f.uid)]);
  const gid = f.gid > MAX_OCTAL_7 ? 0 : f.gid;
  if (gid !== f.gid) records.push(['gid', String(f.gid)]);

  const ustar = encodeUstarHeader({
    name: split.name,
    prefix: split.prefix,
    mode: f.mode & 0o7777,
    uid,
    gid,
    size,
    mtime: mtimeFits ? mtimeSecs : 0,
    typeflag: TYPEFLAGS[f.type],
    linkname,
  });
  if (records.length === 0) return ustar;

  const body = encodePaxRecords(records);
  // A fixed name (no pid, unlike GNU's default) keeps the output deterministic.
  const base = asciiOnly(f.path.slice(f.path.lastIndexOf('/') + 1));
  const pax = encodeUstarHeader({
    name: `PaxHeaders/${base}`.slice(0, 100),
    prefix: '',
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: mtimeFits ? mtimeSecs : 0,
    typeflag: 'x',
    linkname: '',
  });
  return Buffer.concat([pax, body, Buffer.alloc(paddingFor(body.length)), ustar]);
}
