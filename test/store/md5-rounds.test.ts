import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import t from 'tap';
import { STREAM_SHA256_RIDES } from '../../src/chunking/stream-sha256.js';
import { Md5Rounds } from '../../src/store/md5-rounds.js';
import { pseudoRandomBytes } from '../helpers/data.js';

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
const digestOf = (r: { value: unknown }): string => Buffer.from(r.value as Uint8Array).toString('hex');

// Updates larger than a round's slice (512 KiB) are hashed a slice a round, so
// streams whose updates arrive while another's is under way join it mid-update.
t.test('streams arriving mid-update, in pieces of any size, each digest as alone, their jobs in order', async (t) => {
  const rounds = new Md5Rounds();
  const sizes = [[1_300_000, 7], [700_001, 2_000_000], [64, 3_000_000, 65], [0, 524_288, 524_289]];
  const datas = sizes.map((pieces, i) => pseudoRandomBytes(`rounds-${i}`, pieces.reduce((a, b) => a + b, 0)));
  const order: string[][] = sizes.map(() => []);
  const finals: Promise<string>[] = [];
  const updates: Promise<unknown>[] = [];
  for (const [i, pieces] of sizes.entries()) {
    let at = 0;
    for (const [n, size] of pieces.entries()) {
      const data = datas[i]!.subarray(at, at + size);
      at += size;
      updates.push(rounds.queue({ stream: i, algorithm: 'md5', data, first: n === 0 }).then(() => order[i]!.push(`update ${n}`)));
    }
    finals.push(rounds.queue({ stream: i, algorithm: 'md5', final: true, first: false }).then((r) => (order[i]!.push('final'), digestOf(r))));
    // The next stream's jobs come a turn later, while this one's are being hashed.
    await nextTurn();
  }
  await Promise.all(updates);
  for (const [i, f] of finals.entries()) {
    t.equal(await f, md5(datas[i]!), `stream ${i}`);
    t.same(order[i], [...sizes[i]!.map((_, n) => `update ${n}`), 'final'], `stream ${i}'s jobs resolved in the order they came`);
  }
});

t.test('a stream begun again starts from nothing; one without state is refused, the others unharmed', async (t) => {
  const rounds = new Md5Rounds();
  const a = pseudoRandomBytes('again', 900_000);
  const stray = rounds.queue({ stream: 7, algorithm: 'md5', data: a.subarray(0, 10), first: false });
  const first = rounds.queue({ stream: 1, algorithm: 'md5', data: a.subarray(0, 600_000), first: true });
  // Begun again before its first update is done: the second start wins.
  const again = rounds.queue({ stream: 1, algorithm: 'md5', data: a.subarray(600_000), first: true });
  const final = rounds.queue({ stream: 1, algorithm: 'md5', final: true, first: false });
  await t.rejects(stray, /md5 state of stream 7 is lost/);
  await first;
  await again;
  t.equal(digestOf(await final), md5(a.subarray(600_000)));
  t.equal(digestOf(await rounds.queue({ stream: 2, algorithm: 'md5', final: true, first: true })), md5(Buffer.alloc(0)), 'an empty stream');
});

t.test('updates that carry chunk ends answer their fingerprints, whoever shares their rounds', async (t) => {
  // One to seven streams at once, some with chunk ends and some without: every pairing policy of a round
  // (alone, a pair, two pairs, three side by side, two pairs and one alone, seven side by side) and
  // every mix of riders and plain updates.
  const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
  for (const [streams, plain] of [[1, -1], [2, -1], [3, -1], [4, -1], [5, -1], [6, -1], [7, -1], [2, 1], [4, 0], [5, 2]] as const) {
    const rounds = new Md5Rounds();
    const datas = Array.from({ length: streams }, (_, i) => pseudoRandomBytes(`riders-${streams}-${i}`, 1_500_000 + i * 100_003));
    const pieces = datas.map((d) => [d.subarray(0, 700_000), d.subarray(700_000)]);
    const fps: Promise<{ value: unknown }>[][] = datas.map(() => []);
    const cutsOf = (piece: Uint8Array, i: number): Uint32Array =>
      Uint32Array.from({ length: Math.ceil(piece.length / (30_000 + i)) }, (_, k) => Math.min(piece.length, (k + 1) * (30_000 + i)));
    for (let p = 0; p < 2; p++) {
      for (let i = 0; i < streams; i++) {
        const data = pieces[i]![p]!;
        const cuts = i === plain ? undefined : cutsOf(data, i);
        fps[i]!.push(rounds.queue({ stream: i, algorithm: 'md5', data, first: p === 0, ...(cuts && { cuts }) }));
      }
    }
    const finals = datas.map((_, i) => rounds.queue({ stream: i, algorithm: 'md5', final: true, first: false }));
    for (let i = 0; i < streams; i++) {
      t.equal(digestOf(await finals[i]!), md5(datas[i]!), `${streams} streams: stream ${i}'s MD5`);
      for (let p = 0; p < 2; p++) {
        const got = (await fps[i]![p]!).value;
        if (i === plain) {
          t.equal(got, null, `${streams} streams: a plain update answers nothing`);
          continue;
        }
        const piece = pieces[i]![p]!;
        const cuts = cutsOf(piece, i);
        const want = [...cuts].map((end, k) => sha(piece.subarray(k === 0 ? 0 : cuts[k - 1], end))).join('');
        t.equal(Buffer.from(got as Uint8Array).toString('hex'), want, `${streams} streams: stream ${i}, piece ${p}'s fingerprints`);
      }
    }
  }
});

t.test('an update refused as it is queued leaves its stream able to go on', async (t) => {
  const rounds = new Md5Rounds();
  // Chunk ends past an empty update's data: its fingerprints are refused at once.
  await t.rejects(rounds.queue({ stream: 3, algorithm: 'md5', data: new Uint8Array(0), cuts: Uint32Array.of(10), first: true }), /ends rising within data/);
  const data = pseudoRandomBytes('after-refusal', 100_000);
  await rounds.queue({ stream: 3, algorithm: 'md5', data, first: true });
  t.equal(digestOf(await rounds.queue({ stream: 3, algorithm: 'md5', final: true, first: false })), md5(data));
});

t.test('streams signed by their SHA-256 have it ride along their MD5, however many share the rounds', { skip: !STREAM_SHA256_RIDES && 'no SHA-NI' }, async (t) => {
  // One to six streams: alone, a pair, three side by side (the SHA-256s hashed after the MD5s), two pairs, two pairs and one alone, three pairs.
  for (const streams of [1, 2, 3, 4, 5, 6]) {
    const rounds = new Md5Rounds();
    const datas = Array.from({ length: streams }, (_, i) => pseudoRandomBytes(`signed-${streams}-${i}`, 1_200_003 + i * 70_001));
    // Pieces that split 64-byte blocks every way; each stream's last ends short of a block.
    const edges = [0, 300_001, 300_064, 900_063, 900_127];
    const jobs: Promise<unknown>[] = [];
    for (const [p, from] of edges.entries()) {
      for (let i = 0; i < streams; i++) {
        const data = datas[i]!.subarray(from, edges[p + 1] ?? datas[i]!.length);
        jobs.push(rounds.queue({ stream: i, algorithm: 'md5', data, cuts: Uint32Array.of(data.length), first: p === 0, sha256: true }));
      }
    }
    const finals = datas.map((_, i) => rounds.queue({ stream: i, algorithm: 'md5', final: true, first: false, sha256: true }));
    await Promise.all(jobs);
    for (let i = 0; i < streams; i++) {
      const both = Buffer.from((await finals[i]!).value as Uint8Array);
      t.equal(both.subarray(0, 16).toString('hex'), md5(datas[i]!), `${streams} streams: stream ${i}'s MD5`);
      t.equal(both.subarray(16).toString('hex'), createHash('sha256').update(datas[i]!).digest('hex'), `${streams} streams: stream ${i}'s SHA-256`);
    }
  }
});

t.test('a stream whose SHA-256 is lost is forgotten: its later jobs are refused, not answered from half a digest', async (t) => {
  const rounds = new Md5Rounds();
  const data = pseudoRandomBytes('lost-sha', 200_000);
  await rounds.queue({ stream: 4, algorithm: 'md5', data: data.subarray(0, 100_000), cuts: Uint32Array.of(100_000), first: true });
  // The stream began without a SHA-256: a later update cannot ask for one.
  await t.rejects(rounds.queue({ stream: 4, algorithm: 'md5', data: data.subarray(100_000), cuts: Uint32Array.of(100_000), first: false, sha256: true }), /sha256 state of stream 4 is lost/);
  await t.rejects(rounds.queue({ stream: 4, algorithm: 'md5', final: true, first: false }), /md5 state of stream 4 is lost/);
});
