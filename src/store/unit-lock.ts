import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StoreLockedError } from './errors.js';

const heldHere = new Set<string>();

/**
 * One process at a time may open a unit: two writers appending to the same
 * containers would interleave records. The lock file names the holder's pid;
 * a lock left by a process that no longer runs is taken over.
 */
export class UnitLock {
  private constructor(private readonly path: string) {}

  static acquire(dir: string): UnitLock {
    const path = join(dir, 'LOCK');
    if (heldHere.has(path)) throw new StoreLockedError(dir, process.pid);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        heldHere.add(path);
        return new UnitLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
        if (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) throw new StoreLockedError(dir, holder);
        rmSync(path, { force: true });
      }
    }
    throw new StoreLockedError(dir, -1);
  }

  release(): void {
    heldHere.delete(this.path);
    rmSync(this.path, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
