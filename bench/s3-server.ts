/*
 * The server side of the bench's S3 path: a Cairn server in a process of its
 * own, so its memory is measured apart from the client's. Prints
 * {"url","accessKeyId","secretAccessKey"} once listening; on stdin, "peak"
 * answers the peak RSS since the last "reset" (sampled every 20 ms).
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
  if (line === 'quit') break;
}
await server.close();
process.exit(0);
