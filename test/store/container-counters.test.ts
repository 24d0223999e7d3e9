import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { IndexDb } from '../../src/store/index-db.js';
import { ChunkStore } from '../../src/store/store.js';
import { pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { testDir } from '../helpers/test-dir.js';

/** What the totals were summed from before they were counters: the containers table itself. */
function scanned(db: Database.Database): { count: number; bytes: number } {
  const r = db.prepare('SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM containers').get() as { count: number; bytes: number };
  return { count: r.count, bytes: r.bytes };
}

// Full statistics (the admin API, a metrics scrape) read the containers' count
// and bytes from counters kept beside the rows, not from a sum over a table
// that holds a row per 4 MiB of the unit.
t.test('the containers counters follow every row: created, sealed, sealed again, deleted, released', async (t) => {
  const index = new IndexDb(join(testDir(t), 'index.db'));
  t.teardown(() => index.close());
  t.same(index.containerTotals(), { count: 0, bytes: 0 }, 'an empty index');
  const a = index.createContainer(1);
  const b = index.createContainer(2);
  const c = index.createContainer(3);
  t.same(index.containerTotals(), { count: 3, bytes: 0 }, 'open containers count no bytes');
  index.sealContainer(a, 1000, 3, 10);
  index.sealContainer(b, 5000, 7, 11);
  t.same(index.containerTotals(), { count: 3, bytes: 6000 });
  // Start-up may record a seal again (the row's update had been lost or was never synced).
  index.sealContainer(b, 5000, 7, 12);
  t.same(index.containerTotals(), { count: 3, bytes: 6000 }, 'a seal recorded again is not counted twice');
  index.sealContainer(999, 123, 1, 13);
  t.same(index.containerTotals(), { count: 3, bytes: 6000 }, 'a seal of a container the index does not know changes nothing');
  index.deleteContainer(b);
  index.deleteContainer(b);
  t.same(index.containerTotals(), { count: 2, bytes: 1000 }, 'a deletion counts once');
  t.not(index.releaseContainer(a, new Map(), () => false), null);
  t.same(index.containerTotals(), { count: 1, bytes: 0 }, 'released by a collection');
  t.same(index.containerTotals(), scanned(index.db), 'the counters agree with the rows');
  index.deleteContainer(c);
  t.same(index.containerTotals(), { count: 0, bytes: 0 });
});

t.test('a unit counts its containers again at open, and its figures match the rows through puts and a collection', async (t) => {
  const { store, dir } = await openTestStore(t);
  for (let i = 0; i < 4; i++) await store.put(`o${i}`, streamOf([pseudoRandomBytes(`containers-${i}`, 700_000)]));
  const index = (): Database.Database => new Database(join(dir, 'index.db'), { readonly: true });
  const check = (s: ChunkStore, what: string): void => {
    const db = index();
    try {
      const rows = scanned(db);
      const stats = s.stats();
      t.equal(stats.containers, rows.count, `${what}: the container count`);
      t.ok(rows.count > 2, `${what}: ${rows.count} containers`);
      t.ok(stats.containerBytes >= rows.bytes, `${what}: the bytes, sealed and open`);
    } finally {
      db.close();
    }
  };
  check(store, 'after the puts');
  for (let i = 0; i < 3; i++) await store.delete(`o${i}`);
  await store.close();

  // A build from before these counters changed the containers without them: the next open counts again.
  const old = new Database(join(dir, 'index.db'));
  old.prepare("UPDATE counters SET value = value + 1000 WHERE name IN ('containers', 'containerBytes')").run();
  old.close();
  const reopened = await ChunkStore.open(dir);
  t.teardown(() => reopened.close());
  check(reopened, 'reopened with the counters wrong');
  const r = await reopened.collectGarbage();
  t.ok(r.containersRemoved > 0, `${r.containersRemoved} containers removed`);
  check(reopened, 'after a collection');
  t.ok((await reopened.verify()).ok, 'verify is clean');
});
