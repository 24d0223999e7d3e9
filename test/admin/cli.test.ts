import t from 'tap';
import { cairn } from '../helpers/cli.js';
import { streamOf, pseudoRandomBytes } from '../helpers/data.js';
import { startTestServer } from '../helpers/server.js';

t.test('the unit lifecycle through the CLI against a real server', async (t) => {
  const s = await startTestServer(t);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  const ok = async (args: string[], expect: RegExp): Promise<string> => {
    const r = await cairn(args, env);
    t.equal(r.code, 0, `cairn ${args.join(' ')} exits 0`);
    t.match(r.stdout, expect);
    return r.stdout;
  };

  await ok(['unit', 'create', 'velero-prod', '--soft-quota', '800MiB', '--hard-quota', '1GiB'], /created storage unit velero-prod/);
  await ok(['unit', 'create', 'kopia', '--avg-chunk-size', '16KiB', '--compression-level', '3'], /created/);
  await ok(['unit', 'list'], /velero-prod .*800 MiB \/ 1\.00 GiB/);
  const shown = JSON.parse(await ok(['unit', 'show', 'kopia', '--json'], /"name": "kopia"/)) as { parameters: { chunking: { avgSize: number }; compression: { level: number } } };
  t.equal(shown.parameters.chunking.avgSize, 16384);
  t.equal(shown.parameters.compression.level, 3);
  await ok(['unit', 'set-quota', 'velero-prod', '--hard', '2GiB'], /soft 800 MiB, hard 2\.00 GiB/);
  await ok(['unit', 'set-quota', 'velero-prod', '--soft', 'none'], /soft -, hard 2\.00 GiB/);

  const issued = JSON.parse(await ok(['key', 'create', '--unit', 'velero-prod', '--unit', 'kopia:ro', '--description', 'velero', '--json'], /secretAccessKey/)) as {
    accessKeyId: string;
    grants: { unit: string; access: string }[];
  };
  t.same(issued.grants, [
    { unit: 'velero-prod', access: 'read-write' },
    { unit: 'kopia', access: 'read-only' },
  ]);
  const listed = await ok(['key', 'list'], new RegExp(issued.accessKeyId));
  t.match(listed, /kopia:ro,velero-prod:rw/);
  await ok(['key', 'revoke', issued.accessKeyId], /revoked/);
  t.match(await ok(['key', 'list', '--json'], /revokedMs/), new RegExp(`"accessKeyId": "${issued.accessKeyId}"[^}]*"revokedMs": \\d+`));

  // Put an object in, so delete has something to refuse over.
  await s.server.units.unit('kopia').put('pack-1', streamOf([pseudoRandomBytes('cli', 300_000)]));
  await ok(['stats'], /kopia +1 /);
  await ok(['stats', 'kopia'], /objects: +1/);
  await ok(['verify', 'kopia'], /^clean: .* 1 objects/);

  const refused = await cairn(['unit', 'delete', 'kopia'], env);
  t.equal(refused.code, 1, 'deleting a unit that holds objects is refused: exit 1');
  t.match(refused.stderr, /holds 1 objects/);
  await ok(['unit', 'delete', 'kopia', '--force'], /deleted storage unit kopia/);
  await ok(['unit', 'delete', 'velero-prod'], /deleted/);
  t.equal(JSON.parse(await ok(['unit', 'list', '--json'], /\[/)).length, 0);
});

t.test('exit codes scripts can trust', async (t) => {
  const s = await startTestServer(t);
  const env = { CAIRN_ENDPOINT: s.url, CAIRN_ACCESS_KEY_ID: s.admin.accessKeyId, CAIRN_SECRET_ACCESS_KEY: s.admin.secretAccessKey };
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['unknown command', ['frobnicate'], env, 2, /unknown command/],
    ['unknown option', ['unit', 'list', '--colour'], env, 2, /Unknown option/],
    ['missing argument', ['unit', 'show'], env, 2, /takes <name>/],
    ['bad size', ['unit', 'create', 'x-y-z', '--hard-quota', 'lots'], env, 2, /size/],
    ['no key', ['unit', 'list'], { CAIRN_ENDPOINT: s.url }, 2, /no access key/],
    ['refused by the server', ['unit', 'create', 'Not_Valid'], env, 1, /400: .*lowercase/],
    ['missing unit', ['unit', 'show', 'ghost'], env, 1, /404/],
    ['wrong secret', ['unit', 'list'], { ...env, CAIRN_SECRET_ACCESS_KEY: 'nope' }, 1, /403/],
    ['unreachable', ['unit', 'list'], { ...env, CAIRN_ENDPOINT: 'http://127.0.0.1:1' }, 3, /cannot reach/],
  ];
  for (const [name, args, e, code, message] of cases) {
    const r = await cairn(args, e);
    t.equal(r.code, code, `${name}: exit ${code}`);
    t.match(r.stderr, message, `${name}: one clear line`);
    t.equal(r.stderr.trim().split('\n').length, 1);
  }
  const help = await cairn(['--help'], {});
  t.equal(help.code, 0);
  t.match(help.stdout, /unit create <name>/);
  const sub = await cairn(['unit', 'create', '--help'], {});
  t.equal(sub.code, 0);
  t.match(sub.stdout, /--hard-quota/);
});
