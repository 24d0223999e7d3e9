import { closeSync, fdatasync, fstatSync, openSync } from 'node:fs';

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
 * moves frames that are.
 *
 * The descriptor is kept from the first flush to close(): opening and closing
 * the file for each flush took two more trips through libuv's pool (a thread
 * woken, the loop woken) on every commit. SQLite deletes the WAL only when its
 * last connection closes, which is the index's close and ours; should the file
 * ever be unlinked under us all the same, a flush sees it has no links left
 * (an fstat, on this thread: a few microseconds) and opens the new one rather
 * than sync a dead file.
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
  /** Times the file was opened, for tests: once, unless it was unlinked under us. */
  opens = 0;
  private fd: number | null = null;
  private closed = false;

  constructor(private readonly walPath: string) {}

  /** Resolves once everything written to the WAL before the call is on disk. */
  sync(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error(`the index log ${this.walPath} is closed`));
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

  /** Closes the descriptor once the flushes asked for are done; later syncs are refused. */
  async close(): Promise<void> {
    while (this.running || this.following) await (this.following ?? this.running)!.catch(noop);
    this.closed = true;
    this.release();
  }

  private async flush(): Promise<void> {
    this.flushes++;
    try {
      const fd = this.descriptor();
      await new Promise<void>((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      this.failure ??= new Error(`the index log ${this.walPath} could not be synced; nothing more is acknowledged until the unit is reopened: ${(err as Error).message}`, { cause: err });
      this.release();
      throw this.failure;
    }
  }

  private descriptor(): number {
    if (this.fd !== null && fstatSync(this.fd).nlink === 0) this.release();
    if (this.fd === null) {
      this.fd = openSync(this.walPath, 'r');
      this.opens++;
    }
    return this.fd;
  }

  private release(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    closeSync(fd);
  }
}
