import { join } from 'node:path';
import type { Test } from 'tap';
import { SystemDb } from '../../src/units/system-db.js';
import { UnitRegistry } from '../../src/units/unit-registry.js';

/** A unit registry over a real system database in `dir`, closed at the end of the test; warnings and every log line are kept. */
export async function openRegistry(t: Test, dir: string): Promise<{ units: UnitRegistry; db: SystemDb; warnings: string[]; logged: string[] }> {
  const db = new SystemDb(join(dir, 'system.db'));
  const warnings: string[] = [];
  const logged: string[] = [];
  const units = await UnitRegistry.open(db, dir, {
    log: (level, message) => {
      logged.push(message);
      if (level === 'warn') warnings.push(message);
    },
  });
  t.teardown(async () => {
    await units.close();
    db.close();
  });
  return { units, db, warnings, logged };
}
