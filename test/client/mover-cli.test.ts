import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI } from '../helpers/cli.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The CLI in a child process, with stdin and binary stdout (helpers/cli.ts has the plain text form). */
function cairn(args: string[], env: Record<string, string>, stdin?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined); // a CLI that exits early closes its stdin
    child.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

interface PushSummary {
  pushes: { source: string; unit: string; key: string; etag: string; logicalBytes: number; bytesSent: number; chunks: number; newChunks: number; seconds: number; files?: number }[];
  logicalBytes: number;
  bytesSent: number;
  seconds: number;
}

t.test('cairn push and pull: files, stdin, several sources, directories, --json for scripts', async (t) => {
  const s = await startTestServer(t);
  await s.server.units.create('velero');
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  const dir = testDir(t);
  const disk = Buffer.concat([pseudoRandomBytes('disk', 4_000_000), textBytes('disk-text', 2_000_000)]);
  writeFileSync(join(dir, 'disk.img'), disk);

  const first = await cairn(['push', join(dir, 'disk.img'), 'velero/pvc/disk.img', '--json'], env);
  t.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.stdout.toString()) as PushSummary;
  t.match(summary, { logicalBytes: disk.length, pushes: [{ unit: 'velero', key: 'pvc/disk.img', logicalBytes: disk.length }] });
  t.equal(summary.pushes[0]!.newChunks, summary.pushes[0]!.chunks, 'everything was new');
  t.ok(summary.bytesSent < disk.length, 'text compresses on the way');
  t.type(summary.seconds, 'number');

  // The same bytes from stdin, to another key: the unit has them all.
  const piped = await cairn(['push', '-', 'velero/pvc/disk-again.img', '--json'], env, disk);
  t.equal(piped.code, 0, piped.stderr);
  const again = JSON.parse(piped.stdout.toString()) as PushSummary;
  t.equal(again.pushes[0]!.newChunks, 0);
  t.ok(again.bytesSent < disk.length * 0.02, `a duplicate push sent ${again.bytesSent} bytes for ${disk.length}`);
  t.equal(again.pushes[0]!.etag, summary.pushes[0]!.etag, 'same content, same ETag');

  const human = await cairn(['push', join(dir, 'disk.img'), 'velero/pvc/third.img'], env);
  t.equal(human.code, 0);
  t.match(human.stdout.toString(), /^pushed .*disk\.img to velero\/pvc\/third\.img: .* 0 of \d+ chunks were new; sent .*% of the data/);
  t.equal(human.stderr, '', 'no progress bar when stderr is not a terminal');

  // Several sources under a prefix: each keeps its name; a directory becomes <name>.tar.
  writeFileSync(join(dir, 'a.bin'), pseudoRandomBytes('a', 300_000));
  mkdirSync(join(dir, 'tree/sub'), { recursive: true });
  writeFileSync(join(dir, 'tree/sub/file.txt'), 'restore me alone\n');
  writeFileSync(join(dir, 'tree/other.bin'), pseudoRandomBytes('other', 2_000_000));
  const many = await cairn(['push', join(dir, 'a.bin'), join(dir, 'tree'), 'velero/batch/', '--json', '--parallel', '2'], env);
  t.equal(many.code, 0, many.stderr);
  const batch = JSON.parse(many.stdout.toString()) as PushSummary;
  t.same(batch.pushes.map((p) => p.key), ['batch/a.bin', 'batch/tree.tar']);
  t.equal(batch.pushes[1]!.files, 2);

  // Pull: to a file, to stdout, a directory, one path of a directory.
  const toFile = await cairn(['pull', 'velero/pvc/disk-again.img', join(dir, 'out/disk.img')], env);
  t.equal(toFile.code, 0, toFile.stderr);
  t.ok(readFileSync(join(dir, 'out/disk.img')).equals(disk), 'pulled to a file byte-identical');
  const toStdout = await cairn(['pull', 'velero/pvc/disk.img', '-'], env);
  t.equal(toStdout.code, 0);
  t.ok(toStdout.stdout.equals(disk), 'pulled to stdout byte-identical, nothing else on stdout');
  const tree = await cairn(['pull', 'velero/batch/tree.tar', join(dir, 'tree-back'), '--json'], env);
  t.equal(tree.code, 0, tree.stderr);
  t.match(JSON.parse(tree.stdout.toString()), { files: 2 });
  t.ok(readFileSync(join(dir, 'tree-back/other.bin')).equals(readFileSync(join(dir, 'tree/other.bin'))));
  const one = await cairn(['pull', 'velero/batch/tree.tar', join(dir, 'one.txt'), '--path', 'sub/file.txt', '--json'], env);
  t.equal(one.code, 0, one.stderr);
  t.match(JSON.parse(one.stdout.toString()), { files: 1, bytes: 17 });
  t.equal(readFileSync(join(dir, 'one.txt'), 'utf8'), 'restore me alone\n');
});

t.test('cairn push and pull: exit codes and one clear line on failure', async (t) => {
  const s = await startTestServer(t);
  await s.server.units.create('velero');
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  const ro = s.server.credentials.issue('unit', [{ unit: 'velero', access: 'read-only' }]);
  const roEnv = { ...env, CAIRN_ACCESS_KEY_ID: ro.accessKeyId, CAIRN_SECRET_ACCESS_KEY: ro.secretAccessKey };
  const dir = testDir(t);
  writeFileSync(join(dir, 'f'), 'data');
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['missing source', ['push', join(dir, 'nope'), 'velero/x'], env, 2, /cannot read .*ENOENT/],
    ['target without a key', ['push', join(dir, 'f'), 'velero'], env, 2, /not <unit>\/<key>/],
    ['stdin twice', ['push', '-', '-', 'velero/x/'], env, 2, /stdin/],
    ['bad --parallel', ['push', join(dir, 'f'), 'velero/x', '--parallel', '0'], env, 2, /--parallel/],
    ['missing unit', ['push', join(dir, 'f'), 'ghost/x'], env, 1, /404/],
    ['read-only key', ['push', join(dir, 'f'), 'velero/x'], roEnv, 1, /403/],
    ['missing key', ['pull', 'velero/nothing-here', join(dir, 'out')], env, 1, /404/],
    ['--path to stdout', ['pull', 'velero/x', '-', '--path', 'a'], env, 2, /--path/],
    ['unreachable', ['push', join(dir, 'f'), 'velero/x'], { ...env, CAIRN_ENDPOINT: 'http://127.0.0.1:1' }, 3, /cannot reach|ECONNREFUSED/],
  ];
  for (const [name, args, e, code, message] of cases) {
    const r = await cairn(args, e);
    t.equal(r.code, code, `${name}: exit ${code}`);
    t.match(r.stderr, message, `${name}: says why`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: in one line`);
  }
  t.throws(() => readFileSync(join(dir, 'out')), 'a failed pull leaves no file');
  t.equal(s.server.units.unit('velero').store.stats().objects, 0, 'nothing was stored');
});
