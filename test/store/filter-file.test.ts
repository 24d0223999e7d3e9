import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import t from 'tap';
import { FILTER_FILE } from '../../src/store/filter-file.js';
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

t.test('a unit closed cleanly opens with its saved filter, which still knows every chunk', async (t) => {
  const dir = freshSubdir(t, 'saved');
  const a = pseudoRandomBytes('filter-a', 3_000_000);
  const first = await openTestStore(t, {}, dir);
  await first.store.put('a', streamOf([a]));
  await first.store.close();
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
  const dir = freshSubdir(t, 'crashed');
  const first = await openTestStore(t, {}, dir);
  await first.store.put('a', streamOf([pseudoRandomBytes('crash-a', 1_000_000)]));
  await first.store.close();
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
    const dir = freshSubdir(t, 'damaged');
    const data = pseudoRandomBytes(`damaged-${name}`, 600_000);
    const first = await openTestStore(t, {}, dir);
    await first.store.put('a', streamOf([data]));
    await first.store.close();
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
  const dir = freshSubdir(t, 'empty');
  const first = await openTestStore(t, {}, dir);
  await first.store.close();
  const logged: Logged[] = [];
  const store = await open(dir, logged);
  t.teardown(() => store.close());
  t.equal(filterLine(logged).message, 'fingerprint filter loaded');
  t.ok((await putAgain(store, 'new', pseudoRandomBytes('empty-new', 200_000))).negatives > 0);
});
