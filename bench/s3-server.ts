/*
 * The server side of the bench's S3 path: a Cairn server in a process of its
 * own, so its memory is measured apart from the client's. Prints
 * {"url","accessKeyId","secretAccessKey"} once listening; on stdin, "peak"
 * answers the peak RSS since the last "reset" (sampled every 20 ms), "memory"
 * the process's memoryUsage().
 */
import { createInterface } from 'node:readline';
import { rmSync } from 'node:fs';
import { startServer } from '../src/app.js';
import { loadConfig } from '../src/config.js';

const dir = process.argv[2]!;
rmSync(dir, { recursive: true, force: true });
const server = await startServer(loadConfig([], { CAIRN_DATA_DIR: dir, CAIRN_PORT: '0' }), { logger: false });
let peak = process.memoryUsage.rss();
setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20).unref();
const key = server.firstAdminKey!;
process.stdout.write(`${JSON.stringify({ url: server.url, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'reset') peak = process.memoryUsage.rss();
  if (line === 'peak') process.stdout.write(`${JSON.stringify({ peakRssMiB: peak / 2 ** 20 })}\n`);
  if (line === 'memory') process.stdout.write(`${JSON.stringify(process.memoryUsage())}\n`);
  if (line.startsWith('populate ')) {
    // A unit of many objects for the listing figures: copies of one object (index rows only).
    const n = Number(line.split(' ')[1]);
    const t0 = process.hrtime.bigint();
    await server.units.create('listing');
    const store = server.units.unit('listing').store;
    await store.put('seed', (async function* () { yield Buffer.from('x'); })());
    for (let i = 0; i < n; i++) await store.copy('seed', `ns${String(i % 100).padStart(3, '0')}/backup-${String(i).padStart(7, '0')}.tar.gz`);
    process.stdout.write(`${JSON.stringify({ seconds: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
  }
  if (line === 'quit') break;
}
await server.close();
process.exit(0);
