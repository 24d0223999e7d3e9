import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  EntityTooLargeError,
  InvalidKeyError,
  InvalidRangeError,
  NoSuchKeyError,
  PreconditionFailedError,
} from '../../src/store/errors.js';
import { ChunkStore } from '../../src/store/store.js';
import { collect, piecesOf, pseudoRandomBytes, streamOf, textBytes } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';
import { createHash } from 'node:crypto';
import { testDir } from '../helpers/test-dir.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

t.test('put, head, get and delete round-trip bytes and metadata', async (t) => {
  const { store } = await openTestStore(t);
  const data = Buffer.concat([pseudoRandomBytes('obj', 700_000), textBytes('obj', 300_000)]);
  const info = await store.put('backups/one/data.bin', streamOf(piecesOf(data, 65536)), {
    contentType: 'application/octet-stream',
    userMetadata: { owner: 'velero', note: 'ünïcode' },
    systemMetadata: { 'content-encoding': 'gzip' },
  });
  t.equal(info.size, data.length);
  t.equal(info.etag, md5(data), 'ETag is the MD5 of the content');
  const head = await store.head('backups/one/data.bin');
  t.same(head.userMetadata, { owner: 'velero', note: 'ünïcode' });
  t.same(head.systemMetadata, { 'content-encoding': 'gzip' });
  t.equal(head.contentType, 'application/octet-stream');
  t.ok(head.chunkCount > 100, 'cut into many chunks');
  const got = await store.get('backups/one/data.bin');
  t.ok((await collect(got.body)).equals(data), 'bytes come back identical');
  t.equal(await store.delete('backups/one/data.bin'), true);
  t.equal(await store.delete('backups/one/data.bin'), false, 'a second delete finds nothing');
  await t.rejects(store.head('backups/one/data.bin'), NoSuchKeyError);
  await t.rejects(store.get('backups/one/data.bin'), NoSuchKeyError);
});

t.test('empty and one-byte objects', async (t) => {
  const { store } = await openTestStore(t);
  const empty = await store.put('empty', streamOf([]));
  t.equal(empty.size, 0);
  t.equal(empty.etag, 'd41d8cd98f00b204e9800998ecf8427e');
  t.equal((await collect((await store.get('empty')).body)).length, 0);
  await t.rejects(store.get('empty', { start: 0 }), InvalidRangeError, 'no range of an empty object exists');
  await store.put('one', streamOf([Buffer.from('x')]));
  t.equal((await collect((await store.get('one')).body)).toString(), 'x');
  t.equal((await collect((await store.get('one', { start: 0, end: 1 })).body)).toString(), 'x');
});

t.test('byte ranges', async (t) => {
  const { store } = await openTestStore(t);
  const data = pseudoRandomBytes('ranges', 2_000_000);
  await store.put('r', streamOf(piecesOf(data, 100_000)));
  const cases: [number, number | undefined][] = [
    [0, 1],
    [0, 4096],
    [1, 2],
    [4095, 4097],
    [123_456, 1_234_567],
    [1_999_999, undefined],
    [1_000_000, 5_000_000],
    [0, undefined],
  ];
  for (const [start, end] of cases) {
    const r = await store.get('r', { start, end });
    const expected = data.subarray(start, end === undefined ? undefined : Math.min(end, data.length));
    t.ok((await collect(r.body)).equals(expected), `[${start}, ${end ?? 'end'})`);
    t.equal(r.end - r.start, expected.length);
  }
  await t.rejects(store.get('r', { start: 2_000_000 }), InvalidRangeError, 'start at the end');
  await t.rejects(store.get('r', { start: 5, end: 5 }), InvalidRangeError, 'empty range');
  await t.rejects(store.get('r', { start: -1 }), InvalidRangeError, 'negative start');
});

t.test('keys are opaque strings of 1 to 1024 UTF-8 bytes, never file names', async (t) => {
  const { store, dir } = await openTestStore(t);
  const odd = ['../../etc/passwd', 'a\u0000b', '/leading/slash', 'spaces and\ttabs', '日本語/キー', 'é'.repeat(512)];
  for (const key of odd) await store.put(key, streamOf([Buffer.from(key)]));
  for (const key of odd) t.equal((await collect((await store.get(key)).body)).toString(), key, JSON.stringify(key).slice(0, 40));
  t.notOk(existsSync(join(dir, '..', '..', 'etc')), 'no path was made from a key');
  t.same(readdirSync(dir).sort(), ['LOCK', 'containers', 'index.db', 'index.db-shm', 'index.db-wal'], 'only the store files exist');
  await t.rejects(store.put('k'.repeat(1025), streamOf([])), InvalidKeyError, '1025 bytes');
  await t.rejects(store.put('é'.repeat(513), streamOf([])), InvalidKeyError, '1026 bytes of two-byte characters');
  await t.rejects(store.put('', streamOf([])), InvalidKeyError, 'empty key');
  await t.rejects(store.put('bad\ud800', streamOf([])), InvalidKeyError, 'lone surrogate');
});

t.test('a stream that fails half-way leaves no object and no index change', async (t) => {
  const { store } = await openTestStore(t);
  await store.put('existing', streamOf([pseudoRandomBytes('keep', 300_000)]));
  const before = store.stats();
  async function* failing(): AsyncGenerator<Buffer> {
    yield pseudoRandomBytes('fail-a', 900_000);
    yield pseudoRandomBytes('fail-b', 900_000);
    throw new Error('client went away');
  }
  await t.rejects(store.put('broken', failing()), /client went away/);
  await t.rejects(store.head('broken'), NoSuchKeyError);
  const after = store.stats();
  t.same({ ...after, containerBytes: 0, containers: 0 }, { ...before, containerBytes: 0, containers: 0 }, 'counters unchanged');
  t.equal((await store.verify()).ok, true);
  // The chunks it wrote are not indexed: storing the same data again writes them again.
  await store.put('retry', streamOf([pseudoRandomBytes('fail-a', 900_000)]));
  t.ok(store.stats().uniqueBytes >= before.uniqueBytes + 900_000 - 8192, 'the failed stream left nothing to dedup against');
});

t.test('refusals before the commit store nothing', async (t) => {
  const { store } = await openTestStore(t);
  await store.put('a', streamOf([Buffer.from('first')]));
  const before = store.stats();
  await t.rejects(store.put('a', streamOf([Buffer.from('second')]), { onlyIfAbsent: true }), PreconditionFailedError);
  t.equal((await collect((await store.get('a')).body)).toString(), 'first');
  await t.rejects(
    store.put('digest', streamOf([pseudoRandomBytes('d', 100_000)]), {
      beforeCommit: ({ md5: digest }) => {
        if (digest.toString('hex') !== 'nope') throw new Error('BadDigest');
      },
    }),
    /BadDigest/,
  );
  await t.rejects(store.put('big', streamOf(piecesOf(pseudoRandomBytes('big', 300_000), 50_000)), { sizeLimit: 200_000 }), EntityTooLargeError);
  await t.rejects(
    store.put('quota', streamOf([pseudoRandomBytes('q', 100_000)]), {
      admit: ({ addedBytes, logicalBytes }) => {
        if (logicalBytes + addedBytes > 50_000) throw new Error('QuotaExceeded');
      },
    }),
    /QuotaExceeded/,
  );
  for (const key of ['digest', 'big', 'quota']) await t.rejects(store.head(key), NoSuchKeyError, `${key} was not stored`);
  const after = store.stats();
  t.equal(after.logicalBytes, before.logicalBytes);
  t.equal(after.dataChunks, before.dataChunks, 'no chunk joined the index');
});

t.test('duplicate data is stored once; overwrite and copy adjust logical bytes only', async (t) => {
  const { store } = await openTestStore(t);
  const data = Buffer.concat([pseudoRandomBytes('dedup', 1_500_000), textBytes('dedup', 500_000)]);
  await store.put('gen1', streamOf(piecesOf(data, 77_777)));
  const s1 = store.stats();
  await store.put('gen2', streamOf(piecesOf(data, 1 << 20)));
  const s2 = store.stats();
  t.equal(s2.logicalBytes, 2 * data.length);
  t.equal(s2.uniqueBytes, s1.uniqueBytes, 'no new data chunk');
  t.equal(s2.recipeChunks, s1.recipeChunks, 'the recipe deduplicates too');
  t.ok(s2.dedupFactor > 1.99, `dedup factor ${s2.dedupFactor.toFixed(2)}`);
  t.ok(s2.compressionFactor > 1.1, `compression factor ${s2.compressionFactor.toFixed(2)}`);

  const copied = await store.copy('gen1', 'copy', { replaceMetadata: { userMetadata: { copied: 'yes' } } });
  const s3 = store.stats();
  t.equal(copied.etag, (await store.head('gen1')).etag);
  t.same(copied.userMetadata, { copied: 'yes' });
  t.equal(s3.storedBytes, s2.storedBytes, 'copy wrote no chunk or recipe node');
  t.equal(s3.dataChunks, s2.dataChunks);
  t.equal(s3.logicalBytes, 3 * data.length);
  t.ok((await collect((await store.get('copy')).body)).equals(data));
  await t.rejects(store.copy('missing', 'x'), NoSuchKeyError);

  await store.put('gen1', streamOf([Buffer.from('small now')]));
  t.equal(store.stats().logicalBytes, 2 * data.length + 9, 'overwrite replaces the old size');
  t.equal(store.stats().objects, 3);
});

t.test('concurrent streams of overlapping data all read back', async (t) => {
  const { store } = await openTestStore(t);
  const base = pseudoRandomBytes('concurrent', 1_200_000);
  const variants = Array.from({ length: 6 }, (_, i) =>
    Buffer.concat([base.subarray(0, 400_000 + i * 1000), pseudoRandomBytes(`v${i}`, 50_000), base.subarray(400_000 + i * 1000)]),
  );
  await Promise.all(variants.map((v, i) => store.put(`v${i}`, streamOf(piecesOf(v, 10_000 + i * 3000)))));
  for (const [i, v] of variants.entries()) t.ok((await collect((await store.get(`v${i}`)).body)).equals(v), `v${i}`);
  const stats = store.stats();
  t.ok(stats.uniqueBytes < 1_200_000 * 2.2 + 6 * 50_000, `shared data mostly stored once (${stats.uniqueBytes} unique bytes)`);
  t.equal((await store.verify()).ok, true);
});

t.test('a unit reopens with its objects and parameters, and refuses a second opener', async (t) => {
  const dir = testDir(t);
  const data = pseudoRandomBytes('reopen', 600_000);
  const first = await openTestStore(t, {}, dir);
  await first.store.put('persisted', streamOf([data]));
  await t.rejects(ChunkStore.open(dir), /in use/);
  const params = first.store.parameters;
  await first.store.close();
  const again = await ChunkStore.open(dir, { create: { containerSize: 1 << 20 } });
  t.teardown(() => again.close());
  t.same(again.parameters, params, 'parameters are the unit’s, not the opener’s');
  t.ok((await collect((await again.get('persisted')).body)).equals(data));
  t.equal(again.stats().objects, 1);
});
