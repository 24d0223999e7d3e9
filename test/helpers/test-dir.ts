import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';

const dirs = new WeakMap<Test, string>();

/**
 * The test's own directory, made once per test. tap's t.testdir() empties the
 * directory at every call: a test that asked for it after a helper had started
 * a server in it wiped the server's unit files from under their open
 * descriptors, and the server went on writing to deleted files unnoticed.
 */
export function testDir(t: Test): string {
  let dir = dirs.get(t);
  if (dir === undefined) {
    dir = t.testdir();
    dirs.set(t, dir);
  }
  return dir;
}

let made = 0;

/** A new, empty directory inside the test's own, for a helper's server or store: each call its own. */
export function freshSubdir(t: Test, name: string): string {
  const dir = join(testDir(t), `${name}-${++made}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}
