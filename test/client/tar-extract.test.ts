import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, readFile, readdir, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { findEntry } from '../../src/client/tar/directory-index.js';
import { tarDirectory } from '../../src/client/tar/directory-tar.js';
import { extractTar } from '../../src/client/tar/extract.js';
import {
  BLOCK_BYTES,
  encodeEntryHeader,
  encodePaxRecords,
  encodeUstarHeader,
  paddingFor,
  type EntryHeaderFields,
} from '../../src/client/tar/tar-header.js';
import { readTar, type TarHeaderInfo } from '../../src/client/tar/tar-reader.js';
import { describeTree } from '../helpers/tree.js';
import { testDir } from '../helpers/test-dir.js';

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function* piecesOf(bytes: Buffer, maxPiece = bytes.length || 1, seed = 1): AsyncGenerator<Buffer> {
  let x = seed;
  for (let at = 0; at < bytes.length; ) {
    x = (x * 1103515245 + 12345) >>> 0;
    const n = 1 + (x % maxPiece);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function tarBytes(root: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of tarDirectory(root).stream) parts.push(p);
  return Buffer.concat(parts);
}

async function setTimes(path: string, seconds: number): Promise<void> {
  await utimes(path, seconds, seconds);
}

const LONG_131 = `${'a'.repeat(70)}/${'b'.repeat(56)}.txt`;
const LONG_285 = `${'c'.repeat(100)}/${'d'.repeat(100)}/${'e'.repeat(80)}.dat`;

/** The round-trip tree: every kind of entry and every header field that needs care. */
async function buildTree(root: string, big: Buffer): Promise<void> {
  await mkdir(join(root, 'docs', 'nested', 'deeper'), { recursive: true });
  await mkdir(join(root, 'empty-dir'));
  await mkdir(join(root, 'private'));
  await mkdir(join(root, 'a'.repeat(70)));
  await mkdir(join(root, 'c'.repeat(100), 'd'.repeat(100)), { recursive: true });
  const files: Array<[string, string | Buffer, number, number]> = [
    ['docs/readme.txt', 'hello\n', 0o644, 1_700_000_000],
    ['docs/nested/deeper/secret.key', 'key material', 0o600, 1_700_000_000.123],
    ['private/script.sh', '#!/bin/sh\necho hi\n', 0o755, 1_600_000_000.5],
    ['empty-file', '', 0o640, 1_650_000_000.999],
    ['big.bin', big, 0o644, 1_690_000_000.001],
    ['ünïcødé-文件.txt', 'unicode name', 0o644, 1_700_000_001],
    [LONG_131, 'path over 100 bytes', 0o644, 1_700_000_002],
    [LONG_285, 'path over 255 bytes', 0o640, 1_700_000_003.7],
  ];
  for (const [path, content, mode, mtime] of files) {
    await writeFile(join(root, path), content);
    await chmod(join(root, path), mode);
    await setTimes(join(root, path), mtime);
  }
  const links: Array<[string, string]> = [
    ['link-to-readme', 'docs/readme.txt'],
    ['dangling', 'does/not/exist'],
    ['docs/up-link', '../big.bin'],
    ['long-target', LONG_285],
  ];
  for (const [path, target] of links) {
    await symlink(target, join(root, path));
    await lutimes(join(root, path), 1_700_000_010.25, 1_700_000_010.25);
  }
  const dirs: Array<[string, number, number]> = [
    ['docs/nested/deeper', 0o755, 1_700_000_020],
    ['docs/nested', 0o750, 1_700_000_021.5],
    ['docs', 0o755, 1_700_000_022],
    ['empty-dir', 0o755, 1_700_000_023.25],
    ['private', 0o700, 1_700_000_024],
    [`${'c'.repeat(100)}/${'d'.repeat(100)}`, 0o755, 1_700_000_025],
    ['c'.repeat(100), 0o711, 1_700_000_026],
    ['a'.repeat(70), 0o755, 1_700_000_027],
  ];
  for (const [path, mode, mtime] of dirs) {
    await chmod(join(root, path), mode);
    await setTimes(join(root, path), mtime);
  }
}

async function run(cmd: string, args: string[], input?: AsyncIterable<Buffer>) {
  const child = spawn(cmd, args, { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  const err: Buffer[] = [];
  child.stderr.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? -1));
  });
  if (input) Readable.from(input).pipe(child.stdin);
  else child.stdin.end();
  return { child, done: exited.then((code) => ({ code, stderr: Buffer.concat(err).toString('utf8') })) };
}

t.test('round trip: tarDirectory then extractTar restores content, types, modes, mtimes and links', async (t) => {
  const dir = testDir(t);
  const src = join(dir, 'src');
  const dest = join(dir, 'restored', 'here'); // created by extractTar
  await mkdir(src);
  const big = randomBytes(1024 * 1024 + 4321);
  await buildTree(src, big);
  const expected = await describeTree(src);
  t.equal(Object.keys(expected).length, 20, 'the tree has every entry it should');

  const tar = tarDirectory(src);
  const warnings: string[] = [];
  const result = await extractTar(tar.stream, dest, { onWarning: (p, m) => warnings.push(`${p}: ${m}`) });
  const index = await tar.index;
  t.same(warnings, []);
  t.same(result, { files: 8, directories: 8, symlinks: 4, bytes: big.length + 6 + 12 + 18 + 12 + 19 + 19 });
  t.same(await describeTree(dest), expected);
  t.ok((await readFile(join(dest, 'big.bin'))).equals(big));
  t.equal(await readlink(join(dest, 'long-target')), LONG_285);
  t.match(findEntry(index, 'docs/nested/deeper/secret.key'), { mode: 0o600, mtimeMs: 1_700_000_000_123 });

  // Restoring again over the first restore overwrites in place without complaint.
  await writeFile(join(dest, 'docs', 'readme.txt'), 'locally modified, longer than the original');
  await t.resolves(extractTar(Readable.from([await tarBytes(src)]), dest));
  t.same(await describeTree(dest), expected);
});

t.test('readTar copes with any chunking of the stream, and with bodies skipped or half read', async (t) => {
  const src = testDir(t);
  await buildTree(src, randomBytes(300_000));
  const bytes = await tarBytes(src);
  const reference: Array<[TarHeaderInfo, string]> = [];
  for await (const { header, body } of readTar(piecesOf(bytes))) {
    const parts: Buffer[] = [];
    for await (const p of body) parts.push(p);
    reference.push([header, sha256(Buffer.concat(parts))]);
  }
  t.equal(reference.length, 20);
  t.match(reference.find(([h]) => h.path === LONG_285)?.[0], { type: 'file', mode: 0o640, mtimeMs: 1_700_000_003_700 });
  t.match(reference.find(([h]) => h.path === 'long-target')?.[0], { type: 'symlink', linkTarget: LONG_285, size: 0 });

  for (const maxPiece of [1, 7, 511, 513, 4096]) {
    const got: Array<[TarHeaderInfo, string]> = [];
    for await (const { header, body } of readTar(piecesOf(bytes, maxPiece, maxPiece))) {
      const parts: Buffer[] = [];
      for await (const p of body) parts.push(p);
      got.push([header, sha256(Buffer.concat(parts))]);
    }
    t.same(got, reference, `pieces of up to ${maxPiece} bytes`);
  }

  // Headers only: every body left unread must be skipped correctly.
  const headers: TarHeaderInfo[] = [];
  for await (const { header } of readTar(piecesOf(bytes, 1000))) headers.push(header);
  t.same(headers, reference.map(([h]) => h));

  // Half-read bodies, and a stale body read after moving on.
  let stale: AsyncIterable<Buffer> | undefined;
  const halfHeaders: TarHeaderInfo[] = [];
  for await (const { header, body } of readTar(piecesOf(bytes, 3000))) {
    halfHeaders.push(header);
    for await (const _ of body) break;
    stale ??= header.type === 'file' && header.size > 0 ? body : undefined;
  }
  t.same(halfHeaders, headers);
  await t.rejects(async () => {
    for await (const _ of stale!) void _;
  }, /was read after moving to the next tar entry/);
});

t.test('GNU tar archives (pax, and gnu with long names) read and extract', async (t) => {
  const dir = testDir(t);
  const src = join(dir, 'src');
  await mkdir(src);
  await buildTree(src, randomBytes(1024 * 1024 + 99));
  const expected = await describeTree(src);

  // pax format, archived as '.', so entries are './x' and the root itself is './'.
  const pax = await run('tar', ['--format=pax', '-cf', '-', '-C', src, '.']);
  const paxDest = join(dir, 'from-pax');
  const paxResult = await extractTar(pax.child.stdout, paxDest);
  t.same(await pax.done, { code: 0, stderr: '' });
  t.same(await describeTree(paxDest), expected, 'pax: every field including sub-second mtimes');
  t.equal(paxResult.files, 8);

  // gnu format: long names and link targets come as 'L' and 'K' entries; mtimes are whole seconds.
  const gnuSrc = join(dir, 'gnu-src');
  await mkdir(join(gnuSrc, 'c'.repeat(100), 'd'.repeat(100)), { recursive: true });
  await writeFile(join(gnuSrc, LONG_285), 'long name in gnu format');
  await symlink(LONG_285, join(gnuSrc, 'long-target'));
  await writeFile(join(gnuSrc, 'plain'), 'plain');
  for (const p of ['plain', LONG_285, `${'c'.repeat(100)}/${'d'.repeat(100)}`, 'c'.repeat(100)]) await setTimes(join(gnuSrc, p), 1_700_000_000);
  await lutimes(join(gnuSrc, 'long-target'), 1_700_000_005, 1_700_000_005);
  const gnuExpected = await describeTree(gnuSrc);
  const gnu = await run('tar', ['--format=gnu', '-cf', '-', '-C', gnuSrc, 'c'.repeat(100), 'long-target', 'plain']);
  const gnuChunks: Buffer[] = [];
  for await (const c of gnu.child.stdout) gnuChunks.push(c as Buffer);
  t.same(await gnu.done, { code: 0, stderr: '' });
  const gnuBytes = Buffer.concat(gnuChunks);
  t.ok(gnuBytes.includes('././@LongLink'), 'the archive really uses GNU long-name entries');
  const headers: TarHeaderInfo[] = [];
  for await (const { header } of readTar(piecesOf(gnuBytes, 777))) headers.push(header);
  t.match(headers.find((h) => h.type === 'file' && h.path === LONG_285), { size: 23, mtimeMs: 1_700_000_000_000 });
  t.match(headers.find((h) => h.path === 'long-target'), { type: 'symlink', linkTarget: LONG_285 });
  const gnuDest = join(dir, 'from-gnu');
  await extractTar(Readable.from([gnuBytes]), gnuDest);
  t.same(await describeTree(gnuDest), gnuExpected, 'gnu: long names, long link target');
});

// ---- hostile archives, crafted byte by byte ----

interface Crafted {
  fields: Partial<EntryHeaderFields> & { path: string };
  data?: string;
}

function craft(entries: Crafted[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const { fields, data = '' } of entries) {
    const body = Buffer.from(data);
    const f: EntryHeaderFields = { type: 'file', mode: 0o644, mtimeMs: 1_700_000_000_000, size: body.length, uid: 0, gid: 0, ...fields };
    parts.push(encodeEntryHeader(f), body, Buffer.alloc(paddingFor(body.length)));
  }
  if (end) parts.push(Buffer.alloc(2 * BLOCK_BYTES));
  return Buffer.concat(parts);
}

async function listAll(root: string): Promise<string[]> {
  return Object.keys(await describeTree(root));
}

t.test('hostile archives are refused and write nothing outside dest', async (t) => {
  const dir = testDir(t);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'precious'), 'do not touch');
  const cases: Array<[string, Crafted[], RegExp]> = [
    ['dot-dot', [{ fields: { path: 'ok' }, data: 'fine' }, { fields: { path: '../evil' }, data: 'evil' }], /refusing tar entry "\.\.\/evil": '\.\.' component/],
    ['dot-dot in the middle', [{ fields: { path: 'a/../../evil' }, data: 'evil' }], /refusing tar entry "a\/\.\.\/\.\.\/evil": '\.\.' component/],
    ['absolute', [{ fields: { path: join(outside, 'abs-evil') }, data: 'evil' }], /refusing tar entry ".*abs-evil": absolute path/],
    ['empty path', [{ fields: { path: '' }, data: 'x' }], /refusing tar entry "": empty path/],
    [
      'write through a symlink',
      [
        { fields: { path: 'link', type: 'symlink', linkTarget: outside } },
        { fields: { path: 'link/payload' }, data: 'evil' },
      ],
      /refusing tar entry "link\/payload": its parent "link" is a symlink/,
    ],
    [
      'through a symlink deeper down',
      [
        { fields: { path: 'd', type: 'directory' } },
        { fields: { path: 'd/link', type: 'symlink', linkTarget: '../../outside' } },
        { fields: { path: 'd/link/sub/payload' }, data: 'evil' },
      ],
      /refusing tar entry "d\/link\/sub\/payload": its parent "d\/link" is a symlink/,
    ],
    [
      'directory named like a symlink',
      [
        { fields: { path: 'link', type: 'symlink', linkTarget: outside } },
        { fields: { path: 'link/newdir', type: 'directory' } },
      ],
      /refusing tar entry "link\/newdir": its parent "link" is a symlink/,
    ],
  ];
  for (const [name, entries, message] of cases) {
    const dest = join(dir, `dest-${name.replace(/\W+/g, '-')}`);
    await t.rejects(extractTar(Readable.from([craft(entries)]), dest), message, name);
    t.same(await readdir(outside), ['precious'], `${name}: nothing outside dest`);
    t.notOk(existsSync(join(dir, 'evil')), `${name}: no ../evil`);
  }
  t.equal(await readFile(join(outside, 'precious'), 'utf8'), 'do not touch');
});

t.test('an existing symlink at the final component is replaced, never followed', async (t) => {
  const dir = testDir(t);
  const outside = join(dir, 'outside');
  const dest = join(dir, 'dest');
  await mkdir(outside);
  await mkdir(dest);
  await writeFile(join(outside, 'precious'), 'do not touch');
  await symlink(join(outside, 'precious'), join(dest, 'f'));
  await symlink(outside, join(dest, 'd'));
  await symlink(join(outside, 'precious'), join(dest, 's'));
  const archive = craft([
    { fields: { path: 'f', mode: 0o600 }, data: 'restored file' },
    { fields: { path: 'd', type: 'directory', mode: 0o700 } },
    { fields: { path: 'd/inner' }, data: 'inside the real directory' },
    { fields: { path: 's', type: 'symlink', linkTarget: 'f' } },
  ]);
  const result = await extractTar(Readable.from([archive]), dest);
  t.same(result, { files: 2, directories: 1, symlinks: 1, bytes: 13 + 25 });
  t.equal(await readFile(join(outside, 'precious'), 'utf8'), 'do not touch');
  t.same(await readdir(outside), ['precious']);
  t.ok((await lstat(join(dest, 'f'))).isFile());
  t.equal(await readFile(join(dest, 'f'), 'utf8'), 'restored file');
  t.ok((await lstat(join(dest, 'd'))).isDirectory());
  t.equal(await readlink(join(dest, 's')), 'f');
  t.same(await listAll(dest), ['d', 'd/inner', 'f', 's']);
});

t.test('truncated archives and corrupted headers fail with clear errors', async (t) => {
  const src = testDir(t);
  await writeFile(join(src, 'first'), 'small');
  await writeFile(join(src, 'second'), randomBytes(100_000));
  await setTimes(join(src, 'first'), 1_700_000_000);
  await setTimes(join(src, 'second'), 1_700_000_000);
  const bytes = await tarBytes(src);
  const dataStart = 3 * BLOCK_BYTES; // header, 'first' data block, header

  const cut = bytes.subarray(0, dataStart + 50_000);
  await t.rejects(extractTar(Readable.from([cut]), join(src, 'out-cut')), /tar stream truncated at offset 51536 \(in the data of "second"\)/);
  await t.rejects(extractTar(Readable.from([bytes.subarray(0, dataStart - 100)]), join(src, 'out-cut2')), /truncated at offset 1436 \(in the header at offset 1024\)/);
  const noEnd = bytes.subarray(0, bytes.length - 2 * BLOCK_BYTES);
  await t.rejects(extractTar(Readable.from([noEnd]), join(src, 'out-cut3')), /truncated at offset 101888: it ends without the end-of-archive blocks/);
  await t.rejects(extractTar(Readable.from([Buffer.alloc(0)]), join(src, 'out-cut4')), /truncated at offset 0/);

  const corrupt = Buffer.from(bytes);
  corrupt[2 * BLOCK_BYTES + 3] ^= 0x01; // a name byte of the second header
  await t.rejects(extractTar(Readable.from([corrupt]), join(src, 'out-corrupt')), /^tar header checksum mismatch at offset 1024$/);
  const corruptSum = Buffer.from(bytes);
  corruptSum.write('000001', 148, 'latin1'); // the first header's checksum field itself
  await t.rejects(extractTar(Readable.from([corruptSum]), join(src, 'out-corrupt2')), { message: 'tar header checksum mismatch at offset 0' });
});

t.test('entries of other types are skipped with a warning; the root entry is ignored', async (t) => {
  const dest = testDir(t);
  const hardlink = encodeUstarHeader({ name: 'hard', prefix: '', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '1', linkname: 'file' });
  const fifo = encodeUstarHeader({ name: 'fifo', prefix: '', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '6', linkname: '' });
  const globalRecords = encodePaxRecords([['comment', 'a global pax header must not disturb anything']]);
  const globalHeader = encodeUstarHeader({ name: 'pax_global_header', prefix: '', mode: 0o644, uid: 0, gid: 0, size: globalRecords.length, mtime: 0, typeflag: 'g', linkname: '' });
  const archive = Buffer.concat([
    globalHeader,
    globalRecords,
    Buffer.alloc(paddingFor(globalRecords.length)),
    craft([{ fields: { path: '.', type: 'directory' } }, { fields: { path: 'file' }, data: 'data' }], false),
    hardlink,
    fifo,
    craft([{ fields: { path: './after' }, data: 'still restored' }]),
  ]);
  const warnings: Array<[string, string]> = [];
  const result = await extractTar(Readable.from([archive]), dest, { onWarning: (p, m) => warnings.push([p, m]) });
  t.same(warnings.map(([p]) => p), ['hard', 'fifo']);
  t.match(warnings[0]![1], /^skipped: unsupported entry type/);
  t.same(result, { files: 2, directories: 0, symlinks: 0, bytes: 4 + 14 });
  t.same(await listAll(dest), ['after', 'file']);
  const headers: TarHeaderInfo[] = [];
  for await (const { header } of readTar(Readable.from([archive]))) headers.push(header);
  t.match(headers[2], { path: 'hard', type: 'other', linkTarget: 'file' });
});

t.test('directory modes and mtimes are set after their contents, deepest first', async (t) => {
  const dest = testDir(t);
  const archive = craft([
    { fields: { path: 'ro', type: 'directory', mode: 0o500, mtimeMs: 1_600_000_000_000 } },
    { fields: { path: 'ro/sub', type: 'directory', mode: 0o555, mtimeMs: 1_600_000_001_000 } },
    { fields: { path: 'ro/sub/file', mode: 0o400, mtimeMs: 1_600_000_002_500 }, data: 'read only' },
    { fields: { path: 'ro/link', type: 'symlink', linkTarget: 'sub/file', mtimeMs: 1_600_000_003_000 } },
    // Without search permission on 'nox', its subdirectory can only be fixed up before it (matters when not root).
    { fields: { path: 'nox', type: 'directory', mode: 0o600, mtimeMs: 1_600_000_004_000 } },
    { fields: { path: 'nox/inner', type: 'directory', mode: 0o750, mtimeMs: 1_600_000_005_000 } },
    { fields: { path: 'nox/inner/f', mode: 0o644, mtimeMs: 1_600_000_006_000 }, data: 'f' },
  ]);
  await extractTar(Readable.from([archive]), dest);
  const top = await describeTree(dest, '', false);
  t.match(top['ro'], { type: 'directory', mode: 0o500, mtimeMs: 1_600_000_000_000 });
  t.match(top['nox'], { type: 'directory', mode: 0o600, mtimeMs: 1_600_000_004_000 });
  const tree = await describeTree(join(dest, 'ro'));
  t.match(tree['sub'], { type: 'directory', mode: 0o555, mtimeMs: 1_600_000_001_000 });
  t.match(tree['sub/file'], { type: 'file', mode: 0o400, mtimeMs: 1_600_000_002_500 });
  t.match(tree['link'], { type: 'symlink', mtimeMs: 1_600_000_003_000, target: 'sub/file' });
  // So the fixture can be removed when not running as root.
  await chmod(join(dest, 'ro'), 0o755);
  await chmod(join(dest, 'ro', 'sub'), 0o755);
  await chmod(join(dest, 'nox'), 0o755);
  t.match(await describeTree(join(dest, 'nox')), { inner: { mode: 0o750, mtimeMs: 1_600_000_005_000 }, 'inner/f': { mode: 0o644 } });
});
