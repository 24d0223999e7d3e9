import { createHash } from 'node:crypto';
import t from 'tap';
import { StoreCompute } from '../../src/store/store-compute.js';
import { pseudoRandomBytes } from '../helpers/data.js';

const hex = (algorithm: string, b: Uint8Array): string => createHash(algorithm).update(b).digest('hex');

// The MD5 jobs of streams in flight together run in one worker's vector lanes:
// each stream's updates must still apply in order, and only to that stream.
t.test('many streams, their digest updates interleaved, each get their own MD5 and SHA-256', async (t) => {
  const compute = StoreCompute.create(2);
  t.teardown(() => compute.pool.close());
  const streams = 9;
  const datas = Array.from({ length: streams }, (_, i) => pseudoRandomBytes(`digest-${i}`, 300_000 + 7_777 * i));
  const ids = datas.map(() => compute.newStream());
  const jobs: Promise<unknown>[] = [];
  const offsets = datas.map(() => 0);
  for (let round = 0; offsets.some((o, i) => o < datas[i]!.length); round++) {
    for (let i = 0; i < streams; i++) {
      const n = [1, 63, 64, 65, 4_099, 65_536][(round + i) % 6]!;
      const piece = datas[i]!.subarray(offsets[i]!, offsets[i]! + n);
      if (piece.length === 0) continue;
      const first = offsets[i] === 0;
      offsets[i]! += piece.length;
      for (const algorithm of ['md5', 'sha256'] as const) jobs.push(compute.digestUpdate(ids[i]!, algorithm, piece, first));
    }
  }
  const finals = ids.map((id) => Promise.all([compute.digestFinal(id, 'md5', false), compute.digestFinal(id, 'sha256', false)]));
  await Promise.all(jobs);
  for (const [i, f] of finals.entries()) {
    const [md5, sha256] = await f;
    t.equal(md5.toString('hex'), hex('md5', datas[i]!), `stream ${i} MD5`);
    t.equal(sha256.toString('hex'), hex('sha256', datas[i]!), `stream ${i} SHA-256`);
  }
  const empty = compute.newStream();
  t.equal((await compute.digestFinal(empty, 'md5', true)).toString('hex'), 'd41d8cd98f00b204e9800998ecf8427e', 'an empty stream');
});

t.test('batch-sized updates of streams in flight together, packed and hashed a slice at a time', async (t) => {
  const compute = StoreCompute.create(2);
  t.teardown(() => compute.pool.close());
  // Four parts' worth, as four batches each: larger than a round's slice, so their chains interleave mid-update.
  const datas = Array.from({ length: 5 }, (_, i) => pseudoRandomBytes(`batches-${i}`, 4 * 4_194_304 - 1_000 * i));
  const ids = datas.map(() => compute.newStream());
  const results = await Promise.all(
    datas.map(async (data, i) => {
      for (let at = 0; at < data.length; at += 4_194_304) await compute.digestUpdate(ids[i]!, 'md5', data.subarray(at, at + 4_194_304), at === 0);
      return compute.digestFinal(ids[i]!, 'md5', false);
    }),
  );
  for (const [i, r] of results.entries()) t.equal(r.toString('hex'), hex('md5', datas[i]!), `stream ${i}`);
});

t.test('a worker without a stream\'s state refuses to digest part of it', async (t) => {
  const compute = StoreCompute.create(2);
  t.teardown(() => compute.pool.close());
  const stream = compute.newStream();
  await t.rejects(compute.digestUpdate(stream, 'md5', Buffer.from('later bytes'), false), /md5 state of stream \d+ is lost/);
  await t.rejects(compute.digestFinal(stream, 'md5', false), /lost/);
  // Streams beside it are unaffected.
  const other = compute.newStream();
  await compute.digestUpdate(other, 'md5', Buffer.from('abc'), true);
  t.equal((await compute.digestFinal(other, 'md5', false)).toString('hex'), hex('md5', Buffer.from('abc')));
});
