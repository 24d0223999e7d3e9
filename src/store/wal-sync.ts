import { open } from 'node:fs/promises';

const noop = (): void => undefined;

/**
 * Group commit for an index in WAL mode whose busy commits skip SQLite's own
 * fsync (synchronous = NORMAL). SQLite would fsync the WAL inside the commit,
 * on the event loop: 2-4 ms each here, one per multipart part, during which no
 * stream is fed. Instead the committer awaits `sync()`, an fdatasync of the WAL
 * on libuv's pool, shared by every commit that asks while one is under way.
 *
 * It is as durable as a FULL commit: the WAL is written in order and an fsync
 * covers the whole file, so once sync() resolves every frame written before it
 * was called is on disk, and a checkpoint (which SQLite syncs itself) only ever
 * moves frames that are. The file is opened afresh each time, since SQLite may
 * delete and recreate it (at close); a kept descriptor could sync a dead file.
 *
 * After one failed fsync the kernel may have dropped the dirty pages and a
 * later fsync can succeed without them, so a failure is final: every later
 * sync() rejects with it, and nothing more is acknowledged until the unit is
 * opened again (SQLite's recovery then decides what the WAL holds).
 */
export class WalSync {
  private running: Promise<void> | null = null;
  private following: Promise<void> | null = null;
  private failure: Error | null = null;
  /** fdatasyncs run, for tests and figures: fewer than syncs asked for when commits overlap. */
  flushes = 0;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything written to the WAL before the call is on disk. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.running) {
      this.running = this.flush().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    // The flush under way may have begun before this caller's frames were
    // written: it waits for the next one, shared with everyone who asks meanwhile.
    this.following ??= this.running.catch(noop).then(() => {
      this.following = null;
      return this.sync();
    });
    return this.following;
  }

  private async flush(): Promise<void> {
    this.flushes++;
    try {
      const file = await open(this.walPath, 'r');
      try {
        await file.datasync();
      } finally {
        await file.close();
      }
    } catch (err) {
      this.failure ??= new Error(`the index log ${this.walPath} could not be synced; nothing more is acknowledged until the unit is reopened: ${(err as Error).message}`, { cause: err });
      throw this.failure;
    }
  }
}
