import { parseArgs } from 'node:util';
import { CliError, EXIT, UsageError } from './cli-errors.js';
import type { Command, OptionSpec } from './command.js';
import { keyCommands } from './commands/key.js';
import { moverCommands } from './commands/mover.js';
import { statsCommands } from './commands/stats.js';
import { unitCommands } from './commands/unit.js';

const COMMANDS: Command[] = [...unitCommands, ...keyCommands, ...statsCommands, ...moverCommands];

const GLOBAL: Record<string, OptionSpec> = {
  endpoint: { type: 'string', help: 'server URL (CAIRN_ENDPOINT, default http://127.0.0.1:9000)' },
  'access-key-id': { type: 'string', help: 'access key id (CAIRN_ACCESS_KEY_ID): an admin key, or a unit key for push and pull' },
  'secret-access-key': { type: 'string', help: 'its secret (CAIRN_SECRET_ACCESS_KEY)' },
  region: { type: 'string', help: 'region to sign for (CAIRN_REGION, default us-east-1)' },
  json: { type: 'boolean', help: 'print JSON for scripts' },
  help: { type: 'boolean', help: 'show help' },
};

function optionHelp(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, o]) => `  --${name}${o.type === 'string' ? ' VALUE' : ''}`.padEnd(28) + o.help)
    .join('\n');
}

function usage(): string {
  return [
    'usage: cairn <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${[...c.words, ...c.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`))].join(' ')}`.padEnd(36) + c.summary),
    '',
    'options for every command:',
    optionHelp(GLOBAL),
    '',
    'exit codes: 0 done, 1 refused by the server, 2 bad command line, 3 server unreachable or failing, 4 verify found damage',
  ].join('\n');
}

function commandHelp(c: Command): string {
  return [
    `usage: cairn ${[...c.words, ...c.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`))].join(' ')} [options]`,
    '',
    c.summary,
    '',
    ...(Object.keys(c.options).length > 0 ? ['options:', optionHelp(c.options), ''] : []),
    'options for every command:',
    optionHelp(GLOBAL),
  ].join('\n');
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  try {
    const words = argv.filter((a) => !a.startsWith('-'));
    const command = COMMANDS.filter((c) => c.words.every((w, i) => words[i] === w)).sort((a, b) => b.words.length - a.words.length)[0];
    if (!command) {
      if (argv.length === 0 || argv.includes('--help') || argv.includes('-h') || words[0] === 'help') {
        out(usage());
        return argv.length === 0 ? EXIT.usage : EXIT.ok;
      }
      throw new UsageError(`unknown command: ${words.slice(0, 2).join(' ') || argv.join(' ')} (cairn --help lists them)`);
    }
    const specs = { ...GLOBAL, ...command.options };
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        options: Object.fromEntries(Object.entries(specs).map(([k, o]) => [k, { type: o.type, ...(o.multiple && { multiple: true }) }])),
        allowPositionals: true,
        strict: true,
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (parsed.values.help) {
      out(commandHelp(command));
      return EXIT.ok;
    }
    const args = parsed.positionals.slice(command.words.length);
    const required = command.args.filter((a) => !a.endsWith('?')).length;
    // An argument named "x..." takes one or more values.
    const variadic = command.args.some((a) => a.endsWith('...'));
    if (args.length < required || (!variadic && args.length > command.args.length)) {
      throw new UsageError(`cairn ${command.words.join(' ')} takes ${command.args.map((a) => `<${a.replace('?', '')}>`).join(' ') || 'no arguments'}`);
    }
    const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
    const connection = () => {
      const endpoint = (v.endpoint as string | undefined) ?? env.CAIRN_ENDPOINT ?? 'http://127.0.0.1:9000';
      const accessKeyId = (v['access-key-id'] as string | undefined) ?? env.CAIRN_ACCESS_KEY_ID;
      const secretAccessKey = (v['secret-access-key'] as string | undefined) ?? env.CAIRN_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) {
        throw new UsageError('no access key: give --access-key-id and --secret-access-key, or set CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY');
      }
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new UsageError(`--endpoint is not a URL: ${endpoint}`);
      }
      return { endpoint: url, credentials: { accessKeyId, secretAccessKey }, region: (v.region as string | undefined) ?? env.CAIRN_REGION ?? 'us-east-1' };
    };
    return await command.run({ connection, json: v.json === true, out }, args, v);
  } catch (e) {
    if (e instanceof CliError) {
      err(`cairn: ${e.message}`);
      return e.exitCode;
    }
    err(`cairn: ${(e as Error).message}`);
    return EXIT.unavailable;
  }
}
