import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** Everything the server is told at start: flags first, then CAIRN_* variables, then defaults. */
export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
}

const DEFAULTS: ServerConfig = {
  dataDir: './storage-units',
  host: '127.0.0.1',
  port: 9000,
};

export function loadConfig(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port ?? env.CAIRN_PORT ?? DEFAULTS.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port ${values.port ?? env.CAIRN_PORT}`);
  return {
    dataDir: resolve(values['data-dir'] ?? env.CAIRN_DATA_DIR ?? DEFAULTS.dataDir),
    host: values.host ?? env.CAIRN_HOST ?? DEFAULTS.host,
    port,
  };
}
