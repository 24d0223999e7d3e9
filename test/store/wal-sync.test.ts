import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { WalSync } from '../../src/store/wal-sync.js';
import { pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { testDir } from '../helpers/test-dir.js';

t.test('syncs asked for together share one fdatasync', async (t) => {
  const path = join(testDir(t), 'index.db-wal');
  writeFileSync(path, 'frames');
  const wal = new WalSync(path);
  await Promise.all(Array.from({ length: 20 }, () => wal.sync()));
  // The first starts a flush; the other 19 arrive while it runs and share the one after it.
  t.equal(wal.flushes, 2);
});

t.test('a sync asked for while a flush runs waits for a flush that began after it', async (t) => {
  const path = join(testDir(t), 'index.db-wal');
  writeFileSync(path, 'frames');
  const wal = new WalSync(path);
  const seen: [string, number][] = [];
  const first = wal.sync().then(() => seen.push(['first', wal.flushes]));
  // Frames written now may have missed the flush under way.
  const second = wal.sync().then(() => seen.push(['second', wal.flushes]));
  await Promise.all([first, second]);
  t.same(seen, [
    ['first', 1],
    ['second', 2],
  ]);
  await wal.sync();
  t.equal(wal.flushes, 3, 'and one asked for once all is quiet starts its own');
});

t.test('a failed fdatasync is final: nothing is acknowledged after it', async (t) => {
  const path = join(testDir(t), 'index.db-wal');
  const wal = new WalSync(path);
  const err = await wal.sync().then(
    () => null,
    (e: Error) => e,
  );
  t.match(err?.message, /could not be synced/);
  // After a failed fsync the kernel may have dropped the pages, so a later success would prove nothing.
  writeFileSync(path, 'frames');
  await t.rejects(wal.sync(), err!);
  t.equal(wal.flushes, 1, 'no flush is tried again');
});

t.test("a stream's commit resolves only after a WAL flush", async (t) => {
  const { store } = await openTestStore(t);
  const index = store['ctx'].index;
  const before = index.walFlushes;
  await store.put('one', streamOf([pseudoRandomBytes('wal-one', 100_000)]));
  t.ok(index.walFlushes > before, 'the put waited for a flush');
  t.equal(index.db.pragma('synchronous', { simple: true }), 2, 'and the connection is back to FULL for every other transaction');

  const upload = store.createUpload('parts');
  const flushesBefore = index.walFlushes;
  const parts = 12;
  const etags = await Promise.all(
    Array.from({ length: parts }, async (_, i) => (await store.putPart(upload.uploadId, i + 1, streamOf([pseudoRandomBytes(`wal-part-${i}`, 60_000)]))).etag),
  );
  const flushes = index.walFlushes - flushesBefore;
  // Parts that commit together share a flush; how many do depends on timing.
  t.ok(flushes >= 1 && flushes <= parts, `${parts} part commits, ${flushes} flushes`);
  const done = await store.completeUpload(upload.uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
  t.equal(done.size, parts * 60_000);
});

t.test('the descriptor is kept between flushes, and opened afresh if the file was unlinked under it', async (t) => {
  const dir = testDir(t);
  const path = join(dir, 'index.db-wal');
  writeFileSync(path, 'frames');
  const wal = new WalSync(path);
  for (let i = 0; i < 5; i++) await wal.sync();
  t.equal(wal.opens, 1, 'five flushes, one open');
  // SQLite deletes the WAL only at its last close; were it ever gone and made again, the dead file must not be what is synced.
  unlinkSync(path);
  writeFileSync(path, 'new frames');
  await wal.sync();
  t.equal(wal.opens, 2, 'the new file is opened');
  const pending = wal.sync();
  await wal.close();
  await pending;
  t.equal(wal.flushes, 7, 'close waits for the flush asked for before it');
  await t.rejects(wal.sync(), /is closed/, 'and refuses syncs after it');
});
