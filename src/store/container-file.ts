import { open, type FileHandle } from 'node:fs/promises';
import {
  CONTAINER_HEADER_BYTES,
  encodeContainerHeader,
  encodeFooter,
  type RecordEntry,
} from './container-format.js';
import { syncDirectory, writeFully } from './fs-durability.js';

/**
 * Where a container is in its life. Once `failed`, it stays failed: after a
 * write or fsync error the kernel may have dropped dirty pages and still
 * report the next fsync as a success, so nothing in it can be trusted durable
 * ("fsyncgate"). `closed` is a container given up without a seal (recovery
 * finishes it at the next start), its contents synced first.
 */
export type ContainerPhase = 'open' | 'sealing' | 'sealed' | 'closed' | 'failed';

/**
 * A container open for appending. Only one stream appends to it at a time;
 * other streams may ask for it to be synced when they commit chunks it holds.
 */
export class ContainerFile {
  readonly entries: RecordEntry[] = [];
  private written: number;
  private synced: number;
  private syncing: Promise<void> | null = null;
  private sealing: Promise<number> | null = null;
  private phaseValue: ContainerPhase = 'open';
  private failure: Error | null = null;

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
      await writeFully(handle, encodeContainerHeader({ id, createdMs }), 0);
      await handle.datasync();
      await syncDirectory(path);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    return new ContainerFile(id, path, handle, CONTAINER_HEADER_BYTES);
  }

  get size(): number {
    return this.written;
  }

  get phase(): ContainerPhase {
    return this.phaseValue;
  }

  /** Appendable: open, not sealing, not failed. */
  get isOpen(): boolean {
    return this.phaseValue === 'open';
  }

  /**
   * Appends whole records and remembers them for the footer. Entry offsets are
   * relative to the start of `records`; returns where the records start.
   */
  async append(records: Uint8Array, entries: readonly RecordEntry[]): Promise<number> {
    if (this.phaseValue !== 'open') throw new Error(`container ${this.id} is ${this.phaseValue}`);
    const at = this.written;
    try {
      await writeFully(this.handle, records, at);
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
    this.written = at + records.length;
    for (const e of entries) this.entries.push({ ...e, offset: e.offset + at });
    return at;
  }

  /**
   * Makes everything appended so far durable, or rejects if that cannot be
   * promised. Concurrent callers share one fsync; a container being sealed is
   * durable when its seal is.
   */
  async sync(): Promise<void> {
    for (;;) {
      if (this.phaseValue === 'failed') throw this.failure!;
      if (this.sealing) {
        await this.sealing;
        return;
      }
      if (this.phaseValue === 'sealed' || this.synced >= this.written) return;
      if (this.syncing) {
        await this.syncing.catch(() => undefined);
        continue;
      }
      const target = this.written;
      this.syncing = this.handle.datasync().then(
        () => {
          this.synced = Math.max(this.synced, target);
        },
        (err: Error) => this.fail(err),
      );
      try {
        await this.syncing;
      } finally {
        this.syncing = null;
      }
    }
  }

  /** Writes the footer and trailer, syncs and closes. Resolves to the final size; a failure leaves it failed. */
  seal(): Promise<number> {
    if (this.sealing) return this.sealing;
    if (this.phaseValue === 'failed') return Promise.reject(this.failure!);
    if (this.phaseValue !== 'open') return Promise.reject(new Error(`container ${this.id} is ${this.phaseValue}`));
    this.phaseValue = 'sealing';
    this.sealing = (async () => {
      try {
        if (this.syncing) await this.syncing.catch(() => undefined);
        if (this.failure) throw this.failure;
        const footer = encodeFooter(this.entries, this.written);
        await writeFully(this.handle, footer, this.written);
        this.written += footer.length;
        await this.handle.datasync();
        this.synced = this.written;
        this.phaseValue = 'sealed';
        await this.handle.close().catch(() => undefined);
        return this.written;
      } catch (err) {
        this.fail(err as Error);
        throw err;
      }
    })();
    return this.sealing;
  }

  /**
   * Gives the container up without sealing it (after a failed stream): its
   * contents are synced first, so streams that lean on chunks in it can still
   * commit; start-up recovery seals it.
   */
  async close(): Promise<void> {
    if (this.phaseValue !== 'open') return;
    try {
      await this.sync();
      this.phaseValue = 'closed';
    } catch {
      // sync() has marked it failed.
    }
    await this.handle.close().catch(() => undefined);
  }

  private fail(err: Error): void {
    if (this.phaseValue === 'failed') return;
    this.failure = err;
    this.phaseValue = 'failed';
    void this.handle.close().catch(() => undefined);
  }
}
