import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { awsCliEnv, binary, makeTree, run } from '../helpers/clients.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

t.test('the AWS CLI: s3 cp, sync, rm --recursive and s3api', async (t) => {
  const aws = binary('aws');
  const s = await startTestServer(t);
  const dir = testDir(t);
  const env = awsCliEnv(dir, s.server.credentials.issue('admin', []));
  const cli = async (...args: string[]) => {
    const r = await run(aws, ['--endpoint-url', s.url, ...args], env);
    t.equal(r.code, 0, `aws ${args.slice(0, 3).join(' ')}`);
    if (r.code !== 0) t.comment(r.stderr.slice(0, 2000));
    return r.stdout;
  };
  t.comment((await run(aws, ['--version'], env)).stdout.trim());

  await cli('s3', 'mb', 's3://aws-cli');
  const src = join(dir, 'src');
  const files = makeTree(src, 'awscli', 20 * 1024 * 1024);
  // 20 MiB is over the CLI's 8 MiB multipart threshold: cp goes multipart.
  await cli('s3', 'cp', join(src, 'big/image.raw'), 's3://aws-cli/single/image.raw');
  await cli('s3', 'cp', 's3://aws-cli/single/image.raw', join(dir, 'back.raw'));
  t.ok(readFileSync(join(dir, 'back.raw')).equals(files['big/image.raw']!), 'cp round trip, multipart');

  // The CLI's defaults put ten 8 MiB parts in flight: more streams than the
  // server has batch slots, which once left every part waiting on the others.
  const wide = pseudoRandomBytes('awscli-wide', 100 * 1024 * 1024);
  writeFileSync(join(dir, 'wide.raw'), wide);
  const up = await run(aws, ['--endpoint-url', s.url, 's3', 'cp', join(dir, 'wide.raw'), 's3://aws-cli/wide.raw'], env, 90_000);
  t.equal(up.code, 0, 'cp of 100 MiB, ten parts at a time, within 90 s');
  if (up.code !== 0) t.comment(up.stderr.slice(0, 2000));
  await cli('s3', 'cp', 's3://aws-cli/wide.raw', join(dir, 'wide.back'));
  t.ok(readFileSync(join(dir, 'wide.back')).equals(wide), 'read back whole');

  await cli('s3', 'sync', src, 's3://aws-cli/tree');
  const listing = await cli('s3', 'ls', '--recursive', 's3://aws-cli/tree/');
  for (const name of Object.keys(files)) t.match(listing, name, `synced ${name}`);
  const again = await cli('s3', 'sync', src, 's3://aws-cli/tree');
  t.equal(again.trim(), '', 'a second sync uploads nothing');
  writeFileSync(join(src, 'data/logs/app.log'), pseudoRandomBytes('changed', 1000));
  const changed = await cli('s3', 'sync', src, 's3://aws-cli/tree');
  t.match(changed, /upload: .*app\.log/, 'a changed file is uploaded again');
  const down = join(dir, 'down');
  await cli('s3', 'sync', 's3://aws-cli/tree', down);
  for (const name of Object.keys(files)) {
    t.ok(readFileSync(join(down, name)).equals(readFileSync(join(src, name))), `synced back ${name}`);
  }

  const put = JSON.parse(await cli('s3api', 'put-object', '--bucket', 'aws-cli', '--key', 'api/obj', '--body', join(src, 'config/app.yaml'), '--metadata', 'owner=velero')) as { ETag: string };
  const head = JSON.parse(await cli('s3api', 'head-object', '--bucket', 'aws-cli', '--key', 'api/obj')) as { ETag: string; Metadata: Record<string, string>; ContentLength: number };
  t.equal(head.ETag, put.ETag);
  t.same(head.Metadata, { owner: 'velero' });
  const listed = JSON.parse(await cli('s3api', 'list-objects-v2', '--bucket', 'aws-cli', '--prefix', 'tree/', '--delimiter', '/')) as { CommonPrefixes: { Prefix: string }[] };
  t.same(listed.CommonPrefixes.map((p) => p.Prefix), ['tree/big/', 'tree/config/', 'tree/data/']);
  const missing = await run(aws, ['--endpoint-url', s.url, 's3api', 'head-object', '--bucket', 'aws-cli', '--key', 'nope'], env);
  t.not(missing.code, 0);
  t.match(missing.stderr, /404|Not Found/);

  await cli('s3', 'rm', '--recursive', 's3://aws-cli/tree');
  const rest = await cli('s3', 'ls', '--recursive', 's3://aws-cli/');
  t.notMatch(rest, /tree\//, 'rm --recursive removed the tree');
  t.match(rest, /single\/image\.raw/);
});
