import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { push } from '../../src/client/push.js';
import { collectFor } from '../helpers/collections.js';
import { pseudoRandomBytes, sha256 } from '../helpers/data.js';
import { moverConnection } from '../helpers/ingest.js';
import { bodyOf, startS3Server } from '../helpers/s3.js';

/*
 * The whole server at once: S3 PUTs and DELETEs, source-side pushes (ingest
 * sessions) and garbage collections with compaction, all concurrent, over
 * loopback. Every object leans on a pool of blocks that deleted objects used
 * too, so writers keep deduplicating against chunks the collections are
 * deciding about.
 */
t.test('concurrent S3 puts and deletes, pushes and collections lose nothing acknowledged and leave nothing unreachable', async (t) => {
  const s = await startS3Server(t);
  await s.server.units.create('loop', { containerSize: 256 * 1024, avgChunkSize: 4096 });
  const unit = s.server.units.unit('loop');
  const s3 = s.client();
  const conn = moverConnection(s.url, s.admin);

  const blocks = Array.from({ length: 16 }, (_, i) => pseudoRandomBytes(`loop-block-${i}`, 50_000));
  const make = (n: number): Buffer => Buffer.concat([...Array.from({ length: 5 }, (_, j) => blocks[(n * 3 + j * 7) % blocks.length]!), pseudoRandomBytes(`loop-own-${n}`, 150_000)]);
  const expected = new Map<string, string>();
  let seq = 0;
  let stop = false;
  const counts = { puts: 0, pushes: 0, deletes: 0 };

  const remember = async (key: string, sum: string): Promise<void> => {
    expected.set(key, sum);
    const n = seq;
    if (n % 3 === 0 && expected.size > 4) {
      const victim = [...expected.keys()][n % expected.size]!;
      expected.delete(victim);
      await s3.send(new DeleteObjectCommand({ Bucket: 'loop', Key: victim }));
      counts.deletes++;
    }
  };
  const s3Writer = async (): Promise<void> => {
    while (!stop) {
      const n = seq++;
      const data = make(n);
      await s3.send(new PutObjectCommand({ Bucket: 'loop', Key: `s3/${n}`, Body: data }));
      counts.puts++;
      await remember(`s3/${n}`, sha256(data));
    }
  };
  const pusher = async (): Promise<void> => {
    while (!stop) {
      const n = seq++;
      const data = make(n);
      await push(conn, [data.subarray(0, 200_000), data.subarray(200_000)], { unit: 'loop', key: `push/${n}` });
      counts.pushes++;
      await remember(`push/${n}`, sha256(data));
    }
  };
  const writers = [s3Writer(), s3Writer(), pusher()];

  const { collections, removed, rewritten } = await collectFor(8_000, (o) => unit.collectGarbage(o));
  stop = true;
  await Promise.all(writers);
  t.ok(collections >= 3, `${collections} collections beside ${counts.puts} S3 puts, ${counts.pushes} pushes and ${counts.deletes} deletes`);
  t.ok(removed + rewritten > 0, `${removed} containers removed and ${rewritten} compacted while writes went on`);

  let intact = 0;
  for (const [key, sum] of expected) {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'loop', Key: key }));
    if (sha256(await bodyOf(got.Body)) === sum) intact++;
    else t.fail(`${key} reads back different bytes`);
  }
  t.equal(intact, expected.size, `all ${expected.size} acknowledged objects read back through S3`);
  const v = await unit.store.verify();
  t.ok(v.ok, `verify is clean (${v.damagedObjects.length} damaged objects, ${v.badChunks.length} missing chunks)`);

  // Everything deleted and collected twice: the unit holds no chunk, and what is on disk is what the index knows.
  for (const key of expected.keys()) await s3.send(new DeleteObjectCommand({ Bucket: 'loop', Key: key }));
  for (let i = 0; i < 2; i++) await unit.collectGarbage({ compactBelow: 1 });
  const st = unit.store.stats();
  t.match(st, { objects: 0, dataChunks: 0, recipeChunks: 0 }, 'nothing unreachable survives');
  t.ok(st.containerBytes <= 256 * 1024 * 8, `${st.containerBytes} bytes left in ${st.containers} containers (those still open for writing)`);
});
