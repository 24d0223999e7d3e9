import t from 'tap';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

t.test('verify walks every object a page at a time while writes go on', async (t) => {
  const { store } = await openTestStore(t);
  // Objects with recipes of their own, so that the walk waits on reads between them; more than a page of them.
  const before = 1200;
  for (let i = 0; i < before; i++) await store.put(`o${String(i).padStart(4, '0')}`, streamOf([pseudoRandomBytes(`vc-${i}`, 3000)]));

  let done = false;
  const verifying = store.verify().finally(() => (done = true));
  // A cursor held across the walk's awaits made every one of these fail: "This database connection is busy executing a query".
  const written = new Map<string, Buffer>();
  const failures: string[] = [];
  for (let i = 0; !done || i < 5; i++) {
    const data = pseudoRandomBytes(`during-${i}`, 200_000);
    try {
      await store.put(`during-${i}`, streamOf([data]));
      written.set(`during-${i}`, data);
    } catch (err) {
      failures.push((err as Error).message);
    }
    if (i === 2) await store.delete('o0007');
  }
  const report = await verifying;
  t.same(failures, [], 'no write failed while verify ran');
  t.ok(written.size >= 5);
  t.ok(report.ok, 'and verify found nothing wrong');
  t.same(report.damagedObjects, []);
  t.ok(report.objectsChecked >= before - 1 && report.objectsChecked <= before + written.size, `every object was checked (${report.objectsChecked})`);
  for (const [key, data] of written) t.ok((await collect((await store.get(key)).body)).equals(data), `${key} reads back`);
});
