import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t, { type Test } from 'tap';
import { FingerprintFilter } from '../../src/store/bloom-filter.js';
import { FILTER_FILE, saveFilter, takeSavedFilter, type IndexMark } from '../../src/store/filter-file.js';
import { IndexDb } from '../../src/store/index-db.js';
import { ChunkStore } from '../../src/store/store.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { freshSubdir } from '../helpers/test-dir.js';

type Logged = { message: string; fields: Record<string, unknown> };

async function open(dir: string, logged: Logged[]): Promise<ChunkStore> {
  return ChunkStore.open(dir, { log: (_level, message, fields) => logged.push({ message, fields: fields ?? {} }) });
}

function filterLine(logged: Logged[]): Logged {
  const lines = logged.filter((l) => l.message.startsWith('fingerprint filter') && l.message !== 'fingerprint filter saved');
  if (lines.length !== 1) throw new Error(`expected one filter line at open, got ${JSON.stringify(lines)}`);
  return lines[0]!;
}

function token(dir: string): string | undefined {
  const db = new Database(join(dir, 'index.db'), { readonly: true });
  try {
    return (db.prepare("SELECT value FROM meta WHERE name = 'fingerprint_filter'").get() as { value: string } | undefined)?.value;
  } finally {
    db.close();
  }
}

/** Puts data again and says how the store's filter answered for it. */
async function putAgain(store: ChunkStore, key: string, data: Buffer): Promise<{ negatives: number; lookups: number }> {
  const before = store.lookupCounters();
  await store.put(key, streamOf([data]));
  const after = store.lookupCounters();
  return { negatives: after.filterNegatives - before.filterNegatives, lookups: after.lookups - before.lookups };
}

/** A unit in a fresh directory holding data under key 'a' (if given), closed: its filter saved. */
async function closedUnit(t: Test, name: string, data?: Buffer): Promise<string> {
  const dir = freshSubdir(t, name);
  const { store } = await openTestStore(t, {}, dir);
  if (data) await store.put('a', streamOf([data]));
  await store.close();
  return dir;
}

t.test('a unit closed cleanly opens with its saved filter, which still knows every chunk', async (t) => {
  const a = pseudoRandomBytes('filter-a', 3_000_000);
  const dir = await closedUnit(t, 'saved', a);
  t.ok(existsSync(join(dir, FILTER_FILE)), 'closing wrote the filter');
  t.match(token(dir), /^[0-9a-f]{32}$/, 'and the index vouches for it');

  const logged: Logged[] = [];
  const store = await open(dir, logged);
  t.teardown(() => store.close());
  t.equal(filterLine(logged).message, 'fingerprint filter loaded');
  t.equal(token(dir), undefined, 'opening took the token back before any write');
  t.notOk(existsSync(join(dir, FILTER_FILE)), 'and removed the file');

  const same = await putAgain(store, 'a-again', a);
  t.ok(same.lookups > 50, `the same data was looked up (${same.lookups} chunks)`);
  t.equal(same.negatives, 0, 'and the loaded filter said "maybe" for every chunk it had seen');
  const fresh = await putAgain(store, 'b', pseudoRandomBytes('filter-b', 1_000_000));
  t.ok(fresh.negatives > 0, 'new data is "surely new" to it');
  t.ok((await collect((await store.get('a-again')).body)).equals(a));
  t.equal((await store.verify()).ok, true);
});

t.test('a unit written after its last open rebuilds the filter, even beside an old file', async (t) => {
  const dir = await closedUnit(t, 'crashed', pseudoRandomBytes('crash-a', 1_000_000));
  const oldFile = readFileSync(join(dir, FILTER_FILE));
  const oldToken = token(dir)!;

  // Opened and written, then copied as a crash would leave it: never closed.
  const b = pseudoRandomBytes('crash-b', 2_000_000);
  const second = await open(dir, []);
  t.teardown(() => second.close());
  await second.put('b', streamOf([b]));
  const crashed = freshSubdir(t, 'crashed-copy');
  cpSync(dir, crashed, { recursive: true });
  rmSync(join(crashed, 'LOCK'), { force: true });
  writeFileSync(join(crashed, FILTER_FILE), oldFile);

  const logged: Logged[] = [];
  const store = await open(crashed, logged);
  t.teardown(() => store.close());
  const line = filterLine(logged);
  t.equal(line.message, 'fingerprint filter rebuilt');
  t.match(String(line.fields.why), /not closed since/, `why: ${String(line.fields.why)}`);
  t.equal((await putAgain(store, 'b-again', b)).negatives, 0, 'the rebuilt filter knows what was written after the last open');
  await store.close();

  // A build that predates the token would not take it back (closing here saved a file and token of its own; both are replaced by the old ones): the count of chunks still tells.
  const db = new Database(join(crashed, 'index.db'));
  db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('fingerprint_filter', ?)").run(oldToken);
  db.close();
  writeFileSync(join(crashed, FILTER_FILE), oldFile);
  const again: Logged[] = [];
  const reopened = await open(crashed, again);
  t.teardown(() => reopened.close());
  t.match(String(filterLine(again).fields.why), /saved beside \d+ chunks, the index holds \d+/);
  t.equal((await putAgain(reopened, 'b-third', b)).negatives, 0);
});

t.test('a damaged or foreign filter file is not read', async (t) => {
  const cases: [string, (f: Buffer) => Buffer, RegExp][] = [
    ['a flipped bit in a layer', (f) => { f[f.length - 100]! ^= 0x10; return f; }, /layer 0's checksum/],
    ['a flipped bit in the header', (f) => { f[13]! ^= 0x01; return f; }, /header checksum/],
    ['cut short', (f) => f.subarray(0, f.length - 4096), /ends inside a layer/],
    ['another magic', (f) => { f.write('NOTBLOOM', 0, 'latin1'); return f; }, /not a filter file/],
    ['empty', () => Buffer.alloc(0), /not a filter file/],
  ];
  for (const [name, damage, why] of cases) {
    const data = pseudoRandomBytes(`damaged-${name}`, 600_000);
    const dir = await closedUnit(t, 'damaged', data);
    const path = join(dir, FILTER_FILE);
    writeFileSync(path, damage(readFileSync(path)));
    const logged: Logged[] = [];
    const store = await open(dir, logged);
    const line = filterLine(logged);
    t.equal(line.message, 'fingerprint filter rebuilt', name);
    t.match(String(line.fields.why), why, `${name}: ${String(line.fields.why)}`);
    t.equal((await putAgain(store, 'a-again', data)).negatives, 0, `${name}: the rebuilt filter knows the unit's chunks`);
    await store.close();
  }
});

t.test('an empty unit saves and loads its filter too', async (t) => {
  const dir = await closedUnit(t, 'empty');
  const logged: Logged[] = [];
  const store = await open(dir, logged);
  t.teardown(() => store.close());
  t.equal(filterLine(logged).message, 'fingerprint filter loaded');
  t.ok((await putAgain(store, 'new', pseudoRandomBytes('empty-new', 200_000))).negatives > 0);
});

t.test('a filter of several layers reads back bit for bit; too many layers, another token or a moving index are refused', async (t) => {
  const dir = freshSubdir(t, 'layers');
  const index = new IndexDb(join(dir, 'index.db'));
  t.teardown(() => index.close());
  const fps = Array.from({ length: 1024 + 2048 + 1000 }, (_, i) => createHash('sha256').update(`fp ${i}`).digest());
  const filter = new FingerprintFilter(1024);
  for (const fp of fps) filter.add(fp);
  t.equal(filter.saved().length, 3, 'three layers');
  const mark: IndexMark = { chunks: fps.length, containerHighWater: 7 };

  t.equal(await saveFilter(dir, index, filter, () => mark), true);
  const back = takeSavedFilter(dir, index, mark);
  if (!back.loaded) throw new Error(back.why);
  t.same(back.filter.saved().map((l) => [l.capacity, l.count]), filter.saved().map((l) => [l.capacity, l.count]), 'the same layers');
  t.ok(back.filter.saved().every((l, i) => Buffer.from(l.bits.buffer, l.bits.byteOffset, l.bits.byteLength).equals(Buffer.from(filter.saved()[i]!.bits.buffer))), 'bit for bit');
  t.ok(fps.every((fp) => back.filter.mightContain(fp)), 'every fingerprint, in every layer, is there');
  const others = Array.from({ length: 2000 }, (_, i) => createHash('sha256').update(`other ${i}`).digest());
  t.ok(others.filter((fp) => back.filter.mightContain(fp)).length < 100, 'and few others');

  await saveFilter(dir, index, filter, () => mark);
  index.setMeta('fingerprint_filter', 'ab'.repeat(16));
  const foreign = takeSavedFilter(dir, index, mark);
  t.match(foreign.loaded ? '' : foreign.why, /another token/);
  t.equal(index.getMeta('fingerprint_filter'), undefined, 'the token is taken back even so');

  const marks = [mark, { ...mark, chunks: mark.chunks + 1 }];
  t.equal(await saveFilter(dir, index, filter, () => marks.shift()!), false, 'an index that moved while the file was written gets no token');
  t.equal(index.getMeta('fingerprint_filter'), undefined);

  for (let i = 0; i < 4096 + 1; i++) filter.add(createHash('sha256').update(`more ${i}`).digest());
  const grown: IndexMark = { chunks: fps.length + 4097, containerHighWater: 7 };
  t.equal(await saveFilter(dir, index, filter, () => grown), true);
  const four = takeSavedFilter(dir, index, grown);
  t.match(four.loaded ? '' : four.why, /4 layers, to be made one/);
});

t.test('chunks written by a build that keeps no token are noticed even when the count is the same', async (t) => {
  const dir = await closedUnit(t, 'older-build', pseudoRandomBytes('older', 800_000));
  // What an older build could do with the token left in place: a new container, one chunk in, one collected.
  const db = new Database(join(dir, 'index.db'));
  db.prepare('INSERT INTO containers (state, bytes, records, created_ms, sealed_ms) VALUES (1, 0, 0, 0, 0)').run();
  const victim = db.prepare('SELECT fp, container, offset, stored_len, raw_len, kind, codec FROM chunks LIMIT 1').get() as Record<string, unknown>;
  db.prepare('DELETE FROM chunks WHERE fp = ?').run(victim.fp);
  db.prepare('INSERT INTO chunks (fp, container, offset, stored_len, raw_len, kind, codec) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    createHash('sha256').update('written by another build').digest(), victim.container, victim.offset, victim.stored_len, victim.raw_len, victim.kind, victim.codec,
  );
  db.close();
  const logged: Logged[] = [];
  const store = await open(dir, logged);
  t.teardown(() => store.close());
  t.match(String(filterLine(logged).fields.why), /saved when container \d+ was the newest, the index has made \d+/);
});

t.test('a unit closed for deletion saves no filter', async (t) => {
  const dir = freshSubdir(t, 'deleted');
  const first = await openTestStore(t, {}, dir);
  await first.store.put('a', streamOf([pseudoRandomBytes('deleted', 300_000)]));
  await Promise.all([first.store.close({ saveFilter: false }), first.store.close()]);
  t.notOk(existsSync(join(dir, FILTER_FILE)));
  t.equal(token(dir), undefined, 'and vouches for none; a second close waited for the first');
});
