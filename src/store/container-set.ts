import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerFile } from './container-file.js';
import type { RecordEntry } from './container-format.js';
import { recoverContainer, type RecoveredContainer } from './container-recovery.js';
import type { IndexDb } from './index-db.js';

/**
 * The unit's containers: which are open for appending, which are idle between
 * streams, where each lives on disk, and read handles for the read path.
 * Streams take an open container for their whole run (so a backup's chunks sit
 * together) and hand it back at the end for the next stream to fill.
 */
export class ContainerSet {
  private readonly idle: ContainerFile[] = [];
  private readonly active = new Map<number, ContainerFile>();
  /** Containers being sealed in the background; a sync of one waits for its seal. */
  private readonly sealing = new Map<number, Promise<void>>();
  /** A container created ahead of need, so a stream never waits on file creation and fsyncs at rollover. */
  private spare: Promise<ContainerFile> | null = null;
  private readonly readers = new Map<number, ReadHandle>();

  constructor(
    private readonly root: string,
    private readonly index: IndexDb,
    readonly targetSize: number,
    private readonly maxReaders = 128,
  ) {}

  path(id: number): string {
    return join(this.root, shardOf(id), `${id.toString(16).padStart(8, '0')}.ctr`);
  }

  /** An open container for a stream: an idle one, the spare, or a new one. */
  async acquire(): Promise<ContainerFile> {
    let c = this.idle.pop();
    if (!c) {
      const spare = this.spare;
      this.spare = null;
      c = spare ? await spare : await this.create();
    }
    this.active.set(c.id, c);
    return c;
  }

  /** Hands a container back: kept open for the next stream unless it is nearly full. */
  async release(c: ContainerFile): Promise<void> {
    this.active.delete(c.id);
    if (c.isSealed) return;
    if (c.size >= this.targetSize * 0.95) {
      await this.seal(c);
      return;
    }
    this.idle.push(c);
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

  /** Starts creating a spare container if none is waiting. */
  prepareSpare(): void {
    if (this.spare) return;
    const spare = this.create();
    spare.catch(() => {
      if (this.spare === spare) this.spare = null;
    });
    this.spare = spare;
  }

  /** Gives up a container after a failed write: it stays open on disk for recovery. */
  async discard(c: ContainerFile): Promise<void> {
    this.active.delete(c.id);
    await c.abandon();
  }

  /** Bytes in containers still open (the index records sizes at sealing). */
  openBytes(): number {
    let n = 0;
    for (const c of [...this.idle, ...this.active.values()]) if (!c.isSealed) n += c.size;
    return n;
  }

  /** Makes durable whatever was appended to these containers (sealed ones already are). */
  async sync(ids: Iterable<number>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const id of ids) {
      const sealing = this.sealing.get(id);
      if (sealing) {
        waits.push(sealing);
        continue;
      }
      const c = this.active.get(id) ?? this.idle.find((x) => x.id === id);
      if (c && !c.isSealed) waits.push(c.sync());
    }
    await Promise.all(waits);
  }

  /** Reads length bytes at position of a container into a buffer of its own. */
  async read(id: number, position: number, length: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafeSlow(length);
    const n = await this.readInto(id, position, buf);
    return n === length ? buf : buf.subarray(0, n);
  }

  /** Reads into target (which may be shared memory) from position; returns the bytes read (short at end of file). */
  async readInto(id: number, position: number, target: Uint8Array): Promise<number> {
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

  /** Seals everything still open (at close). */
  async sealAll(): Promise<void> {
    const all = [...this.idle, ...this.active.values()];
    this.idle.length = 0;
    const spare = this.spare && (await this.spare.catch(() => null));
    this.spare = null;
    if (spare) {
      // Never written: it goes rather than stays as an empty sealed file.
      await spare.abandon();
      await rm(spare.path, { force: true });
      this.index.deleteContainer(spare.id);
    }
    for (const c of all) await this.seal(c);
    await Promise.allSettled(this.sealing.values());
    await this.closeReaders();
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

  async closeReaders(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    for (const r of readers) this.evictReader(r);
  }

  /** Removes a container file (garbage collection). */
  async remove(id: number): Promise<void> {
    const r = this.readers.get(id);
    if (r) {
      this.readers.delete(id);
      this.evictReader(r);
    }
    await rm(this.path(id), { force: true });
  }

  private async create(): Promise<ContainerFile> {
    const now = Date.now();
    const id = this.index.createContainer(now);
    const path = this.path(id);
    await mkdir(join(this.root, shardOf(id)), { recursive: true });
    return ContainerFile.create(id, path, now);
  }

  private sealInBackground(c: ContainerFile): void {
    const sealing = this.seal(c).finally(() => this.sealing.delete(c.id));
    // A failed seal leaves the container open in the index: start-up recovers it.
    sealing.catch(() => undefined);
    this.sealing.set(c.id, sealing);
  }

  private async seal(c: ContainerFile): Promise<void> {
    this.active.delete(c.id);
    const bytes = await c.seal();
    this.index.sealContainer(c.id, bytes, c.entries.length, Date.now());
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

function shardOf(id: number): string {
  return Math.floor(id / 1024).toString(16).padStart(4, '0');
}
