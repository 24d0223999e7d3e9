import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { awsCliEnv, binary, run } from '../helpers/clients.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

// With no patience, every completion answers 200 first and its result after: the CLI must read it there.
t.test('the AWS CLI completes multipart uploads whose 200 came before the result', async (t) => {
  const aws = binary('aws');
  const s = await startTestServer(t, { CAIRN_COMPLETE_PATIENCE_SECONDS: '0' });
  const dir = testDir(t);
  const env = awsCliEnv(dir, s.server.credentials.issue('admin', []));
  const cli = async (...args: string[]): Promise<string> => {
    const r = await run(aws, ['--endpoint-url', s.url, ...args], env, 90_000);
    t.equal(r.code, 0, `aws ${args.slice(0, 3).join(' ')}`);
    if (r.code !== 0) t.comment(r.stderr.slice(0, 2000));
    return r.stdout;
  };
  await cli('s3', 'mb', 's3://patient');
  // Over the CLI's 8 MiB threshold: three parts, two seams.
  const data = pseudoRandomBytes('aws-patience', 20 * 1024 * 1024 + 4321);
  writeFileSync(join(dir, 'up.raw'), data);
  await cli('s3', 'cp', join(dir, 'up.raw'), 's3://patient/backup.tar');
  const head = JSON.parse(await cli('s3api', 'head-object', '--bucket', 'patient', '--key', 'backup.tar')) as { ETag: string; ContentLength: number };
  t.match(head.ETag, /^"[0-9a-f]{32}-3"$/, 'a multipart ETag: the CLI went multipart and completed');
  t.equal(head.ContentLength, data.length);
  await cli('s3', 'cp', 's3://patient/backup.tar', join(dir, 'back.raw'));
  t.ok(readFileSync(join(dir, 'back.raw')).equals(data), 'read back byte for byte');
});
