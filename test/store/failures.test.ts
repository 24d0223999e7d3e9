import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { CONTAINER_HEADER_BYTES, encodeContainerHeader } from '../../src/store/container-format.js';
import { recoverContainer } from '../../src/store/container-recovery.js';
import { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { containerPath } from '../../src/store/container-set.js';
import { testDir } from '../helpers/test-dir.js';

t.test('closing the unit while a put commits: the put either fails or its object is whole', async (t) => {
  const dir = testDir(t);
  const { store } = await openTestStore(t, {}, dir);
  const data = pseudoRandomBytes('close-race', 700_000);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inCommit = new Promise<void>((r) => (entered = r));
  const put = store.put('k', streamOf([data]), {
    beforeCommit: async () => {
      entered();
      await gate;
    },
  });
  await inCommit;
  const closing = store.close();
  release();
  const outcome = await put.then(
    () => 'stored',
    (err: Error) => `failed: ${err.message}`,
  );
  await closing;
  const again = await ChunkStore.open(dir);
  t.teardown(() => again.close());
  if (outcome === 'stored') {
    t.ok((await collect((await again.get('k')).body)).equals(data), 'an acknowledged put reads back whole');
  } else {
    await t.rejects(again.head('k'), { code: 'NoSuchKey' }, `a put that failed (${outcome}) left no object`);
  }
  t.equal((await again.verify()).ok, true, 'verify is clean');
});

t.test('a container that cannot be written fails the put, commits nothing, and the unit goes on', async (t) => {
  const dir = testDir(t);
  const { store } = await openTestStore(t, {}, dir);
  await store.put('before', streamOf([pseudoRandomBytes('before', 100_000)]));
  // The next container id's file is a link to /dev/full: its writes fail with ENOSPC, a real I/O error.
  const db = new Database(join(dir, 'index.db'), { readonly: true });
  const next = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'containers'").pluck().get() as number) + 1;
  db.close();
  const path = containerPath(join(dir, 'containers'), next);
  mkdirSync(join(path, '..'), { recursive: true });
  symlinkSync('/dev/full', path);
  const before = store.stats();
  // Large enough to fill the idle container and need a new one.
  await t.rejects(store.put('doomed', streamOf([pseudoRandomBytes('doomed', 2_000_000)])), /ENOSPC|no space/i);
  await t.rejects(store.head('doomed'), { code: 'NoSuchKey' });
  t.equal(store.stats().logicalBytes, before.logicalBytes, 'nothing committed');
  rmSync(path, { force: true }); // the store withdraws the failed container's file itself
  const after = pseudoRandomBytes('after', 1_500_000);
  await store.put('after', streamOf([after]));
  t.ok((await collect((await store.get('after')).body)).equals(after), 'the unit takes writes again');
  t.equal((await store.verify()).ok, true);
});

t.test('recovery reports a file that ends before its last committed record as damage', async (t) => {
  const dir = testDir(t);
  const path = join(dir, 'c.ctr');
  writeFileSync(path, Buffer.concat([encodeContainerHeader({ id: 1, createdMs: 0 }), Buffer.alloc(100)]));
  const r = await recoverContainer(path, CONTAINER_HEADER_BYTES + 5000, () => []);
  t.same(r.damagedAt, [CONTAINER_HEADER_BYTES], 'the missing committed bytes are reported');
  t.equal(r.discard, false);
  t.ok(r.bytes >= CONTAINER_HEADER_BYTES + 5000, 'and the file is not cut below the committed end');
});
