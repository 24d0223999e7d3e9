import type { AccessKey, Grant, IssuedKey } from '../../units/credentials.js';
import { adminRequest } from '../admin-client.js';
import { EXIT, UsageError } from '../cli-errors.js';
import type { Command } from '../command.js';
import { table, time } from '../format.js';

function parseGrant(text: string): Grant {
  const m = /^([^:]+)(?::(rw|ro|read-write|read-only))?$/.exec(text);
  if (!m) throw new UsageError(`--unit takes NAME, NAME:rw or NAME:ro, not ${text}`);
  const access = m[2] === 'ro' || m[2] === 'read-only' ? 'read-only' : 'read-write';
  return { unit: m[1]!, access };
}

export const keyCommands: Command[] = [
  {
    words: ['key', 'create'],
    args: [],
    summary: 'issue an access key (the secret is printed once)',
    options: {
      admin: { type: 'boolean', help: 'an admin key (all units, the admin API)' },
      unit: { type: 'string', multiple: true, help: 'grant a unit: NAME (read-write), NAME:rw or NAME:ro; repeatable' },
      description: { type: 'string', help: 'a note to find the key by' },
    },
    async run(ctx, _args, o) {
      const grants = ((o.unit as string[] | undefined) ?? []).map(parseGrant);
      if (!o.admin && grants.length === 0) throw new UsageError('give --admin or at least one --unit');
      const key = await adminRequest<IssuedKey>(ctx.connection(), 'POST', '/keys', {
        ...(o.admin ? { admin: true } : { grants }),
        ...(o.description !== undefined && { description: o.description }),
      });
      if (ctx.json) ctx.out(JSON.stringify(key, null, 2));
      else {
        ctx.out(
          [
            `access key id:     ${key.accessKeyId}`,
            `secret access key: ${key.secretAccessKey}`,
            `access:            ${key.kind === 'admin' ? 'admin' : key.grants.map((g) => `${g.unit} (${g.access})`).join(', ')}`,
            'The secret is not shown again.',
          ].join('\n'),
        );
      }
      return EXIT.ok;
    },
  },
  {
    words: ['key', 'list'],
    args: [],
    summary: 'list access keys (never their secrets)',
    options: {},
    async run(ctx) {
      const { keys } = await adminRequest<{ keys: AccessKey[] }>(ctx.connection(), 'GET', '/keys');
      if (ctx.json) ctx.out(JSON.stringify(keys, null, 2));
      else
        ctx.out(
          table(
            ['ACCESS KEY ID', 'KIND', 'ACCESS', 'CREATED', 'REVOKED', 'DESCRIPTION'],
            keys.map((k) => [
              k.accessKeyId,
              k.kind,
              k.kind === 'admin' ? 'all' : k.grants.map((g) => `${g.unit}:${g.access === 'read-only' ? 'ro' : 'rw'}`).join(','),
              time(k.createdMs),
              time(k.revokedMs),
              k.description,
            ]),
          ),
        );
      return EXIT.ok;
    },
  },
  {
    words: ['key', 'revoke'],
    args: ['access-key-id'],
    summary: 'revoke an access key, at once',
    options: {},
    async run(ctx, [id]) {
      await adminRequest(ctx.connection(), 'DELETE', `/keys/${encodeURIComponent(id!)}`);
      ctx.out(ctx.json ? JSON.stringify({ revoked: id }) : `revoked ${id}`);
      return EXIT.ok;
    },
  },
];
