import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { binary, makeTree, run } from '../helpers/clients.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

t.test('rclone (provider Other): sync, check, copyto, lsf, server-side copy, multipart', async (t) => {
  const rclone = binary('rclone');
  const s = await startTestServer(t);
  await s.server.units.create('rclone-unit');
  const key = s.server.credentials.issue('unit', [{ unit: 'rclone-unit', access: 'read-write' }]);
  const dir = testDir(t);
  const env = {
    RCLONE_CONFIG: join(dir, 'rclone.conf'),
    RCLONE_CONFIG_CAIRN_TYPE: 's3',
    RCLONE_CONFIG_CAIRN_PROVIDER: 'Other',
    RCLONE_CONFIG_CAIRN_ACCESS_KEY_ID: key.accessKeyId,
    RCLONE_CONFIG_CAIRN_SECRET_ACCESS_KEY: key.secretAccessKey,
    RCLONE_CONFIG_CAIRN_ENDPOINT: s.url,
    // Multipart from 6 MiB, in 5 MiB parts, 4 at a time (as rclone does at scale).
    RCLONE_S3_UPLOAD_CUTOFF: '6M',
    RCLONE_S3_CHUNK_SIZE: '5M',
    RCLONE_S3_UPLOAD_CONCURRENCY: '4',
  };
  writeFileSync(env.RCLONE_CONFIG, '');
  const rc = async (...args: string[]) => {
    const r = await run(rclone, [...args, '--retries', '1', '--low-level-retries', '1'], env);
    t.equal(r.code, 0, `rclone ${args.slice(0, 3).join(' ')}`);
    if (r.code !== 0) t.comment(r.stderr.slice(0, 3000));
    return r.stdout;
  };
  t.comment((await run(rclone, ['version'], env)).stdout.split('\n')[0]!);

  const src = join(dir, 'src');
  const files = makeTree(src, 'rclone', 16 * 1024 * 1024);
  await rc('sync', src, 'cairn:rclone-unit/tree');
  // check compares sizes and MD5s: single-part ETags must be the content's MD5.
  await rc('check', src, 'cairn:rclone-unit/tree');
  const lsf = await rc('lsf', '-R', 'cairn:rclone-unit/tree');
  for (const name of Object.keys(files)) t.match(lsf, name, `listed ${name}`);

  writeFileSync(join(src, 'data/db/wal/0001'), pseudoRandomBytes('rclone-changed', 300_000));
  const second = await run(rclone, ['sync', src, 'cairn:rclone-unit/tree', '-v'], env);
  t.equal(second.code, 0);
  t.match(second.stderr, /0001: Copied/, 'only the changed file is copied again');
  t.notMatch(second.stderr, /image\.raw: Copied/);
  await rc('check', src, 'cairn:rclone-unit/tree');

  await rc('copyto', join(src, 'config/app.yaml'), 'cairn:rclone-unit/single/app.yaml');
  await rc('copyto', 'cairn:rclone-unit/tree/big/image.raw', 'cairn:rclone-unit/copied/image.raw');
  await rc('copyto', 'cairn:rclone-unit/copied/image.raw', join(dir, 'image.back'));
  t.ok(readFileSync(join(dir, 'image.back')).equals(files['big/image.raw']!), 'server-side copy then download, byte for byte');
  await rc('touch', 'cairn:rclone-unit/single/app.yaml', '--timestamp', '2020-01-02T03:04:05');
  const lsl = await rc('lsl', 'cairn:rclone-unit/single');
  t.match(lsl, /2020-01-02 03:04:05/, 'modification times are kept (self-copy with REPLACE metadata)');

  const down = join(dir, 'down');
  await rc('sync', 'cairn:rclone-unit/tree', down);
  await rc('check', src, down);
  await rc('delete', 'cairn:rclone-unit/tree');
  t.equal((await rc('lsf', '-R', 'cairn:rclone-unit/tree')).trim(), '', 'delete removed everything');
  t.equal((await s.server.units.unit('rclone-unit').store.listUploads({})).uploads.length, 0, 'no multipart upload was left behind');
});
