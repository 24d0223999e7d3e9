import { open, type FileHandle } from 'node:fs/promises';
import {
  CONTAINER_HEADER_BYTES,
  encodeContainerHeader,
  encodeFooter,
  type RecordEntry,
} from './container-format.js';
import { syncDirectory } from './fs-durability.js';

/**
 * A container open for appending. Only one stream appends to it at a time;
 * other streams may ask for it to be synced when they commit chunks it holds.
 */
export class ContainerFile {
  readonly entries: RecordEntry[] = [];
  private written: number;
  private synced: number;
  private syncing: Promise<void> | null = null;
  private sealed = false;

  private constructor(
    readonly id: number,
    readonly path: string,
    private readonly handle: FileHandle,
    size: number,
  ) {
    this.written = size;
    this.synced = size;
  }

  /**
   * Creates the file with its header, durably (file and directory entry). A
   * file already there belongs to an id whose row a crash lost before anything
   * in it was committed (see IndexDb.createContainer): it is started afresh.
   */
  static async create(id: number, path: string, createdMs: number): Promise<ContainerFile> {
    const handle = await open(path, 'w');
    try {
      await handle.write(encodeContainerHeader({ id, createdMs }), 0, CONTAINER_HEADER_BYTES, 0);
      await handle.datasync();
      await syncDirectory(path);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return new ContainerFile(id, path, handle, CONTAINER_HEADER_BYTES);
  }

  get size(): number {
    return this.written;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  /**
   * Appends whole records and remembers them for the footer. Entry offsets are
   * relative to the start of `records`; the absolute offsets are returned.
   */
  async append(records: Uint8Array, entries: readonly RecordEntry[]): Promise<number> {
    if (this.sealed) throw new Error(`container ${this.id} is sealed`);
    const at = this.written;
    let done = 0;
    while (done < records.length) {
      const { bytesWritten } = await this.handle.write(records, done, records.length - done, at + done);
      done += bytesWritten;
    }
    this.written = at + records.length;
    for (const e of entries) this.entries.push({ ...e, offset: e.offset + at });
    return at;
  }

  /** Makes everything appended so far durable. Concurrent callers share one fsync. */
  async sync(): Promise<void> {
    while (this.synced < this.written) {
      if (this.syncing) {
        await this.syncing;
        continue;
      }
      const target = this.written;
      this.syncing = this.handle.datasync().then(() => {
        this.synced = Math.max(this.synced, target);
      });
      try {
        await this.syncing;
      } finally {
        this.syncing = null;
      }
    }
  }

  /** Writes the footer and trailer, syncs and closes. Returns the final size. */
  async seal(): Promise<number> {
    if (this.sealed) return this.written;
    const footer = encodeFooter(this.entries, this.written);
    await this.handle.write(footer, 0, footer.length, this.written);
    this.written += footer.length;
    await this.sync();
    this.sealed = true;
    await this.handle.close();
    return this.written;
  }

  /** Closes without sealing (the file is left for recovery to finish). */
  async abandon(): Promise<void> {
    if (this.sealed) return;
    this.sealed = true;
    await this.handle.close().catch(() => undefined);
  }
}
