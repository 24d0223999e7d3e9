import t from 'tap';
import { SlotPool, type Slot, type SlotHolder } from '../../src/compute/batch-buffers.js';

/** Whether a promise has settled by the time pending callbacks have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

t.test('a waiting holder goes past the cap once its own slots come back to its floor', async (t) => {
  const pool = new SlotPool(2, 0);
  const a: SlotHolder = { out: 0 };
  const b: SlotHolder = { out: 0 };
  const a1 = await pool.take(16, 0, a, 1);
  await pool.take(16, 0, a, 1);
  await pool.take(16, 0, b, 1); // at the cap, but b holds nothing: it may go past
  t.equal(pool.slotsOut, 3);
  const aWaits = pool.take(16, 0, a, 1);
  const bWaits = pool.take(16, 0, b, 1); // b holds one: still within its floor
  t.equal(await settled(bWaits), true, 'within its floor, a holder does not wait');
  t.equal(await settled(aWaits), false, 'a holder past its floor waits on the cap');
  t.same([a.out, b.out], [2, 2]);

  // a's own slot comes back: the pool is still over its cap, but a is within its floor now.
  pool.give(a1, a);
  t.equal(await settled(aWaits), true, 'woken and let through by its own returned slot');
  t.same([a.out, b.out, pool.slotsOut], [2, 2, 4]);
});

t.test('a slot coming back wakes every waiter that may now go, not only the first', async (t) => {
  const pool = new SlotPool(1, 0);
  const holders = Array.from({ length: 3 }, () => ({ out: 0 }) as SlotHolder);
  const held: Slot[][] = [];
  for (const h of holders) held.push([await pool.take(8, 0, h, 0)]);
  // Each holds one, past its floor of none: all three wait.
  const waiting = holders.map((h) => pool.take(8, 0, h, 0));
  for (const w of waiting) t.equal(await settled(w), false);
  // The last holder gives back its slot: only it is within its floor again.
  pool.give(held[2]![0]!, holders[2]!);
  t.same(await Promise.all(waiting.map(settled)), [false, false, true], 'the holder that gave went on, though it waited last');
});
