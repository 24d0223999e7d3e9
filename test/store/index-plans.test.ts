import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import t from 'tap';
import { IndexDb } from '../../src/store/index-db.js';
import { testDir } from '../helpers/test-dir.js';

/*
 * A request must cost the same in a unit of a million objects as in an empty
 * one: every statement the index prepares is asked for SQLite's plan, and one
 * that walks a whole table must be named here with the reason it may. A
 * ListMultipartUploads once scanned every upload before its prefix (an OR the
 * planner could not turn into a range); a PUT summed every container.
 */
const WHOLE_TABLE: Record<string, string> = {
  counters: 'a handful of rows',
  allFingerprints: 'the Bloom filter, built at open when no saved one can be believed',
  containerHighWater: 'sqlite_sequence, a row per AUTOINCREMENT table',
  rootsFirst: 'garbage collection and verify walk every object, a page at a time',
  objectRootsSince: 'garbage collection, objects written while it marked',
  partRootsSince: 'garbage collection, parts written while it marked',
  partRoots: 'garbage collection marks from every part',
  uploadsBefore: 'expiring stale uploads, in the background',
  containers: 'opening the unit, verify and garbage collection',
  openContainers: 'recovery at open',
  orphanChunks: 'verify',
  countContainers: 'opening the unit: the containers counted into their counters once',
};

t.test('no statement walks a whole table unless it is named with its reason', async (t) => {
  const index = new IndexDb(join(testDir(t), 'index.db'));
  t.teardown(() => index.close());
  const statements = (index as unknown as { s: Record<string, Statement> }).s;
  t.ok(Object.keys(statements).length > 40, 'the statements are all there to check');
  const scanning: string[] = [];
  for (const [name, statement] of Object.entries(statements)) {
    // Parameters stay parameters (literals would let the planner fold conditions away); their values do not change the plan.
    const sql = statement.source;
    const named = Object.fromEntries([...sql.matchAll(/@([A-Za-z_]\w*)/g)].map((m) => [m[1]!, 1]));
    const positional = Array.from(sql.matchAll(/\?/g), () => 1);
    const explain = index.db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
    const rows = (Object.keys(named).length > 0 ? explain.all(named) : explain.all(...positional)) as { detail: string }[];
    const plan = rows.map((r) => r.detail);
    if (plan.some((step) => /^SCAN (?!staged\b|s\b|CONSTANT ROW)/.test(step))) scanning.push(name);
  }
  t.same(scanning.sort(), Object.keys(WHOLE_TABLE).sort(), 'the statements that scan are exactly the named ones');
});
