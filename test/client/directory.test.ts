import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { directoryIndex, pullDirectory, pullPath, pushDirectory } from '../../src/client/directory.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';
import { moverConnection } from '../helpers/ingest.js';
import { bodyOf, startS3Server } from '../helpers/s3.js';
import { describeTree } from '../helpers/tree.js';
import { testDir } from '../helpers/test-dir.js';

/** A small tree with what backups meet: nested dirs, odd modes, exact mtimes, symlinks, empty things. */
function makeSourceTree(root: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {
    'etc/app.conf': textBytes('conf', 5_000),
    'data/volume.img': pseudoRandomBytes('volume', 3_000_000),
    'data/logs/today.log': textBytes('log', 700_000),
    'data/empty.bin': Buffer.alloc(0),
    'scripts/run.sh': Buffer.from('#!/bin/sh\necho backup\n'),
    'naïve name with spaces.txt': Buffer.from('utf-8 names survive\n'),
  };
  for (const [path, data] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), data);
  }
  mkdirSync(join(root, 'empty-dir'));
  chmodSync(join(root, 'scripts/run.sh'), 0o750);
  chmodSync(join(root, 'etc/app.conf'), 0o600);
  chmodSync(join(root, 'empty-dir'), 0o700);
  symlinkSync('../etc/app.conf', join(root, 'data/conf-link'));
  symlinkSync('/nonexistent/target', join(root, 'dangling'));
  // Millisecond mtimes, set last (files first, then directories, as writing a file touches its directory).
  for (const [i, path] of Object.keys(files).entries()) utimesSync(join(root, path), 1_700_000_000.123 + i, 1_700_000_000.123 + i);
  for (const [i, dir] of ['etc', 'data/logs', 'data', 'scripts', 'empty-dir'].entries()) utimesSync(join(root, dir), 1_600_000_000.5 + i, 1_600_000_000.5 + i);
  return files;
}

t.test('a directory pushed and pulled comes back with contents, modes, mtimes and symlinks', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('home');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const dir = testDir(t);
  const source = join(dir, 'source');
  mkdirSync(source);
  const files = makeSourceTree(source);

  const r = await pushDirectory(conn, source, { unit: 'home', key: 'nightly/home.tar' });
  t.equal(r.files, Object.keys(files).length, 'every regular file counted');
  t.equal(r.indexKey, 'nightly/home.tar.cairn-index.json');
  const index = await directoryIndex(conn, 'home', 'nightly/home.tar');
  t.ok(index, 'the index sits beside the tar');

  const restored = join(dir, 'restored');
  const x = await pullDirectory(conn, 'home', 'nightly/home.tar', restored);
  t.equal(x.files, Object.keys(files).length);
  t.same(await describeTree(restored), await describeTree(source), 'contents, types, modes, mtimes (ms) and link targets match');
  for (const [path, data] of Object.entries(files)) t.ok(readFileSync(join(restored, path)).equals(data), `${path} byte-identical`);

  // Any S3 client plus tar restores it: GET the object and hand it to the system tar.
  const got = await s.client().send(new GetObjectCommand({ Bucket: 'home', Key: 'nightly/home.tar' }));
  t.equal(got.ContentType, 'application/x-tar');
  const tarFile = join(dir, 'home.tar');
  writeFileSync(tarFile, await bodyOf(got.Body));
  const byTar = join(dir, 'by-tar');
  mkdirSync(byTar);
  execFileSync('tar', ['-xf', tarFile, '-C', byTar], { stdio: 'pipe' });
  for (const [path, data] of Object.entries(files)) t.ok(readFileSync(join(byTar, path)).equals(data), `system tar: ${path}`);
  t.equal(readlinkSync(join(byTar, 'data/conf-link')), '../etc/app.conf');
  t.equal(lstatSync(join(byTar, 'scripts/run.sh')).mode & 0o777, 0o750);
  t.equal(Math.floor(lstatSync(join(byTar, 'data/volume.img')).mtimeMs / 1000), 1_700_000_001, 'system tar sees the mtimes');

  // Pushing the same tree again is deterministic: same bytes, same ETag, (almost) nothing sent.
  const again = await pushDirectory(conn, source, { unit: 'home', key: 'nightly/home-2.tar' });
  t.equal(again.etag, r.etag, 'an unchanged tree gives the identical archive');
  t.equal(again.newChunks, 0, 'and no chunk travels');
});

t.test('one file, one symlink or one subdirectory restores by ranged reads only', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('home');
  const dir = testDir(t);
  const source = join(dir, 'source');
  mkdirSync(source);
  const files = makeSourceTree(source);
  const pusher = moverConnection(s.url, s.admin);
  t.teardown(() => pusher.close());
  const pushed = await pushDirectory(pusher, source, { unit: 'home', key: 'home.tar' });

  // A fresh connection, so its byte counters show exactly what the restore fetched.
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const one = join(dir, 'one.log');
  const r = await pullPath(conn, 'home', 'home.tar', 'data/logs/today.log', one);
  t.same(r, { files: 1, directories: 0, symlinks: 0, bytes: 700_000 });
  t.ok(readFileSync(one).equals(files['data/logs/today.log']!));
  t.equal(Math.floor(lstatSync(one).mtimeMs), Math.floor(lstatSync(join(source, 'data/logs/today.log')).mtimeMs));
  // The index of a 13-entry tree is a few kB; HTTP headers a few hundred bytes per request.
  t.ok(conn.wire.received < 700_000 + 50_000, `fetched ${conn.wire.received} bytes of a ${pushed.size}-byte archive: the file and the index only`);

  // Into an existing directory, the file keeps its name.
  const into = join(dir, 'into');
  mkdirSync(into);
  await pullPath(conn, 'home', 'home.tar', 'scripts/run.sh', into);
  t.equal(readFileSync(join(into, 'run.sh'), 'utf8'), '#!/bin/sh\necho backup\n');
  t.equal(lstatSync(join(into, 'run.sh')).mode & 0o777, 0o750);

  const link = join(dir, 'link');
  t.same(await pullPath(conn, 'home', 'home.tar', 'data/conf-link', link), { files: 0, directories: 0, symlinks: 1, bytes: 0 });
  t.equal(readlinkSync(link), '../etc/app.conf');

  // A subdirectory: everything under it, nothing else.
  const sub = join(dir, 'data-only');
  const d = await pullPath(conn, 'home', 'home.tar', 'data', sub);
  t.same(d, { files: 3, directories: 1, symlinks: 1, bytes: 3_700_000 }, 'directories counts those under it');
  t.ok(readFileSync(join(sub, 'volume.img')).equals(files['data/volume.img']!));
  t.equal(readFileSync(join(sub, 'empty.bin')).length, 0);
  t.equal(Math.floor(lstatSync(join(sub, 'logs')).mtimeMs), Math.floor(lstatSync(join(source, 'data/logs')).mtimeMs), 'directory mtimes set after their contents');
  t.throws(() => lstatSync(join(sub, 'app.conf')), 'nothing from outside the subdirectory');

  await t.rejects(pullPath(conn, 'home', 'home.tar', 'no/such/file', join(dir, 'x')), /not in the backup/);
  await t.rejects(pullPath(conn, 'home', 'home.tar.cairn-index.json', 'etc', join(dir, 'x')), /not a pushed directory/);
});
