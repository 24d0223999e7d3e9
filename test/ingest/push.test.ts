import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { MoverError } from '../../src/client/connection.js';
import { pull } from '../../src/client/pull.js';
import { push } from '../../src/client/push.js';
import { collect, pseudoRandomBytes, randomSplits, sha256, textBytes } from '../helpers/data.js';
import { moverConnection } from '../helpers/ingest.js';
import { bodyOf, startS3Server } from '../helpers/s3.js';

/** Backup-like data: text and random runs, so chunks both compress and do not. */
function backupData(seed: string, bytes: number): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0, i = 0; o < bytes; i++) {
    const n = Math.min(bytes - o, 300_000 + ((i * 7919) % 200_000));
    parts.push(i % 2 === 0 ? textBytes(`${seed}-${i}`, n) : pseudoRandomBytes(`${seed}-${i}`, n));
    o += n;
  }
  return Buffer.concat(parts);
}

t.test('a pushed object is an ordinary object: S3 GET, HEAD, LIST, COPY and DELETE see it', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('movers');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const data = backupData('ordinary', 6_000_000);

  // Pieces of every size: the chunk boundaries must not depend on them.
  const r = await push(conn, randomSplits(data, 1, 200_000), {
    unit: 'movers',
    key: 'ns1/pvc-a.img',
    contentType: 'application/octet-stream',
    userMetadata: { 'velero-backup': 'daily-1' },
  });
  t.equal(r.size, data.length);
  t.equal(r.newChunks, r.chunks, 'a first push sends every chunk');
  t.match(r.etag, /^"[0-9a-f]{64}"$/, 'the ETag is the hex fingerprint of the recipe root, quoted');
  t.ok(r.chunkBytesSent < data.length, 'chunks travel compressed');

  const s3 = s.client();
  const got = await s3.send(new GetObjectCommand({ Bucket: 'movers', Key: 'ns1/pvc-a.img' }));
  t.equal(sha256(await bodyOf(got.Body)), sha256(data), 'S3 GET returns the pushed bytes');
  t.equal(got.ETag, r.etag);
  t.equal(got.ContentType, 'application/octet-stream');
  t.same(got.Metadata, { 'velero-backup': 'daily-1' });
  const ranged = await s3.send(new GetObjectCommand({ Bucket: 'movers', Key: 'ns1/pvc-a.img', Range: 'bytes=1000000-1999999' }));
  t.ok((await bodyOf(ranged.Body)).equals(data.subarray(1_000_000, 2_000_000)), 'ranged reads work');
  const head = await s3.send(new HeadObjectCommand({ Bucket: 'movers', Key: 'ns1/pvc-a.img' }));
  t.equal(head.ContentLength, data.length);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'movers', Prefix: 'ns1/' }));
  t.same(listed.Contents?.map((c) => [c.Key, c.Size, c.ETag]), [['ns1/pvc-a.img', data.length, r.etag]]);
  await s3.send(new CopyObjectCommand({ Bucket: 'movers', Key: 'ns1/copy.img', CopySource: 'movers/ns1/pvc-a.img' }));
  const copy = await s3.send(new GetObjectCommand({ Bucket: 'movers', Key: 'ns1/copy.img' }));
  t.equal(sha256(await bodyOf(copy.Body)), sha256(data), 'a copy of a pushed object reads the same');
  await s3.send(new DeleteObjectCommand({ Bucket: 'movers', Key: 'ns1/pvc-a.img' }));
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket: 'movers', Key: 'ns1/pvc-a.img' })), 'deleted like any object');

  // The mover's own pull is a plain S3 GET, ranged or whole.
  const back = await pull(conn, { unit: 'movers', key: 'ns1/copy.img', range: { start: 5, end: 105 } });
  t.ok((await collect(back.body)).equals(data.subarray(5, 105)));
  t.equal(back.size, data.length);
});

t.test('identical content pushed twice has the same ETag; the second push sends no chunk', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('movers');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const data = backupData('twice', 3_000_000);
  const first = await push(conn, [data], { unit: 'movers', key: 'a' });
  const second = await push(conn, randomSplits(data, 9, 70_000), { unit: 'movers', key: 'b' });
  t.equal(second.etag, first.etag);
  t.equal(second.newChunks, 0);
  t.equal(second.chunkBytesSent, 0);
  t.ok(second.wire.sent < data.length * 0.01, `the second push put ${second.wire.sent} bytes on the wire for ${data.length}`);
});

t.test('data already stored through S3 is not sent again: S3 and the mover dedup against each other', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('movers');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const gen1 = backupData('cross', 8_000_000);
  await s.client().send(new PutObjectCommand({ Bucket: 'movers', Key: 'gen1.tar', Body: gen1 }));
  // The next generation: the same data with an edit near the start and a tail appended.
  const gen2 = Buffer.concat([gen1.subarray(0, 100_000), Buffer.from('an edit'), gen1.subarray(100_000), textBytes('tail', 200_000)]);
  const r = await push(conn, [gen2], { unit: 'movers', key: 'gen2.tar' });
  t.ok(r.newBytes < 0.1 * gen2.length, `only the edited chunks and the tail are new: ${r.newBytes} of ${gen2.length} bytes`);
  t.ok(r.wire.sent < 0.05 * gen2.length, `${r.wire.sent} bytes on the wire for ${gen2.length} logical`);
  const got = await s.client().send(new GetObjectCommand({ Bucket: 'movers', Key: 'gen2.tar' }));
  t.equal(sha256(await bodyOf(got.Body)), sha256(gen2));

  // And the other way: S3 PUT of pushed data stores no new chunk.
  const before = s.server.units.unit('movers').store.stats();
  await s.client().send(new PutObjectCommand({ Bucket: 'movers', Key: 'gen2-again.tar', Body: gen2 }));
  const after = s.server.units.unit('movers').store.stats();
  t.equal(after.dataChunks, before.dataChunks, 'an S3 PUT of pushed data adds no data chunk');
});

t.test('an empty source becomes an empty object with the MD5 of nothing as its ETag', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('movers');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const r = await push(conn, [], { unit: 'movers', key: 'empty' });
  t.equal(r.size, 0);
  t.equal(r.etag, '"d41d8cd98f00b204e9800998ecf8427e"');
  const got = await s.client().send(new GetObjectCommand({ Bucket: 'movers', Key: 'empty' }));
  t.equal((await bodyOf(got.Body)).length, 0);
});

t.test('an interrupted push leaves no object, and run again sends only what did not arrive', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('movers');
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const data = pseudoRandomBytes('interrupted', 24_000_000);
  const stop = new AbortController();
  let newChunksAtStop = 0;
  await t.rejects(
    push(conn, randomSplits(data, 3, 1 << 20), {
      unit: 'movers',
      key: 'big.img',
      signal: stop.signal,
      batchBytes: 1 << 20,
      onProgress: (p) => {
        if (p.newChunks > 200 && !stop.signal.aborted) {
          newChunksAtStop = p.newChunks;
          stop.abort(new Error('operator pressed ^C'));
        }
      },
    }),
    /\^C/,
  );
  t.ok(newChunksAtStop > 0, 'the push was stopped part-way');
  await t.rejects(s.client().send(new HeadObjectCommand({ Bucket: 'movers', Key: 'big.img' })), 'no object appears');
  const stored = s.server.units.unit('movers').store.stats().dataChunks;
  t.ok(stored > 0, `${stored} chunks arrived before the stop and were kept`);

  const again = await push(conn, [data], { unit: 'movers', key: 'big.img' });
  t.ok(again.newChunks <= again.chunks - stored, `the rerun sent ${again.newChunks} of ${again.chunks} chunks; ${stored} were there`);
  const got = await s.client().send(new GetObjectCommand({ Bucket: 'movers', Key: 'big.img' }));
  t.equal(sha256(await bodyOf(got.Body)), sha256(data));
});

t.test('the mover reports refusals with the problem code', async (t) => {
  const s = await startS3Server(t);
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const err = await push(conn, [Buffer.from('x')], { unit: 'nowhere', key: 'k' }).catch((e: unknown) => e);
  t.ok(err instanceof MoverError);
  t.equal((err as MoverError).status, 404);
  t.equal((err as MoverError).code, 'no-such-unit');
});

t.test('units with the largest and the smallest chunks: frames are split to the limits the unit announces', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('big-chunks', { avgChunkSize: 4 * 1024 * 1024 });
  await s.server.units.create('tiny-chunks', { avgChunkSize: 1024 });
  const conn = moverConnection(s.url, s.admin);
  t.teardown(() => conn.close());
  const s3 = s.client();

  // Random data: chunks up to 16 MiB that do not compress, so one per frame at most.
  const big = pseudoRandomBytes('big-chunks', 40_000_000);
  const r1 = await push(conn, [big], { unit: 'big-chunks', key: 'disk.img' });
  t.equal(r1.size, big.length);
  t.ok(r1.chunks >= 2, `${r1.chunks} chunks`);
  const got1 = await s3.send(new GetObjectCommand({ Bucket: 'big-chunks', Key: 'disk.img' }));
  t.equal(sha256(await bodyOf(got1.Body)), sha256(big), 'the big-chunk object reads back');

  // 16 MiB batches of 1 KiB-average chunks: about 14,000 chunks a batch, past the 8192 a frame may carry.
  const tiny = pseudoRandomBytes('tiny-chunks', 20_000_000);
  const r2 = await push(conn, [tiny], { unit: 'tiny-chunks', key: 'disk.img', batchBytes: 16 * 1024 * 1024 });
  t.equal(r2.newChunks, r2.chunks);
  const got2 = await s3.send(new GetObjectCommand({ Bucket: 'tiny-chunks', Key: 'disk.img' }));
  t.equal(sha256(await bodyOf(got2.Body)), sha256(tiny), 'the tiny-chunk object reads back');
});
