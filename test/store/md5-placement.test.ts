import t from 'tap';
import { Md5Placement } from '../../src/store/md5-placement.js';

t.test('streams are packed onto a worker up to its share, then onto the next; a final frees the place', async (t) => {
  const p = new Md5Placement(2, 3);
  t.same([1, 2, 3].map((s) => p.update(s, true)), [0, 0, 0], 'the first three share worker 0');
  t.equal(p.update(4, true), 1, 'the fourth goes to the next worker');
  t.equal(p.update(2, false), 0, 'a stream stays where its chain is');
  t.equal(p.update(5, true), 1, 'the fuller worker with room is chosen');
  t.equal(p.final(1), 0, 'a final goes where its chain is');
  t.same(p.openChains(), [2, 2]);
  t.equal(p.update(6, true), 0, 'worker 0 has room again and is as full as worker 1: the first of them');
  t.equal(p.update(7, true), 1);
  t.equal(p.update(8, true), 0, 'every worker full: the emptiest takes it');
  t.same(p.openChains(), [4, 3]);
  t.equal(p.update(4, true), p.update(4, false), 'a stream begun again is placed again, and stays there');
  t.same(p.openChains(), [4, 3], 'without counting its old chain');
  t.equal(p.final(99), 1, 'a final with nothing hashed goes to the emptiest worker, counting nothing');
  t.same(p.openChains(), [4, 3]);
  for (const s of [2, 3, 4, 5, 6, 7, 8]) p.final(s);
  t.same(p.openChains(), [0, 0]);
});

t.test('one worker takes every stream', async (t) => {
  const p = new Md5Placement(1, 2);
  t.same([1, 2, 3].map((s) => p.update(s, true)), [0, 0, 0]);
  t.same(p.openChains(), [3]);
});
