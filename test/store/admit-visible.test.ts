import t from 'tap';
import { fingerprint } from '../../src/chunking/fingerprint.js';
import { decodeChunks, storedLengthBound } from '../../src/wire/frames.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { chunkFrame } from '../helpers/ingest.js';
import { openTestStore } from '../helpers/store.js';

/*
 * Chunks a client pushes are committed, then the WAL is synced, then the
 * admit answers. A query for them in between (a rerun of an interrupted push,
 * asking what is missing while the last frame of the first run is still being
 * made durable) must find them: they are in the index. They were once told
 * missing there, because the dedup filter learnt of them only after the sync,
 * and sent again.
 */
t.test('pushed chunks are known to dedup from their commit on, not from the WAL sync after it', async (t) => {
  const { store } = await openTestStore(t);
  let caught = 0;
  for (let attempt = 0; attempt < 20 && caught < 3; attempt++) {
    const chunks = Array.from({ length: 40 }, (_, i) => pseudoRandomBytes(`admit-${attempt}-${i}`, 20_000));
    const fps = Buffer.concat(chunks.map((c) => fingerprint(c)));
    const frame = chunkFrame(chunks.map((data) => ({ data })));
    const offered = decodeChunks(frame, { maxCount: 1000, maxRawLength: 1 << 20, maxStoredLength: storedLengthBound(1 << 20) });
    const before = store.stats().dataChunks;
    let settled = false;
    const admitted = store.admitChunks(frame, offered).finally(() => (settled = true));
    // Wait, a turn at a time, for the rows to be in; the admit may still be syncing the WAL.
    while (!settled && store.stats().dataChunks === before) await new Promise((r) => setImmediate(r));
    if (!settled) {
      caught++;
      const missing = store.missingChunks(fps);
      t.equal(missing.filter(Boolean).length, 0, `attempt ${attempt}: committed, not yet synced, and none reported missing`);
    }
    await admitted;
    t.equal(store.missingChunks(fps).filter(Boolean).length, 0, `attempt ${attempt}: none missing once admitted`);
  }
  t.ok(caught > 0, `the window between commit and sync was caught ${caught} times`);
});
