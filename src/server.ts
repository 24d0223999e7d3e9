/*
 * `npm start`: loads the configuration, starts the server, and on the first
 * start prints the admin key it created (also written, owner-only, to
 * <data dir>/admin-credentials).
 */
import { join } from 'node:path';
import { startServer } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startServer(config);
  const key = server.firstAdminKey;
  if (key) {
    process.stdout.write(
      [
        '',
        'Cairn created an admin access key. It is shown this once:',
        `  access key id:     ${key.accessKeyId}`,
        `  secret access key: ${key.secretAccessKey}`,
        `It is also in ${join(config.dataDir, 'admin-credentials')} (readable by you only).`,
        `Use it with the CLI:  set -a; . ${join(config.dataDir, 'admin-credentials')}; set +a; npx cairn unit create backups`,
        '',
      ].join('\n') + '\n',
    );
  }
  server.app.log.info({ url: server.url, dataDir: config.dataDir, units: server.units.names() }, 'cairn ready');
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    server.app.log.info({ signal }, 'cairn stopping');
    await server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: Error) => {
  console.error(`cairn: ${err instanceof ConfigError ? err.message : (err.stack ?? err.message)}`);
  process.exit(1);
});
