import { appendFileSync, statSync, truncateSync } from 'node:fs';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import t from 'tap';
import { RECORD_HEADER_BYTES, writeRecordHeader, ChunkKind, xxh64 } from '../../src/store/container-format.js';
import { ChunkStore } from '../../src/store/store.js';
import { sealedContainers } from '../helpers/containers.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { containerPath } from '../../src/store/container-set.js';
import { testDir } from '../helpers/test-dir.js';

/** Turns the last sealed container back into an open one with the given bytes torn onto its end. */
function tearLastContainer(dir: string, tail: Buffer): { path: string; recordsEnd: number } {
  const containers = sealedContainers(dir);
  const last = containers[containers.length - 1]!;
  truncateSync(last.path, last.footerOffset);
  appendFileSync(last.path, tail);
  const db = new Database(join(dir, 'index.db'));
  const id = Number.parseInt(last.path.slice(-12, -4), 16);
  db.prepare('UPDATE containers SET state = 0, bytes = 0 WHERE id = ?').run(id);
  db.close();
  return { path: last.path, recordsEnd: last.footerOffset };
}

for (const [name, tail] of [
  ['random garbage', pseudoRandomBytes('garbage', 3000)],
  ['half a record', halfRecord()],
  ['a lone byte', Buffer.from([0x43])],
] as const) {
  t.test(`start-up cuts a torn tail (${name}) back to the last whole record`, async (t) => {
    const dir = testDir(t);
    const data = pseudoRandomBytes(`torn-${name}`, 900_000);
    const first = await openTestStore(t, {}, dir);
    await first.store.put('obj', streamOf([data]));
    await first.store.close();
    const torn = tearLastContainer(dir, tail);

    const logged: Record<string, unknown>[] = [];
    const store = await ChunkStore.open(dir, { log: (_l, m, f) => m === 'recovered open container' && logged.push(f!) });
    t.teardown(() => store.close());
    t.equal(logged.length, 1, 'one container recovered');
    t.equal(logged[0]!.truncatedBytes, tail.length, 'exactly the torn bytes were cut');
    const after = sealedContainers(dir).find((c) => c.path === torn.path)!;
    t.equal(after.footerOffset, torn.recordsEnd, 'the records end where they ended before the tear');
    t.equal(statSync(torn.path).size, after.size);
    t.ok((await collect((await store.get('obj')).body)).equals(data));
    t.equal((await store.verify()).ok, true);
  });
}

function halfRecord(): Buffer {
  const payload = pseudoRandomBytes('half', 5000);
  const rec = Buffer.alloc(RECORD_HEADER_BYTES + payload.length);
  payload.copy(rec, RECORD_HEADER_BYTES);
  writeRecordHeader(rec, 0, {
    kind: ChunkKind.Data,
    codec: 0,
    rawLength: payload.length,
    storedLength: payload.length,
    fingerprint: Buffer.alloc(32, 7),
    payloadChecksum: xxh64(payload),
  });
  return rec.subarray(0, RECORD_HEADER_BYTES + 1000);
}

t.test('a container whose creation was cut short (no header, or no file) is dropped at start-up', async (t) => {
  const dir = testDir(t);
  const first = await openTestStore(t, {}, dir);
  const data = pseudoRandomBytes('cut-short', 500_000);
  await first.store.put('obj', streamOf([data]));
  await first.store.close();
  const db = new Database(join(dir, 'index.db'));
  const insert = db.prepare('INSERT INTO containers (state, created_ms) VALUES (0, 0)');
  const empty = Number(insert.run().lastInsertRowid);
  const missing = Number(insert.run().lastInsertRowid);
  db.close();
  const emptyPath = containerPath(join(dir, 'containers'), empty);
  appendFileSync(emptyPath, Buffer.alloc(0));

  const store = await ChunkStore.open(dir);
  t.teardown(() => store.close());
  t.throws(() => statSync(emptyPath), { code: 'ENOENT' }, 'the headerless file is gone');
  const check = new Database(join(dir, 'index.db'), { readonly: true });
  const rows = check.prepare('SELECT id FROM containers WHERE id IN (?, ?)').all(empty, missing);
  check.close();
  t.same(rows, [], 'and so are both rows');
  t.ok((await collect((await store.get('obj')).body)).equals(data));
  t.equal((await store.verify()).ok, true);
});
