import { closeSync, ftruncateSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../chunking/native.js';
import { StoreLockedError } from './errors.js';

/**
 * One process at a time may open a unit: two writers appending to the same
 * containers would interleave records. The lock is an exclusive flock on the
 * unit's LOCK file, which the kernel drops when the holder exits, however it
 * exits; the file also names the holder's pid, for people.
 */
export class UnitLock {
  private constructor(private readonly fd: number) {}

  static acquire(dir: string): UnitLock {
    const path = join(dir, 'LOCK');
    const fd = native.lockFile(path);
    if (fd < 0) {
      let holder = -1;
      try {
        holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      } catch {
        // Unreadable: say so without a pid.
      }
      throw new StoreLockedError(dir, Number.isInteger(holder) ? holder : -1);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new UnitLock(fd);
  }

  release(): void {
    closeSync(this.fd);
  }
}
