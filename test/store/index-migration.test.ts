import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { defaultChunkingParameters } from '../../src/chunking/parameters.js';
import { INDEX_SCHEMA_VERSION, IndexFormatError } from '../../src/store/index-db.js';
import { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { TEST_SEED } from '../helpers/store.js';
import { testDir } from '../helpers/test-dir.js';

const create = { chunking: defaultChunkingParameters(4096, TEST_SEED), containerSize: 256 * 1024 };

/** What a unit written by a version 1 build holds: the same tables, the container index without raw_len. */
function downgradeToVersion1(dir: string): void {
  const db = new Database(join(dir, 'index.db'));
  db.exec('DROP INDEX chunks_by_container');
  db.exec('CREATE INDEX chunks_by_container ON chunks (container, offset, stored_len)');
  db.prepare("UPDATE meta SET value = '1' WHERE name = 'schema_version'").run();
  db.close();
}

function inspect(dir: string): { version: string; columns: string[]; plan: string } {
  const db = new Database(join(dir, 'index.db'), { readonly: true });
  try {
    return {
      version: db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").pluck().get() as string,
      columns: db.prepare("SELECT name FROM pragma_index_info('chunks_by_container') ORDER BY seqno").pluck().all() as string[],
      plan: (db.prepare('EXPLAIN QUERY PLAN SELECT fp, offset, stored_len, raw_len FROM chunks WHERE container = ? ORDER BY offset').all(1) as { detail: string }[])
        .map((r) => r.detail)
        .join('; '),
    };
  } finally {
    db.close();
  }
}

t.test('a version 1 index is migrated at open, its data intact, and the locality load reads the index alone', async (t) => {
  const dir = testDir(t);
  const objects = Array.from({ length: 6 }, (_, i) => pseudoRandomBytes(`mig-${i}`, 300_000));
  const first = await ChunkStore.open(dir, { create });
  for (const [i, data] of objects.entries()) await first.put(`o${i}`, streamOf([data]));
  const before = first.stats();
  await first.close();

  downgradeToVersion1(dir);
  t.match(inspect(dir), { version: '1', columns: ['container', 'offset', 'stored_len'] });

  const logged: [string, string, Record<string, unknown> | undefined][] = [];
  const store = await ChunkStore.open(dir, { log: (level, message, fields) => logged.push([level, message, fields]) });
  t.match(logged, [['info', 'index migrated', { from: 1, to: INDEX_SCHEMA_VERSION }]], 'the migration is logged');
  t.teardown(() => store.close());
  const after = inspect(dir);
  t.equal(after.version, String(INDEX_SCHEMA_VERSION));
  t.same(after.columns, ['container', 'offset', 'stored_len', 'raw_len', 'kind']);
  t.match(after.plan, /COVERING INDEX chunks_by_container/);
  // Container figures may move (reopening seals or drops the open container); the chunks and objects may not.
  const { logicalBytes, objects: count, dataChunks, uniqueBytes, storedBytes, recipeChunks } = store.stats();
  t.same({ logicalBytes, objects: count, dataChunks, uniqueBytes, storedBytes, recipeChunks }, {
    logicalBytes: before.logicalBytes, objects: before.objects, dataChunks: before.dataChunks,
    uniqueBytes: before.uniqueBytes, storedBytes: before.storedBytes, recipeChunks: before.recipeChunks,
  }, 'the same chunks and objects');
  for (const [i, data] of objects.entries()) t.ok((await collect((await store.get(`o${i}`)).body)).equals(data), `o${i} reads back`);

  // Storing the same bytes again finds every chunk through the migrated index: nothing new is kept.
  await store.put('again', streamOf([objects[3]!]));
  t.equal(store.stats().uniqueBytes, before.uniqueBytes, 'a second copy deduplicates completely');
  t.equal((await store.verify()).ok, true);
});

t.test('an index from a newer build is refused, not rewritten', async (t) => {
  const dir = testDir(t);
  await (await ChunkStore.open(dir, { create })).close();
  const db = new Database(join(dir, 'index.db'));
  db.prepare("UPDATE meta SET value = '99' WHERE name = 'schema_version'").run();
  db.close();
  await t.rejects(ChunkStore.open(dir), IndexFormatError);
  t.equal(inspect(dir).version, '99');
});
