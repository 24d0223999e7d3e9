import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { QuotaExceededError } from '../../src/units/errors.js';
import { collect, piecesOf, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openRegistry } from '../helpers/registry.js';
import { testDir } from '../helpers/test-dir.js';

const registry = openRegistry;

t.test('the hard quota refuses the crossing write whole and keeps what came before', async (t) => {
  const { units, warnings } = await registry(t, testDir(t));
  await units.create('quota-unit', { quota: { soft: 1_000_000, hard: 1_500_000 } });
  const unit = units.unit('quota-unit');
  const first = pseudoRandomBytes('q1', 900_000);
  await unit.put('first', streamOf(piecesOf(first, 64 * 1024)));
  t.equal(unit.quotaState, 'ok');
  const second = pseudoRandomBytes('q2', 400_000);
  await unit.put('second', streamOf([second]));
  t.equal(unit.quotaState, 'soft-exceeded', 'past the soft quota: a warning, not a refusal');
  t.ok(warnings.some((w) => /soft-exceeded/.test(w)), 'and the log says so');

  const before = unit.store.stats();
  await t.rejects(unit.put('third', streamOf(piecesOf(pseudoRandomBytes('q3', 400_000), 64 * 1024))), QuotaExceededError, 'crossing the hard quota is refused');
  await t.rejects(unit.store.head('third'), { code: 'NoSuchKey' }, 'and nothing of it is stored');
  t.same(unit.store.stats().logicalBytes, before.logicalBytes);
  t.equal(unit.store.stats().dataChunks, before.dataChunks, 'no chunk joined the index');
  t.ok((await collect((await unit.get('first')).body)).equals(first), 'what was stored before is intact');
  t.ok((await collect((await unit.get('second')).body)).equals(second));

  // Replacing an object counts only the difference; a copy counts its full size.
  await unit.put('second', streamOf([pseudoRandomBytes('q2b', 500_000)]));
  await t.rejects(unit.copy('first', 'first-copy'), QuotaExceededError, 'a copy is held to the quota too');
  await unit.delete('first');
  await unit.copy('second', 'second-copy');
  t.equal(unit.store.stats().logicalBytes, 1_000_000);

  // Lifting the limit lets writes through.
  units.setQuota('quota-unit', { soft: null, hard: null });
  await unit.put('big', streamOf([pseudoRandomBytes('q4', 2_000_000)]));
  t.equal(unit.quotaState, 'ok');
  const accepted = 900_000 + 400_000 + 500_000 + 2_000_000;
  const refusedRead = unit.traffic.bytesIn - accepted;
  t.ok(refusedRead > 200_000 && refusedRead < 400_000, `bytes in are counted; the refused stream was cut off after ${refusedRead} of its 400000 bytes`);
});

t.test('units and quotas survive a restart; an interrupted delete is finished', async (t) => {
  const dir = testDir(t);
  {
    const { units, db } = await registry(t, dir);
    await units.create('keep-me', { quota: { soft: 10, hard: 20 } });
    await units.create('half-gone');
    await units.unit('keep-me').put('k', streamOf([Buffer.from('kept')]), {});
    db.setState('half-gone', 'deleting');
    await units.close();
  }
  const { units } = await registry(t, dir);
  t.same(units.names(), ['keep-me'], 'the unit marked deleting is gone');
  t.notOk(existsSync(join(dir, 'units', 'half-gone')), 'and so is its directory');
  t.same(units.info('keep-me').quota, { soft: 10, hard: 20 });
  t.equal((await collect((await units.unit('keep-me').get('k')).body)).toString(), 'kept');
});

t.test('a leftover directory is never adopted as a new unit', async (t) => {
  const dir = testDir(t);
  const { units } = await registry(t, dir);
  mkdirSync(join(dir, 'units', 'orphan'), { recursive: true });
  writeFileSync(join(dir, 'units', 'orphan', 'index.db'), '');
  await t.rejects(units.create('orphan'), { code: 'InvalidParameters', message: /exists on disk but is not registered/ });
});

t.test('writes check the quota from the counters, never by summing every container', async (t) => {
  const { units } = await registry(t, testDir(t));
  await units.create('counted', { quota: { soft: 1_500_000, hard: 2_000_000 } });
  const unit = units.unit('counted');
  const store = unit.store;
  // stats() scans the containers table, which grows with the unit: a request that called it
  // would slow down as the unit fills (7 ms a PUT at 250,000 containers before usage()).
  const stats = store.stats.bind(store);
  store.stats = () => {
    throw new Error('stats() on a request path');
  };
  t.teardown(() => {
    store.stats = stats;
  });

  await unit.put('a', streamOf([pseudoRandomBytes('u1', 800_000)]));
  const upload = store.createUpload('parts');
  const { etag } = await unit.putPart(upload.uploadId, 1, streamOf([pseudoRandomBytes('u2', 500_000)]));
  await unit.copy('a', 'a-copy');
  await t.rejects(unit.completeUpload(upload.uploadId, [{ partNumber: 1, etag }]), QuotaExceededError, 'the completion is held to the quota');
  await unit.delete('a-copy');
  await unit.completeUpload(upload.uploadId, [{ partNumber: 1, etag }]);
  t.equal(unit.quotaState, 'ok');
  await unit.put('b', streamOf([pseudoRandomBytes('u3', 300_000)]));
  t.equal(unit.quotaState, 'soft-exceeded');
  await t.rejects(unit.put('c', streamOf([pseudoRandomBytes('u4', 500_000)])), QuotaExceededError);

  store.stats = stats;
  const s = store.stats();
  t.same(store.usage(), { logicalBytes: s.logicalBytes, uniqueBytes: s.uniqueBytes, objects: s.objects }, 'usage() agrees with stats()');
  t.same([s.logicalBytes, s.objects], [1_600_000, 3]);
});
