import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { binary, makeTree, run } from '../helpers/clients.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

t.test('restic uses Cairn as its S3 repository: init, two backups, check --read-data, restore', async (t) => {
  const restic = binary('restic');
  const s = await startTestServer(t);
  await s.server.units.create('restic-repo');
  const key = s.server.credentials.issue('unit', [{ unit: 'restic-repo', access: 'read-write' }]);
  const dir = testDir(t);
  const env = {
    RESTIC_REPOSITORY: `s3:${s.url}/restic-repo/host1`,
    RESTIC_PASSWORD: 'correct horse battery staple',
    AWS_ACCESS_KEY_ID: key.accessKeyId,
    AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
    RESTIC_CACHE_DIR: join(dir, 'cache'),
  };
  const r = async (...args: string[]) => {
    const out = await run(restic, [...args], env, 300_000);
    t.equal(out.code, 0, `restic ${args.slice(0, 2).join(' ')}`);
    if (out.code !== 0) t.comment(`${out.stdout.slice(-1500)}\n${out.stderr.slice(0, 3000)}`);
    return out.stdout;
  };
  t.comment((await run(restic, ['version'], env)).stdout.trim());

  await r('init');
  const src = join(dir, 'volume');
  const files = makeTree(src, 'restic', 8 * 1024 * 1024);
  await r('backup', src, '--host', 'node-1');
  writeFileSync(join(src, 'data/db/pages.bin'), Buffer.concat([files['data/db/pages.bin']!.subarray(0, 1_000_000), pseudoRandomBytes('edit', 5000), files['data/db/pages.bin']!.subarray(1_000_000)]));
  writeFileSync(join(src, 'data/new-file'), pseudoRandomBytes('restic-new', 400_000));
  await r('backup', src, '--host', 'node-1');
  const snapshots = JSON.parse(await r('snapshots', '--json')) as unknown[];
  t.equal(snapshots.length, 2, 'two snapshots');
  await r('check', '--read-data');
  const out = join(dir, 'restored');
  await r('restore', 'latest', '--target', out);
  for (const name of [...Object.keys(files), 'data/new-file']) {
    t.ok(readFileSync(join(out, src, name)).equals(readFileSync(join(src, name))), `restored ${name} byte for byte`);
  }
  const stats = s.server.units.info('restic-repo').stats;
  t.ok(stats.objects > 5, `${stats.objects} repository files stored`);
});
