import { createHash } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { ChunkKind } from '../../src/store/container-format.js';
import { IndexDb } from '../../src/store/index-db.js';
import { testDir } from '../helpers/test-dir.js';

const fp = (i: number): Buffer => createHash('sha256').update(`chunk-${i}`).digest();

/*
 * Garbage collection's liveness join runs a range of containers at a time with
 * the event loop turning between, so that a unit of millions of chunks does
 * not stall every request for seconds. The pages must add up to exactly what
 * one join over the whole table says.
 */
t.test('the liveness join, page by page, equals the whole join and lets the event loop turn', async (t) => {
  const dir = testDir(t);
  const index = new IndexDb(join(dir, 'index.db'));
  t.teardown(() => index.close());
  const db = index.db;
  // 300 containers, a gap of deleted ones, one sealed container with no chunk left, uneven chunk counts.
  const addContainer = db.prepare('INSERT INTO containers (state, bytes, records, created_ms, sealed_ms) VALUES (?, ?, ?, 0, 0)');
  const addChunk = db.prepare('INSERT INTO chunks (fp, container, offset, stored_len, raw_len, kind, codec) VALUES (?, ?, ?, ?, ?, ?, 1)');
  let chunk = 0;
  db.transaction(() => {
    for (let c = 1; c <= 300; c++) {
      const id = Number(addContainer.run(c % 7 === 0 ? 0 : 1, 100_000 + c, 40).lastInsertRowid);
      if (c >= 120 && c < 140) continue; // removed by an earlier collection: rows gone below
      if (c === 150) continue; // sealed, every chunk gone
      for (let k = 0; k < (c % 13) * 5 + 1; k++) addChunk.run(fp(chunk++), id, k * 1000, 500 + (k % 9), 1000 + k, k % 4 === 0 ? ChunkKind.Recipe : ChunkKind.Data);
    }
    db.exec('DELETE FROM containers WHERE id >= 120 AND id < 140');
  })();

  const markPath = join(dir, 'marks.db');
  const marks = new Database(markPath);
  marks.exec('CREATE TABLE live (fp BLOB PRIMARY KEY) WITHOUT ROWID');
  const mark = marks.prepare('INSERT INTO live (fp) VALUES (?)');
  marks.transaction(() => {
    for (let i = 0; i < chunk; i++) if (i % 3 !== 0) mark.run(fp(i));
  })();
  marks.close();

  // The whole join, as one statement.
  db.prepare('ATTACH DATABASE ? AS gc').run(markPath);
  const whole = db
    .prepare(
      `SELECT c.container AS container, k.state = 1 AS sealed, k.bytes AS fileBytes, k.records AS fileRecords,
              sum(c.stored_len + 24) AS bytes, sum(CASE WHEN l.fp IS NULL THEN c.stored_len + 24 ELSE 0 END) AS deadBytes,
              sum(CASE WHEN l.fp IS NULL AND c.kind = ? THEN c.raw_len ELSE 0 END) AS deadDataRawBytes,
              count(*) AS records, sum(l.fp IS NULL) AS deadRecords
       FROM chunks c LEFT JOIN gc.live l ON l.fp = c.fp JOIN containers k ON k.id = c.container
       GROUP BY c.container ORDER BY c.container`,
    )
    .all(ChunkKind.Data)
    .map((r) => ({ ...(r as Record<string, unknown>), sealed: (r as { sealed: number }).sealed === 1 }));
  db.prepare('DETACH DATABASE gc').run();
  t.ok(whole.length > 250, `${whole.length} containers with chunks`);

  let turns = 0;
  let counting = true;
  const count = (): void => {
    turns++;
    if (counting) setImmediate(count);
  };
  setImmediate(count);
  const paged = await index.livenessByContainer(markPath, 24, 200);
  counting = false;
  t.same(paged, whole, 'the pages add up to the whole join');
  t.ok(turns > 10, `the event loop turned ${turns} times during the join`);
  t.equal(db.prepare('SELECT count(*) FROM pragma_database_list WHERE name = ?').pluck().get('gc'), 0, 'the mark file is not left attached');
  t.same(await index.livenessByContainer(markPath, 24), whole, 'and so does one page of the default size');
});
