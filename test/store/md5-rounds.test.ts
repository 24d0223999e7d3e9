import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import t from 'tap';
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
