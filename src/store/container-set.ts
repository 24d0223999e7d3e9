import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerFile } from './container-file.js';
import { CONTAINER_HEADER_BYTES, type RecordEntry } from './container-format.js';
import { recoverContainer, type RecoveredContainer } from './container-recovery.js';
import { syncDirectory } from './fs-durability.js';
import type { IndexDb } from './index-db.js';

export type ContainerLog = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

/**
 * The unit's containers: which are open for appending, which are idle between
 * streams, where each lives on disk, and read handles for the read path.
 * Streams take an open container for their whole run (so a backup's chunks sit
 * together) and hand it back at the end for the next stream to fill.
 *
 * Every container this process opened stays known here until its seal has
 * succeeded: a commit asks for the containers its chunks are in to be synced,
 * and only a sealed container may be taken as durable without asking it.
 */
export class ContainerSet {
  private readonly known = new Map<number, ContainerFile>();
  private readonly idle: ContainerFile[] = [];
  /** A container created ahead of need, so a stream never waits on file creation and fsyncs at rollover. */
  private spare: Promise<ContainerFile> | null = null;
  private readonly readers = new Map<number, ReadHandle>();
  private closing = false;
  /** Reads under way that may hold chunk locations (see beginRead), by ticket: a Set keeps them oldest first. */
  private readonly activeReads = new Set<number>();
  private lastReadTicket = 0;
  /** Containers gone from the index whose files wait for the reads begun before that. */
  private retiring: { id: number; afterTicket: number }[] = [];
  private readonly removing = new Set<Promise<void>>();

  constructor(
    private readonly root: string,
    private readonly index: IndexDb,
    readonly targetSize: number,
    private readonly log: ContainerLog = () => undefined,
    private readonly maxReaders = 128,
  ) {}

  path(id: number): string {
    return containerPath(this.root, id);
  }

  /** An open container for a stream: an idle one, the spare, or a new one. */
  async acquire(): Promise<ContainerFile> {
    for (let c = this.idle.pop(); c; c = this.idle.pop()) if (c.isOpen) return c;
    const spare = this.spare;
    this.spare = null;
    if (spare) {
      const c = await spare.catch(() => null);
      if (c) return c;
    }
    return this.create();
  }

  /**
   * Hands a container back after a stream. Kept open for the next stream
   * unless it is nearly full (then sealed in the background) or no longer
   * appendable. Never throws: the stream's object may already be committed.
   */
  release(c: ContainerFile): void {
    if (!c.isOpen) return;
    if (this.closing || c.size >= this.targetSize * 0.95) this.sealInBackground(c);
    else this.idle.push(c);
  }

  /**
   * Seals the containers waiting between streams (a garbage collection makes
   * them candidates: dead data in a container no stream fills would otherwise
   * stay until the unit closes). Never throws; a failed seal is logged and
   * start-up recovers the container.
   */
  async sealIdle(): Promise<void> {
    // An empty one holds nothing to collect: it stays for the next stream.
    const idle = this.idle.filter((c) => c.isOpen && c.size > CONTAINER_HEADER_BYTES);
    this.idle.splice(0, this.idle.length, ...this.idle.filter((c) => !idle.includes(c)));
    await Promise.all(idle.map((c) => this.sealOrWarn(c)));
  }

  /**
   * Gives the stream a fresh container for a full one. The full one is sealed in
   * the background (a commit that needs it waits in sync()), and the next spare
   * is prepared while this one fills.
   */
  async rollover(c: ContainerFile): Promise<ContainerFile> {
    this.sealInBackground(c);
    const next = await this.acquire();
    this.prepareSpare();
    return next;
  }

  /**
   * Gives up a container after a failed stream: its contents are synced if they
   * can be, and recovery seals it at the next start. It stays known, so commits
   * leaning on its chunks learn whether that sync worked.
   */
  async discard(c: ContainerFile): Promise<void> {
    await c.close();
  }

  /**
   * Makes durable whatever was appended to these containers, or rejects.
   * A container this process does not hold is durable only if sealed.
   */
  async sync(ids: Iterable<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      const c = this.known.get(id);
      if (c) waits.push(c.sync());
      else if (this.index.containerState(id) !== 'sealed') {
        waits.push(Promise.reject(new Error(`container ${id} is neither held open here nor sealed: its durability cannot be confirmed`)));
      }
    }
    await Promise.all(waits);
  }

  /** Bytes in containers still open (the index records sizes at sealing). */
  openBytes(): number {
    let n = 0;
    for (const c of this.known.values()) if (c.phase === 'open' || c.phase === 'sealing') n += c.size;
    return n;
  }

  /** Reads length bytes at position of a container into a buffer of its own. */
  async read(id: number, position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafeSlow(length);
    const n = await this.readInto(id, position, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  /** Reads into target (which may be shared memory) from position; returns the bytes read (short at end of file). */
  async readInto(id: number, position: number, target: Uint8Array): Promise<number> {
    if (this.closing) throw new Error('the unit is closing');
    const reader = this.reader(id);
    reader.users++;
    try {
      const handle = await reader.handle;
      let done = 0;
      while (done < target.length) {
        const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    } finally {
      reader.users--;
      if (reader.evicted && reader.users === 0) closeReader(reader);
    }
  }

  /** Seals everything still open and closes every handle (at close). Throws the first failure, after trying all. */
  async sealAll(): Promise<void> {
    this.closing = true;
    const spare = this.spare && (await this.spare.catch(() => null));
    this.spare = null;
    if (spare) {
      // Never written: it goes rather than stays as an empty sealed file.
      await spare.close();
      this.known.delete(spare.id);
      await rm(spare.path, { force: true });
      this.index.deleteContainer(spare.id);
    }
    this.idle.length = 0;
    // Closing ends every read: files that waited for them go now.
    const retired = this.retiring.splice(0);
    await Promise.allSettled(retired.map((r) => this.remove(r.id)));
    const results = await Promise.allSettled([...this.known.values()].map((c) => (c.isOpen ? this.seal(c) : c.sync())));
    for (const r of this.readers.values()) this.evictReader(r);
    this.readers.clear();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Finishes containers left open by a stopped process (start-up). */
  async recoverOpen(onRecovered: (id: number, r: RecoveredContainer) => void): Promise<void> {
    for (const row of this.index.openContainers()) {
      const path = this.path(row.id);
      let r: RecoveredContainer;
      try {
        r = await recoverContainer(path, this.index.maxIndexedEnd(row.id), () => this.indexedEntries(row.id));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && this.index.maxIndexedEnd(row.id) === 0) {
          // Crashed between allocating the id and creating the file: nothing refers to it.
          this.index.deleteContainer(row.id);
          continue;
        }
        throw err;
      }
      if (r.discard) {
        await rm(path, { force: true });
        this.index.deleteContainer(row.id);
      } else {
        this.index.sealContainer(row.id, r.bytes, r.records, Date.now());
      }
      onRecovered(row.id, r);
    }
  }

  /**
   * Deletes container files the index has no row for: left by a crash between
   * a collection's commit and its unlink, or by a container whose id was
   * allocated but never committed to. A container being created has its row
   * before its file, so it is never one of these; one retired and waiting for
   * reads is left to retire(). Returns the bytes freed.
   */
  async removeOrphans(): Promise<number> {
    let freed = 0;
    const shards = await readdir(this.root).catch(() => [] as string[]);
    for (const shard of shards.filter((s) => /^[0-9a-f]{4}$/.test(s))) {
      for (const name of await readdir(join(this.root, shard)).catch(() => [] as string[])) {
        const m = /^([0-9a-f]{8})\.ctr$/.exec(name);
        if (!m) continue;
        const id = Number.parseInt(m[1]!, 16);
        if (this.index.containerState(id) !== undefined || this.known.has(id) || this.retiring.some((r) => r.id === id)) continue;
        const path = join(this.root, shard, name);
        freed += (await stat(path).catch(() => ({ size: 0 }))).size;
        await rm(path, { force: true });
      }
    }
    return freed;
  }

  /**
   * Marks the start of a read that locates chunks and then reads them later
   * (an object's stream may wait on a slow client between the two); call the
   * returned function when it ends. A container the index has let go of keeps
   * its file until every read begun before that has ended.
   */
  beginRead(): () => void {
    const ticket = ++this.lastReadTicket;
    this.activeReads.add(ticket);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.activeReads.delete(ticket);
      this.removeRetired();
    };
  }

  /** Runs a read that locates chunks and reads them, registered as beginRead() describes. */
  async whileReading<T>(read: () => Promise<T>): Promise<T> {
    const endRead = this.beginRead();
    try {
      return await read();
    } finally {
      endRead();
    }
  }

  /**
   * Removes a container's file once no read that may have located a chunk in
   * it is left (garbage collection, after its index row is gone). A crash
   * before that leaves a file without a row, which removeOrphans deletes.
   */
  retire(id: number): void {
    this.retiring.push({ id, afterTicket: this.lastReadTicket });
    this.removeRetired();
  }

  /** Containers retired but still waiting for reads: for tests and stats. */
  get retiringCount(): number {
    return this.retiring.length;
  }

  private removeRetired(): void {
    const oldest = this.activeReads.values().next();
    const ready = this.retiring.filter((r) => oldest.done === true || r.afterTicket < oldest.value);
    if (ready.length === 0) return;
    this.retiring = this.retiring.filter((r) => !ready.includes(r));
    for (const r of ready) {
      const removal = this.remove(r.id)
        .catch((err: Error) => this.log('warn', 'removing a collected container failed', { container: r.id, error: err.message }))
        .finally(() => this.removing.delete(removal));
      this.removing.add(removal);
    }
  }

  /** Waits for the unlinks already started (not for retired files still waiting on reads). */
  async removalsSettled(): Promise<void> {
    await Promise.all([...this.removing]);
  }

  private async remove(id: number): Promise<void> {
    const r = this.readers.get(id);
    if (r) {
      this.readers.delete(id);
      this.evictReader(r);
    }
    await rm(this.path(id), { force: true });
  }

  /** Starts creating a spare container if none is waiting. */
  private prepareSpare(): void {
    if (this.spare || this.closing) return;
    const spare = this.create();
    spare.catch(() => {
      if (this.spare === spare) this.spare = null;
    });
    this.spare = spare;
  }

  private async create(): Promise<ContainerFile> {
    const now = Date.now();
    const id = this.index.createContainer(now);
    let c: ContainerFile;
    try {
      const shardDir = join(this.root, shardOf(id));
      if ((await mkdir(shardDir, { recursive: true })) !== undefined) await syncDirectory(shardDir);
      c = await ContainerFile.create(id, this.path(id), now);
    } catch (err) {
      // Nothing was ever written to it: withdraw the id rather than leave a row without a file.
      await rm(this.path(id), { force: true }).catch(() => undefined);
      this.index.deleteContainer(id);
      throw err;
    }
    this.known.set(id, c);
    return c;
  }

  private sealInBackground(c: ContainerFile): void {
    void this.sealOrWarn(c);
  }

  /** Never rejects: a failed seal leaves the container failed (sync() rejects for it) and open in the index, for start-up to recover. */
  private sealOrWarn(c: ContainerFile): Promise<void> {
    return this.seal(c).catch((err: Error) => this.log('warn', 'sealing a container failed', { container: c.id, error: err.message }));
  }

  private async seal(c: ContainerFile): Promise<void> {
    const bytes = await c.seal();
    this.index.sealContainer(c.id, bytes, c.entries.length, Date.now());
    this.known.delete(c.id);
  }

  /** A read handle, most recently used last; evicted handles close once their reads finish. */
  private reader(id: number): ReadHandle {
    let r = this.readers.get(id);
    if (r) {
      this.readers.delete(id);
      this.readers.set(id, r);
      return r;
    }
    r = { handle: open(this.path(id), 'r'), users: 0, evicted: false };
    r.handle.catch(() => {
      if (this.readers.get(id) === r) this.readers.delete(id);
    });
    this.readers.set(id, r);
    if (this.readers.size > this.maxReaders) {
      const [oldId, old] = this.readers.entries().next().value as [number, ReadHandle];
      this.readers.delete(oldId);
      this.evictReader(old);
    }
    return r;
  }

  private evictReader(r: ReadHandle): void {
    r.evicted = true;
    if (r.users === 0) closeReader(r);
  }

  private indexedEntries(id: number): RecordEntry[] {
    return this.index.chunkRowsOfContainer(id).map((r) => ({
      fingerprint: r.fingerprint,
      offset: r.offset,
      rawLength: r.rawLength,
      storedLength: r.storedLength,
      kind: r.kind,
      codec: r.codec,
    }));
  }
}

interface ReadHandle {
  handle: Promise<FileHandle>;
  users: number;
  evicted: boolean;
}

function closeReader(r: ReadHandle): void {
  r.handle.then((h) => h.close()).catch(() => undefined);
}

/** Where container `id` lives under a unit's containers directory: a shard directory of 1024 ids, then the id in hex. */
export function containerPath(root: string, id: number): string {
  return join(root, shardOf(id), `${id.toString(16).padStart(8, '0')}.ctr`);
}

function shardOf(id: number): string {
  return Math.floor(id / 1024).toString(16).padStart(4, '0');
}
