import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import t from 'tap';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openRegistry } from '../helpers/registry.js';
import { testDir } from '../helpers/test-dir.js';

const setAside = (dir: string): string[] => readdirSync(join(dir, 'units')).filter((e) => e.startsWith('.deleted-'));

async function until(what: string, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('a deleted unit is set aside at once and its files removed while requests go on', async (t) => {
  const dir = testDir(t);
  const { units, db, warnings } = await openRegistry(t, dir);
  // Many container files: their removal takes many turns of the event loop, as a real unit's would.
  await units.create('big', { containerSize: 64 * 1024 });
  for (let i = 0; i < 40; i++) await units.unit('big').put(`o${i}`, streamOf([pseudoRandomBytes(`del-${i}`, 200_000)]));
  const files = readdirSync(join(dir, 'units', 'big', 'containers'), { recursive: true }).filter((f) => String(f).endsWith('.ctr')).length;
  t.ok(files > 100, `${files} container files`);
  await units.create('other');
  const kept = pseudoRandomBytes('other', 100_000);
  await units.unit('other').put('k', streamOf([kept]));

  let finished = false;
  const deleting = units.delete('big', { force: true }).finally(() => (finished = true));
  let turnsWhileRemoving = 0;
  let recreated = false;
  while (!finished) {
    await nextTurn();
    if (setAside(dir).length === 0) continue;
    turnsWhileRemoving++;
    if (!recreated && !db.unit('big')) {
      // The name is free once the directory is set aside and the row gone, and other units answer meanwhile.
      recreated = true;
      await units.create('big');
      t.ok((await collect((await units.unit('other').get('k')).body)).equals(kept), 'another unit reads while the files go');
    }
  }
  await deleting;
  t.ok(turnsWhileRemoving > 1, `the event loop turned ${turnsWhileRemoving} times while the files were removed`);
  t.ok(recreated, 'a unit of the same name was created during the removal');
  t.same(setAside(dir), [], 'nothing is left once the delete has answered');
  t.equal(units.unit('big').store.usage().objects, 0, 'the new unit starts empty');
  await units.unit('big').put('fresh', streamOf([Buffer.from('new unit')]));
  t.equal((await collect((await units.unit('big').get('fresh')).body)).toString(), 'new unit');
  t.same(warnings, []);
});

t.test('files a delete set aside but did not live to remove are removed at the next start', async (t) => {
  const dir = testDir(t);
  const leftover = join(dir, 'units', '.deleted-gone-1700000000000', 'containers');
  mkdirSync(leftover, { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(leftover, `${i}.ctr`), 'x');
  const { units, warnings } = await openRegistry(t, dir);
  t.same(units.names(), []);
  await until('the leftover is removed', () => setAside(dir).length === 0);
  t.notOk(existsSync(join(dir, 'units', '.deleted-gone-1700000000000')));
  t.same(warnings, []);
});

t.test('an interrupted delete is finished at start: the unit is gone and so are its files', async (t) => {
  const dir = testDir(t);
  {
    const { units, db } = await openRegistry(t, dir);
    await units.create('half-gone');
    await units.unit('half-gone').put('k', streamOf([pseudoRandomBytes('hg', 300_000)]));
    db.setState('half-gone', 'deleting');
    await units.close();
  }
  const { units, logged } = await openRegistry(t, dir);
  t.same(units.names(), []);
  t.ok(logged.includes('finished deleting storage unit'));
  t.notOk(existsSync(join(dir, 'units', 'half-gone')));
  await until('the set-aside files are removed', () => setAside(dir).length === 0);
  await units.create('half-gone');
  t.equal(units.unit('half-gone').store.usage().objects, 0, 'the name can be used again, for an empty unit');
});
