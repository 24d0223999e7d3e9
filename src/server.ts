/*
 * Composition root. Today it opens the storage units under the data directory
 * (creating a first unit, "default", on a fresh machine) and keeps them open
 * until SIGINT/SIGTERM; the S3, ingest and admin faces attach here as they land.
 */
import { mkdirSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { ChunkStore } from './store/store.js';

async function main(): Promise<void> {
  const config = loadConfig();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const names = readdirSync(config.dataDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(config.dataDir, e.name, 'index.db')))
    .map((e) => e.name);
  if (names.length === 0) names.push('default');
  const stores = new Map<string, ChunkStore>();
  for (const name of names) {
    const store = await ChunkStore.open(join(config.dataDir, name), {
      log: (level, message, fields) => console.log(JSON.stringify({ level, unit: name, msg: message, ...fields })),
    });
    stores.set(name, store);
    const s = store.stats();
    console.log(
      `cairn: storage unit ${name} open at ${store.dir}: ${s.objects} objects, ${s.logicalBytes} logical bytes, ` +
        `${s.containerBytes} bytes on disk (dedup ${s.dedupFactor.toFixed(2)}x, compression ${s.compressionFactor.toFixed(2)}x)`,
    );
  }
  console.log(`cairn: ready; data under ${config.dataDir}. The S3 endpoint is not served yet (see the issues). Ctrl-C stops.`);
  const stop = async (signal: string): Promise<void> => {
    console.log(`cairn: ${signal}, closing storage units`);
    for (const store of stores.values()) await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  setInterval(() => undefined, 1 << 30);
}

main().catch((err: Error) => {
  console.error(`cairn: ${err.message}`);
  process.exit(1);
});
