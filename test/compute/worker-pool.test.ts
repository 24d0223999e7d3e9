import t from 'tap';
import { WorkerPool } from '../../src/compute/worker-pool.js';

const script = new URL('../helpers/pool-worker.js', import.meta.url);

t.test('an unpinned job goes to the worker with the least work outstanding, not the fewest jobs', async (t) => {
  const pool = new WorkerPool(script, 2);
  t.teardown(() => pool.close());
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const [a, b] = await Promise.all([pool.run<number>('where', {}, [], 0), pool.run<number>('where', {}, [], 1)]);
  t.not(a, b, 'two threads');
  // Worker 0: one long job (a serial chain, say). Worker 1: two short ones.
  const held = [pool.run<number>('hold', { flag }, [], 0, 100), pool.run<number>('hold', { flag }, [], 1, 1), pool.run<number>('hold', { flag }, [], 1, 1)];
  const next = pool.run<number>('where', {}, [], undefined, 1);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  t.same(await Promise.all(held), [a, b, b]);
  t.equal(await next, b, 'behind the two short jobs, not the long one');
  // With every job answered, the loads are back to zero: the next goes to the first worker.
  t.equal(await pool.run<number>('where', {}, [], undefined, 5), a);
});

t.test('without costs, jobs count one each', async (t) => {
  const pool = new WorkerPool(script, 2);
  t.teardown(() => pool.close());
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const [a, b] = await Promise.all([pool.run<number>('where', {}, [], 0), pool.run<number>('where', {}, [], 1)]);
  const held = [pool.run<number>('hold', { flag }, [], 0), pool.run<number>('hold', { flag }, [], 1), pool.run<number>('hold', { flag }, [], 1)];
  const next = pool.run<number>('where', {});
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  await Promise.all(held);
  t.equal(await next, a, 'the worker with one job');
  t.not(a, b);
});
