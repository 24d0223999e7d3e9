import t from 'tap';
import { successor } from '../../src/store/listing.js';
import type { ChunkStore } from '../../src/store/store.js';
import { streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

async function putAll(store: ChunkStore, keys: string[]): Promise<void> {
  for (const k of keys) await store.put(k, streamOf([Buffer.from(k)]));
}

const utf8Sort = (keys: string[]): string[] => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

t.test('keys list in UTF-8 byte order, not UTF-16 order', async (t) => {
  const { store } = await openTestStore(t);
  const keys = ['z', 'a', '\u{E000}', '\u{1F600}', 'é', 'A', 'a/b', 'a0'];
  await putAll(store, keys);
  const listed = store.list().objects.map((o) => o.key);
  t.same(listed, utf8Sort(keys));
  t.ok(listed.indexOf('\u{E000}') < listed.indexOf('\u{1F600}'), 'U+E000 before U+1F600, as their UTF-8 bytes sort');
});

t.test('prefix, delimiter and common prefixes', async (t) => {
  const { store } = await openTestStore(t);
  await putAll(store, [
    'backups/b1/velero-backup.json',
    'backups/b1/b1.tar.gz',
    'backups/b2/velero-backup.json',
    'backups/readme',
    'kopia/ns1/p0001',
    'kopia/ns1/p0002',
    'kopia/ns2/q0001',
    'restores/r1/log.gz',
    'top',
  ]);
  const root = store.list({ delimiter: '/' });
  t.same(root.commonPrefixes, ['backups/', 'kopia/', 'restores/']);
  t.same(root.objects.map((o) => o.key), ['top']);
  const backups = store.list({ prefix: 'backups/', delimiter: '/' });
  t.same(backups.commonPrefixes, ['backups/b1/', 'backups/b2/']);
  t.same(backups.objects.map((o) => o.key), ['backups/readme']);
  t.same(store.list({ prefix: 'kopia/ns1/' }).objects.map((o) => o.key), ['kopia/ns1/p0001', 'kopia/ns1/p0002']);
  t.same(store.list({ prefix: 'kopia/ns', delimiter: '/' }).commonPrefixes, ['kopia/ns1/', 'kopia/ns2/']);
  t.same(store.list({ prefix: 'nothing/' }).objects, []);
  t.same(store.list({ delimiter: '.json' , prefix: 'backups/' }).commonPrefixes, ['backups/b1/velero-backup.json', 'backups/b2/velero-backup.json']);
});

t.test('pages with limit and startAfter cover everything exactly once', async (t) => {
  const { store } = await openTestStore(t);
  const keys: string[] = [];
  for (let d = 0; d < 7; d++) for (let f = 0; f < 9; f++) keys.push(`dir${d}/file${f}`);
  keys.push('alone', 'zed');
  await putAll(store, keys);
  for (const delimiter of [undefined, '/']) {
    for (const limit of [1, 2, 5, 1000]) {
      const seen: string[] = [];
      let startAfter: string | undefined;
      let pages = 0;
      for (;;) {
        const page = store.list({ limit, startAfter, delimiter });
        t.ok(page.objects.length + page.commonPrefixes.length <= limit);
        seen.push(...page.objects.map((o) => o.key), ...page.commonPrefixes);
        pages++;
        if (!page.isTruncated) break;
        t.ok(page.nextStartAfter, 'a truncated page says where to go on');
        startAfter = page.nextStartAfter;
      }
      const expected = delimiter ? ['alone', ...Array.from({ length: 7 }, (_, d) => `dir${d}/`), 'zed'] : utf8Sort(keys);
      t.same(utf8Sort(seen), expected, `delimiter ${delimiter ?? 'none'}, limit ${limit}: ${pages} pages`);
      t.equal(new Set(seen).size, seen.length, 'no entry twice');
    }
  }
  t.same(store.list({ startAfter: 'dir3/file8' }).objects[0]?.key, 'dir4/file0');
  t.same(store.list({ startAfter: 'dir3/', delimiter: '/' }).commonPrefixes[0], 'dir4/', 'a prefix given as startAfter is not repeated');
  const zero = store.list({ limit: 0 });
  t.equal(zero.objects.length, 0);
  t.equal(zero.isTruncated, false, 'a zero limit gives an empty page that is not truncated (a client could not go on from it)');
});

t.test('successor', async (t) => {
  t.same(successor(Buffer.from('ab')), Buffer.from('ac'));
  t.same(successor(Buffer.from([0x61, 0xff])), Buffer.from('b'));
  t.equal(successor(Buffer.from([0xff, 0xff])), null);
  t.equal(successor(Buffer.alloc(0)), null);
});
