import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, truncateSync, unlinkSync } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { decodeIndex, encodeIndex, findEntry, INDEX_SUFFIX, type DirectoryIndex } from '../../src/client/tar/directory-index.js';
import { fixedSizeBody, PIECE_BYTES, tarDirectory, type PositionalReader } from '../../src/client/tar/directory-tar.js';
import {
  BLOCK_BYTES,
  decodePaxRecords,
  decodeUstarHeader,
  encodePaxRecords,
  formatPaxTime,
  nsToMs,
  parsePaxTime,
  splitUstarPath,
} from '../../src/client/tar/tar-header.js';
import { readTar } from '../../src/client/tar/tar-reader.js';
import { describeTree } from '../helpers/tree.js';
import { testDir } from '../helpers/test-dir.js';

interface Tarred {
  bytes: Buffer;
  pieces: number[];
  index: DirectoryIndex;
  warnings: Array<[string, string]>;
}

async function tarToBuffer(root: string, onPiece?: (received: number) => void): Promise<Tarred> {
  const warnings: Array<[string, string]> = [];
  const tar = tarDirectory(root, { onWarning: (p, m) => warnings.push([p, m]) });
  const parts: Buffer[] = [];
  let received = 0;
  for await (const piece of tar.stream) {
    parts.push(piece);
    received += piece.length;
    onPiece?.(received);
  }
  return { bytes: Buffer.concat(parts), pieces: parts.map((p) => p.length), index: await tar.index, warnings };
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function setTimes(path: string, seconds: number): Promise<void> {
  await utimes(path, seconds, seconds);
}

/** A small tree with fixed content, modes and mtimes; `reverse` creates entries in the opposite order. */
async function buildSmallTree(root: string, reverse = false): Promise<void> {
  const steps: Array<() => Promise<void>> = [
    async () => {
      await mkdir(join(root, 'a'), { recursive: true });
      await writeFile(join(root, 'a', 'x'), 'inside a\n');
    },
    () => writeFile(join(root, 'a.txt'), 'a dot txt\n'),
    () => writeFile(join(root, 'B'), 'capital B\n'),
    () => writeFile(join(root, 'b'), randomBytesFixed(70_000)),
    () => writeFile(join(root, 'Z'), ''),
    () => writeFile(join(root, '_'), 'underscore'),
    () => writeFile(join(root, 'é'), 'e acute'),
    () => symlink('a/x', join(root, 'sym')),
  ];
  for (const step of reverse ? [...steps].reverse() : steps) await step();
  for (const name of ['a/x', 'a.txt', 'B', 'b', 'Z', '_', 'é']) {
    await chmod(join(root, name), 0o640);
    await setTimes(join(root, name), 1_650_000_000.25);
  }
  await lutimes(join(root, 'sym'), 1_650_000_001, 1_650_000_001);
  await chmod(join(root, 'a'), 0o750);
  await setTimes(join(root, 'a'), 1_650_000_002);
}

function randomBytesFixed(n: number): Buffer {
  // Deterministic so two trees built separately have the same content.
  const out = Buffer.alloc(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function run(cmd: string, args: string[], input?: AsyncIterable<Buffer>): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  if (input) Readable.from(input).pipe(child.stdin);
  else child.stdin.end();
  const code = await exited;
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

t.test('entries come depth-first in UTF-8 byte order, directory before contents', async (t) => {
  const root = testDir(t);
  await buildSmallTree(root);
  const { index, warnings } = await tarToBuffer(root);
  t.same(warnings, []);
  t.same(
    index.entries.map((e) => e.path),
    ['B', 'Z', '_', 'a', 'a/x', 'a.txt', 'b', 'sym', 'é'],
  );
  const a = findEntry(index, 'a')!;
  t.match(a, { type: 'directory', mode: 0o750, mtimeMs: 1_650_000_002_000, size: 0, dataOffset: 0 });
  t.match(findEntry(index, './a/x'), { type: 'file', mode: 0o640, mtimeMs: 1_650_000_000_250, size: 9 });
  t.match(findEntry(index, 'sym'), { type: 'symlink', linkTarget: 'a/x', mtimeMs: 1_650_000_001_000, size: 0, dataOffset: 0 });
  t.equal(findEntry(index, '/a/x'), undefined, 'only a leading ./ is normalised');
});

t.test('the same content gives identical bytes, whatever order it was created in', async (t) => {
  const one = join(testDir(t), 'one');
  const two = join(testDir(t), 'two');
  await mkdir(one);
  await mkdir(two);
  await buildSmallTree(one);
  await buildSmallTree(two, true);
  const first = await tarToBuffer(one);
  const again = await tarToBuffer(one);
  const other = await tarToBuffer(two);
  t.equal(sha256(again.bytes), sha256(first.bytes), 'same tree twice');
  t.equal(sha256(other.bytes), sha256(first.bytes), 'same content built in reverse order');
  t.same(encodeIndex(other.index), encodeIndex(first.index), 'indexes identical too');
  t.equal(first.index.tarBytes, first.bytes.length);
  t.equal(first.bytes.length % BLOCK_BYTES, 0);
  t.ok(first.bytes.subarray(-1024).every((b) => b === 0), 'ends with two zero blocks');
});

t.test('dataOffset points at each file’s content in the stream; pieces stay within 1 MiB', async (t) => {
  const root = testDir(t);
  await buildSmallTree(root);
  const big = randomBytes(2 * PIECE_BYTES + 777);
  await writeFile(join(root, 'big'), big);
  await mkdir(join(root, 'many'));
  for (let i = 0; i < 300; i++) await writeFile(join(root, 'many', `f${String(i).padStart(3, '0')}`), `file ${i}\n`.repeat(i));
  // A long non-ASCII name forces a pax header in front of the ustar one; dataOffset must count it.
  await writeFile(join(root, 'ü'.repeat(60)), 'after a pax header');
  const { bytes, pieces, index } = await tarToBuffer(root);
  t.ok(Math.max(...pieces) <= PIECE_BYTES, `largest piece ${Math.max(...pieces)}`);
  t.ok(pieces.length < 20, `small files are batched (${pieces.length} pieces)`);
  let files = 0;
  for (const e of index.entries) {
    if (e.type !== 'file') continue;
    files++;
    const content = await readFile(join(root, e.path));
    t.equal(e.size, content.length, `${e.path} size`);
    t.ok(bytes.subarray(e.dataOffset, e.dataOffset + e.size).equals(content), `${e.path} data at ${e.dataOffset}`);
    t.equal(e.dataOffset % BLOCK_BYTES, 0);
  }
  t.equal(files, 309);
});

t.test('headers: ustar fields, pax only where needed', async (t) => {
  const root = testDir(t);
  await writeFile(join(root, 'plain'), 'x');
  await chmod(join(root, 'plain'), 0o604);
  await setTimes(join(root, 'plain'), 1_700_000_000);
  await writeFile(join(root, 'subsecond'), 'y');
  await setTimes(join(root, 'subsecond'), 1_700_000_000.123);
  const longDir = 'd'.repeat(100); // with its trailing '/', 101 bytes and no '/' to split at
  await mkdir(join(root, longDir));
  const splittable = `${'p'.repeat(90)}/${'q'.repeat(90)}`;
  await mkdir(join(root, 'p'.repeat(90)));
  await writeFile(join(root, splittable), 'z');
  await symlink('t'.repeat(101), join(root, 'longlink'));
  await writeFile(join(root, 'naïve'), 'n');
  for (const p of ['p'.repeat(90), splittable, longDir, 'naïve']) await setTimes(join(root, p), 1_700_000_000);
  await lutimes(join(root, 'longlink'), 1_700_000_000, 1_700_000_000);
  const { bytes, index } = await tarToBuffer(root);

  // Walk the raw blocks: which entries got a pax header, and what the ustar header says.
  const seen: Array<{ path: string; pax?: Map<string, string>; typeflag: string }> = [];
  let pax: Map<string, string> | undefined;
  for (let at = 0; at < bytes.length; ) {
    const h = decodeUstarHeader(bytes.subarray(at, at + BLOCK_BYTES), at);
    if (!h) break;
    t.equal(bytes.toString('latin1', at + 257, at + 265), 'ustar\x0000', 'ustar magic and version');
    t.equal(bytes.toString('latin1', at + 265, at + 329), '\0'.repeat(64), 'uname and gname empty');
    const data = bytes.subarray(at + BLOCK_BYTES, at + BLOCK_BYTES + h.size);
    at += BLOCK_BYTES + Math.ceil(h.size / BLOCK_BYTES) * BLOCK_BYTES;
    if (h.typeflag === 'x') {
      t.match(h.path, /^PaxHeaders\//);
      pax = decodePaxRecords(data, 0);
      continue;
    }
    seen.push({ path: h.path, typeflag: h.typeflag, ...(pax ? { pax } : {}) });
    pax = undefined;
  }
  const byName = new Map(seen.map((s) => [s.path, s]));
  t.same(byName.get('plain'), { path: 'plain', typeflag: '0' }, 'no pax for a plain entry');
  t.same([...byName.get('subsecond')!.pax!], [['mtime', '1700000000.123']]);
  t.same(byName.get(`${splittable}`), { path: splittable, typeflag: '0' }, 'split into prefix and name, no pax');
  const longDirEntry = seen.find((s) => s.pax?.get('path') === `${longDir}/`);
  t.ok(longDirEntry, 'a directory name that cannot be split goes to pax');
  t.equal(longDirEntry?.typeflag, '5');
  t.same([...seen.find((s) => s.pax?.has('linkpath'))!.pax!], [['linkpath', 't'.repeat(101)]]);
  t.ok(seen.find((s) => s.pax?.get('path') === 'naïve'), 'non-ASCII path in pax');
  t.match(findEntry(index, 'plain'), { mode: 0o604, mtimeMs: 1_700_000_000_000 });
  t.match(findEntry(index, 'subsecond'), { mtimeMs: 1_700_000_000_123 });
  t.match(findEntry(index, 'longlink'), { linkTarget: 't'.repeat(101) });
  const st = await lstat(join(root, 'plain'));
  t.match(findEntry(index, 'plain'), { uid: st.uid, gid: st.gid });
});

t.test('GNU tar lists and extracts our stream identically', async (t) => {
  const root = join(testDir(t), 'src');
  const out = join(testDir(t), 'out');
  await mkdir(root);
  await mkdir(out);
  await buildSmallTree(root);
  const deep = `${'c'.repeat(100)}/${'d'.repeat(100)}/${'e'.repeat(80)}.dat`;
  await mkdir(join(root, 'c'.repeat(100), 'd'.repeat(100)), { recursive: true });
  await writeFile(join(root, deep), 'deep');
  await symlink(deep, join(root, 'to-deep'));
  await writeFile(join(root, 'ünïcødé-文件.txt'), 'unicode');
  await setTimes(join(root, 'ünïcødé-文件.txt'), 1_600_000_000.5);
  await writeFile(join(root, 'big'), randomBytes(PIECE_BYTES + 5));
  await mkdir(join(root, 'empty'));

  const listing = await tarToBuffer(root);
  const list = await run('tar', ['--quoting-style=literal', '-tf', '-'], Readable.from([listing.bytes]));
  t.equal(list.code, 0, list.stderr);
  t.equal(list.stderr, '');
  t.same(
    list.stdout.split('\n').filter(Boolean),
    listing.index.entries.map((e) => (e.type === 'directory' ? `${e.path}/` : e.path)),
  );
  const verbose = await run('tar', ['-tvf', '-'], Readable.from([listing.bytes]));
  t.equal(verbose.code, 0, verbose.stderr);
  t.match(verbose.stdout, /to-deep -> c{100}\/d{100}\/e{80}\.dat/);

  const tar = tarDirectory(root);
  const x = await run('tar', ['-xpf', '-', '-C', out], tar.stream);
  t.equal(x.code, 0, x.stderr);
  t.equal(x.stderr, '');
  await tar.index;
  t.same(await describeTree(out), await describeTree(root));
});

t.test('FIFOs and sockets are skipped with a warning; hard links are stored as files', async (t) => {
  // Socket paths are limited to ~108 bytes, too short for tap's fixture directory.
  const root = mkdtempSync(join(tmpdir(), 'cairn-tar-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'file'), 'content');
  await link(join(root, 'file'), join(root, 'hardlink'));
  const fifo = await run('mkfifo', [join(root, 'fifo')]);
  t.equal(fifo.code, 0);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(root, 'sock'), resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { index, warnings, bytes } = await tarToBuffer(root);
  t.same(warnings, [
    ['fifo', 'skipped: FIFO'],
    ['sock', 'skipped: socket'],
  ]);
  t.same(
    index.entries.map((e) => [e.path, e.type, e.size]),
    [
      ['file', 'file', 7],
      ['hardlink', 'file', 7],
    ],
  );
  const hl = findEntry(index, 'hardlink')!;
  t.equal(bytes.toString('utf8', hl.dataOffset, hl.dataOffset + hl.size), 'content');
});

t.test('unreadable files are skipped with a warning, not fatal', { skip: process.getuid?.() === 0 ? 'root reads everything' : false }, async (t) => {
  const root = testDir(t);
  await writeFile(join(root, 'locked'), 'secret');
  await chmod(join(root, 'locked'), 0);
  await mkdir(join(root, 'closed'));
  await writeFile(join(root, 'closed', 'inside'), 'x');
  await chmod(join(root, 'closed'), 0);
  await writeFile(join(root, 'open'), 'fine');
  const { index, warnings } = await tarToBuffer(root);
  // Before tap removes the fixture (its cleanup runs ahead of teardowns registered here).
  await chmod(join(root, 'closed'), 0o700);
  t.same(index.entries.map((e) => e.path), ['open']);
  t.same(warnings.map((w) => w[0]).sort(), ['closed', 'locked']);
  t.match(warnings[0]![1], /^skipped: unreadable \(EACCES\)/);
});

t.test('an entry that vanishes during the walk is skipped with a warning', async (t) => {
  const root = testDir(t);
  await writeFile(join(root, 'a-big'), randomBytes(2 * PIECE_BYTES));
  await writeFile(join(root, 'b-gone'), 'soon deleted');
  await writeFile(join(root, 'c-kept'), 'kept');
  // The stream is pulled: while the consumer holds a-big's first data piece, the walk has not reached b-gone.
  let removed = false;
  const { index, warnings } = await tarToBuffer(root, (received) => {
    if (!removed && received > BLOCK_BYTES) {
      removed = true;
      unlinkSync(join(root, 'b-gone'));
    }
  });
  t.ok(removed);
  t.same(warnings, [['b-gone', 'skipped: vanished during the walk']]);
  t.same(index.entries.map((e) => e.path), ['a-big', 'c-kept']);
});

t.test('a file that shrinks or grows while read keeps the size its header promised', async (t) => {
  for (const change of ['shrink', 'grow'] as const) {
    const root = testDir(t);
    const original = randomBytes(3 * PIECE_BYTES);
    const path = join(root, 'f');
    await writeFile(path, original);
    await setTimes(path, 1_700_000_000); // whole seconds: no pax header, so the arithmetic below holds
    let done = false;
    const { bytes, index, warnings } = await tarToBuffer(root, (received) => {
      // The first data piece is out and the next is not read yet.
      if (!done && received > BLOCK_BYTES) {
        done = true;
        if (change === 'shrink') truncateSync(path, PIECE_BYTES + 1000);
        else appendFileSync(path, randomBytes(PIECE_BYTES));
      }
    });
    t.ok(done);
    t.same(warnings, [['f', 'file changed as it was read']], change);
    const e = findEntry(index, 'f')!;
    t.equal(e.size, original.length, `${change}: header size unchanged`);
    t.equal(index.tarBytes, BLOCK_BYTES + original.length + 1024);
    const data = bytes.subarray(e.dataOffset, e.dataOffset + e.size);
    if (change === 'shrink') {
      t.ok(data.subarray(0, PIECE_BYTES + 1000).equals(original.subarray(0, PIECE_BYTES + 1000)));
      t.ok(data.subarray(PIECE_BYTES + 1000).every((b) => b === 0), 'the missing tail is zeros');
    } else {
      t.ok(data.equals(original), 'the growth is cut off');
    }
    // And the archive still reads cleanly.
    let entries = 0;
    for await (const { body } of readTar(Readable.from([bytes]))) {
      for await (const _ of body) void _;
      entries++;
    }
    t.equal(entries, 1);
  }
});

/** A reader over a buffer that may change between reads, returning at most `maxRead` bytes per call. */
function bufferReader(get: () => Buffer, maxRead = Infinity): PositionalReader {
  return {
    async read(buffer, offset, length, position) {
      const src = get();
      const n = Math.max(0, Math.min(length, maxRead, src.length - position));
      src.copy(buffer, offset, position, position + n);
      return { bytesRead: n };
    },
  };
}

async function collectBody(reader: PositionalReader, size: number, pieceBytes: number): Promise<{ pieces: Buffer[]; changed: number }> {
  let changed = 0;
  const pieces: Buffer[] = [];
  for await (const p of fixedSizeBody(reader, size, () => changed++, pieceBytes)) pieces.push(p);
  return { pieces, changed };
}

t.test('fixedSizeBody: exact size plus padding, zeros for a shrink, cut for a growth', async (t) => {
  const content = randomBytes(5000);
  const exact = await collectBody(bufferReader(() => content, 333), 5000, 2048);
  t.same(exact.pieces.map((p) => p.length), [2048, 2048, 1024], 'pieces at most pieceBytes, last one padded');
  t.ok(Buffer.concat(exact.pieces).subarray(0, 5000).equals(content));
  t.ok(Buffer.concat(exact.pieces).subarray(5000).every((b) => b === 0));
  t.equal(exact.changed, 0, 'short reads are not a change');

  const shrunk = await collectBody(bufferReader(() => content.subarray(0, 3000)), 5000, 2048);
  t.equal(Buffer.concat(shrunk.pieces).length, 5120);
  t.ok(Buffer.concat(shrunk.pieces).subarray(0, 3000).equals(content.subarray(0, 3000)));
  t.ok(Buffer.concat(shrunk.pieces).subarray(3000).every((b) => b === 0));
  t.equal(shrunk.changed, 1);

  const grown = await collectBody(bufferReader(() => content), 4000, 2048);
  t.ok(Buffer.concat(grown.pieces).subarray(0, 4000).equals(content.subarray(0, 4000)));
  t.equal(Buffer.concat(grown.pieces).length, 4096);
  t.equal(grown.changed, 1);

  // Shrinks after the first piece: the second piece is what is left, then zeros.
  let current = content;
  let calls = 0;
  const midway = await collectBody(
    bufferReader(() => (calls++ === 1 ? (current = content.subarray(0, 2100)) : current)),
    5000,
    2048,
  );
  t.ok(Buffer.concat(midway.pieces).subarray(0, 2100).equals(content.subarray(0, 2100)));
  t.ok(Buffer.concat(midway.pieces).subarray(2100).every((b) => b === 0));
  t.equal(midway.changed, 1);

  const empty = await collectBody(bufferReader(() => Buffer.alloc(0)), 0, 2048);
  t.same(empty.pieces, []);
  t.equal(empty.changed, 0);
});

t.test('the index promise: rejects when the walk fails or the stream is abandoned', async (t) => {
  const root = testDir(t);
  await writeFile(join(root, 'not-a-dir'), 'x');
  const bad = tarDirectory(join(root, 'not-a-dir'));
  await t.rejects(async () => {
    for await (const _ of bad.stream) void _;
  }, /is not a directory/);
  await t.rejects(bad.index, /is not a directory/);

  await writeFile(join(root, 'big'), randomBytes(3 * PIECE_BYTES));
  const abandoned = tarDirectory(root);
  for await (const _ of abandoned.stream) break;
  await t.rejects(abandoned.index, /was not read to its end/);

  const missing = tarDirectory(join(root, 'nope'));
  await t.rejects(async () => {
    for await (const _ of missing.stream) void _;
  }, { code: 'ENOENT' });
});

t.test('index: encode/decode round trip and strict validation', async (t) => {
  const root = testDir(t);
  await buildSmallTree(root);
  const { index } = await tarToBuffer(root);
  t.equal(INDEX_SUFFIX, '.cairn-index.json');
  const encoded = encodeIndex(index);
  t.same(decodeIndex(encoded), index);
  t.same(encodeIndex(decodeIndex(new Uint8Array(encoded))), encoded);

  const valid = JSON.parse(encoded.toString('utf8'));
  const bad = (mutate: (o: any) => void) => {
    const o = structuredClone(valid);
    mutate(o);
    return Buffer.from(JSON.stringify(o));
  };
  const fileAt = valid.entries.findIndex((e: { type: string }) => e.type === 'file');
  const cases: Array<[string, Buffer, RegExp]> = [
    ['not JSON', Buffer.from('{nope'), /not valid JSON/],
    ['wrong format', bad((o) => (o.format = 'tar-index')), /format is "tar-index", expected "cairn-directory-index"/],
    ['wrong version', bad((o) => (o.version = 2)), /version 2 is not supported/],
    ['missing entries', bad((o) => delete o.entries), /entries is not an array/],
    ['dotdot path', bad((o) => (o.entries[0].path = '../x')), /entries\[0\]\.path "\.\.\/x" is unsafe \('\.\.' component\)/],
    ['absolute path', bad((o) => (o.entries[0].path = '/etc/passwd')), /is unsafe \(absolute path\)/],
    ['empty component', bad((o) => (o.entries[0].path = 'a//b')), /is unsafe \(empty path component\)/],
    ['negative offset', bad((o) => (o.entries[fileAt].dataOffset = -512)), /dataOffset -512 is not a non-negative integer/],
    ['negative size', bad((o) => (o.entries[fileAt].size = -1)), /size -1 is not a non-negative integer/],
    ['string mode', bad((o) => (o.entries[0].mode = '0644')), /mode "0644" is not a permission-bits integer/],
    ['unknown type', bad((o) => (o.entries[0].type = 'fifo')), /type "fifo" is not file, directory or symlink/],
    ['data past the end', bad((o) => (o.entries[fileAt].dataOffset = o.tarBytes)), /lies beyond tarBytes/],
    ['symlink without target', bad((o) => delete o.entries.find((e: { type: string }) => e.type === 'symlink').linkTarget), /linkTarget is missing/],
  ];
  for (const [name, bytes, message] of cases) t.throws(() => decodeIndex(bytes), message, name);
});

t.test('tar-header helpers', async (t) => {
  // A record whose length crosses a digit boundary must count its own length's digits.
  for (const len of [1, 2, 3, 4, 5, 90, 91, 92, 93, 94, 95, 96, 995, 996, 997, 998]) {
    const records: Array<[string, string]> = [['path', 'v'.repeat(len)]];
    const encoded = encodePaxRecords(records);
    t.same([...decodePaxRecords(encoded, 0)], records, `value length ${len}`);
    t.equal(parseInt(encoded.toString('latin1'), 10), encoded.length);
  }
  t.throws(() => decodePaxRecords(Buffer.from('99 path=x\n'), 1000), /malformed pax record at offset 1000/);
  t.equal(formatPaxTime(1_700_000_000_123), '1700000000.123');
  t.equal(formatPaxTime(1_700_000_000_000), '1700000000');
  t.equal(formatPaxTime(-1500), '-1.500');
  t.equal(parsePaxTime('1700000000.122999906', 0), 1_700_000_000_123);
  t.equal(parsePaxTime('-1.500', 0), -1500);
  t.equal(parsePaxTime('42', 0), 42_000);
  t.equal(nsToMs(1_700_000_000_122_999_000n), 1_700_000_000_123);
  t.same(splitUstarPath('x'.repeat(100)), { prefix: '', name: 'x'.repeat(100) });
  t.same(splitUstarPath(`${'a'.repeat(155)}/${'b'.repeat(100)}`), { prefix: 'a'.repeat(155), name: 'b'.repeat(100) });
  t.equal(splitUstarPath(`${'a'.repeat(156)}/b`), undefined);
  t.equal(splitUstarPath(`${'a'.repeat(101)}/`), undefined);
});
