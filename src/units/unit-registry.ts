import type { CollectionResult } from '../store/collector.js';
import type { CollectionPolicy } from '../store/gc-state.js';
import type { ReclaimEstimate } from '../store/reclaim-estimate.js';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultChunkingParameters } from '../chunking/parameters.js';
import { syncDirectory } from '../store/fs-durability.js';
import type { StoreStats } from '../store/stats.js';
import { ChunkStore, type StoreLog, type UnitParameters } from '../store/store.js';
import type { StoreCompute } from '../store/store-compute.js';
import { InvalidParametersError, InvalidUnitNameError, NoSuchUnitError, UnitExistsError, UnitNotEmptyError } from './errors.js';
import { validQuotaProblem, type Quota, type QuotaState } from './quota.js';
import type { SystemDb } from './system-db.js';
import { Unit, type Traffic } from './unit.js';
import { unitNameProblem } from './unit-name.js';

export interface CreateUnitOptions {
  quota?: Partial<Quota>;
  /** Average chunk size in bytes (a power of two); fixed for the unit's life. */
  avgChunkSize?: number;
  compressionLevel?: number;
  containerSize?: number;
}

export interface UnitInfo {
  name: string;
  createdMs: number;
  parameters: UnitParameters;
  quota: Quota;
  quotaState: QuotaState;
  stats: StoreStats;
  traffic: Traffic;
  /** The last reclaim estimate, or null (kept across restarts). */
  reclaim: ReclaimEstimate | null;
  /** The last garbage collection, or null (kept across restarts). */
  lastCollection: CollectionResult | null;
  gcPolicy: CollectionPolicy;
}

/** The prefix of a deleted unit's directory while its files are removed: a unit name cannot start with a dot. */
const SET_ASIDE = '.deleted-';

export type RegistryLog = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

/**
 * The storage units of a server: registered in the system database, each a
 * store in <data dir>/units/<name>, all open while the server runs.
 */
export class UnitRegistry {
  private readonly units = new Map<string, Unit>();

  private constructor(
    private readonly db: SystemDb,
    private readonly unitsDir: string,
    private readonly log: RegistryLog,
    private readonly compute: StoreCompute | undefined,
  ) {}

  static async open(db: SystemDb, dataDir: string, options: { log?: RegistryLog; compute?: StoreCompute } = {}): Promise<UnitRegistry> {
    const unitsDir = join(dataDir, 'units');
    mkdirSync(unitsDir, { recursive: true, mode: 0o700 });
    const registry = new UnitRegistry(db, unitsDir, options.log ?? (() => undefined), options.compute);
    for (const row of db.units()) {
      if (row.state === 'deleting') {
        // A delete that was cut short: finish it.
        await registry.setAside(row.name);
        db.deleteUnit(row.name);
        registry.log('info', 'finished deleting storage unit', { unit: row.name });
        continue;
      }
      await registry.attach(row.name, { soft: row.quotaSoft, hard: row.quotaHard });
    }
    // Directories set aside by deletes the server did not live to finish: removed while it serves.
    for (const entry of readdirSync(unitsDir)) {
      if (entry.startsWith(SET_ASIDE)) void registry.remove(join(unitsDir, entry));
    }
    return registry;
  }

  /**
   * Moves a unit's directory out of the way under a name no unit can have (a
   * rename: instant however large the unit), so the name is free at once.
   * Returns the new path, or null if there was no directory. The rename is
   * made durable before the unit's row goes: a unit directory left under its
   * own name with no row would block that name ("exists on disk").
   */
  private async setAside(name: string): Promise<string | null> {
    const aside = join(this.unitsDir, `${SET_ASIDE}${name}-${Date.now()}`);
    try {
      renameSync(join(this.unitsDir, name), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    await syncDirectory(this.unitsDir);
    return aside;
  }

  /**
   * Removes a set-aside directory through the thread pool: a unit of a TB has
   * a quarter of a million container files, and unlinking them on the event
   * loop would stall every request for seconds.
   */
  private async remove(path: string): Promise<void> {
    try {
      await rm(path, { recursive: true, force: true });
    } catch (err) {
      this.log('warn', 'could not remove a deleted unit\'s files', { path, error: (err as Error).message });
    }
  }

  names(): string[] {
    return [...this.units.keys()].sort();
  }

  has(name: string): boolean {
    return this.units.has(name);
  }

  unit(name: string): Unit {
    const u = this.units.get(name);
    if (!u) throw new NoSuchUnitError(name);
    return u;
  }

  /** When the unit was created: for ListBuckets, which must not pay for info()'s statistics. */
  createdMs(name: string): number {
    this.unit(name);
    return this.db.unit(name)!.createdMs;
  }

  info(name: string): UnitInfo {
    const u = this.unit(name);
    const row = this.db.unit(name)!;
    return {
      name,
      createdMs: row.createdMs,
      parameters: u.store.parameters,
      quota: u.quota,
      quotaState: u.quotaState,
      stats: u.store.stats(),
      traffic: { ...u.traffic },
      reclaim: u.store.lastReclaimEstimate(),
      lastCollection: u.store.lastCollection(),
      gcPolicy: u.store.collectionPolicy(),
    };
  }

  async create(name: string, options: CreateUnitOptions = {}): Promise<UnitInfo> {
    const problem = unitNameProblem(name);
    if (problem) throw new InvalidUnitNameError(problem);
    if (this.units.has(name) || this.db.unit(name)) throw new UnitExistsError(name);
    const quota: Quota = { soft: options.quota?.soft ?? null, hard: options.quota?.hard ?? null };
    const quotaProblem = validQuotaProblem(quota);
    if (quotaProblem) throw new InvalidParametersError(quotaProblem);
    const dir = join(this.unitsDir, name);
    if (existsSync(join(dir, 'index.db'))) {
      throw new InvalidParametersError(
        `a directory for unit ${name} exists on disk but is not registered: remove ${dir} or restore the system database`,
      );
    }
    let chunking;
    try {
      chunking = options.avgChunkSize === undefined ? undefined : defaultChunkingParameters(options.avgChunkSize);
    } catch (err) {
      throw new InvalidParametersError((err as Error).message);
    }
    let store: ChunkStore;
    try {
      store = await ChunkStore.open(dir, {
        create: {
          ...(chunking && { chunking }),
          ...(options.compressionLevel !== undefined && { compression: { codec: 'zstd', level: options.compressionLevel } }),
          ...(options.containerSize !== undefined && { containerSize: options.containerSize }),
        },
        ...(this.compute && { compute: this.compute }),
        log: this.storeLog(name),
      });
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      if (err instanceof RangeError) throw new InvalidParametersError(err.message);
      throw err;
    }
    this.db.insertUnit({
      name,
      createdMs: Date.now(),
      parameters: JSON.stringify(store.parameters),
      quotaSoft: quota.soft,
      quotaHard: quota.hard,
      state: 'active',
    });
    this.units.set(name, new Unit(name, store, quota, this.quotaLog));
    this.log('info', 'created storage unit', { unit: name });
    return this.info(name);
  }

  setQuota(name: string, quota: Quota): UnitInfo {
    const u = this.unit(name);
    const problem = validQuotaProblem(quota);
    if (problem) throw new InvalidParametersError(problem);
    this.db.setQuota(name, quota.soft, quota.hard);
    u.quota = quota;
    return this.info(name);
  }

  /** Deletes a unit and everything in it. Refused while it holds objects, unless forced. */
  async delete(name: string, options: { force?: boolean } = {}): Promise<void> {
    const u = this.unit(name);
    const objects = u.store.usage().objects;
    if (objects > 0 && !options.force) throw new UnitNotEmptyError(name, objects);
    // Marked first, so a crash half-way is finished at the next start rather than leaving half a unit.
    this.db.setState(name, 'deleting');
    this.units.delete(name);
    await u.store.close({ saveFilter: false });
    const aside = await this.setAside(name);
    this.db.deleteUnit(name);
    // The answer waits for the files to go, so that "deleted" means the space is free.
    if (aside) await this.remove(aside);
    this.log('info', 'deleted storage unit', { unit: name, objects });
  }

  /** Totals over every unit. */
  systemStats(): { units: number; logicalBytes: number; uniqueBytes: number; storedBytes: number; containerBytes: number; objects: number; bytesIn: number; bytesOut: number } {
    const out = { units: 0, logicalBytes: 0, uniqueBytes: 0, storedBytes: 0, containerBytes: 0, objects: 0, bytesIn: 0, bytesOut: 0 };
    for (const u of this.units.values()) {
      const s = u.store.stats();
      out.units++;
      out.logicalBytes += s.logicalBytes;
      out.uniqueBytes += s.uniqueBytes;
      out.storedBytes += s.storedBytes;
      out.containerBytes += s.containerBytes;
      out.objects += s.objects;
      out.bytesIn += u.traffic.bytesIn;
      out.bytesOut += u.traffic.bytesOut;
    }
    return out;
  }

  async close(): Promise<void> {
    for (const u of this.units.values()) await u.store.close();
    this.units.clear();
  }

  private async attach(name: string, quota: Quota): Promise<void> {
    const store = await ChunkStore.open(join(this.unitsDir, name), {
      mustExist: true,
      ...(this.compute && { compute: this.compute }),
      log: this.storeLog(name),
    });
    this.units.set(name, new Unit(name, store, quota, this.quotaLog));
  }

  private storeLog(unit: string): StoreLog {
    return (level, message, fields) => this.log(level, message, { unit, ...fields });
  }

  private readonly quotaLog = (unit: string, state: QuotaState, logicalBytes: number): void => {
    this.log(state === 'ok' ? 'info' : 'warn', `storage unit quota ${state}`, { unit, logicalBytes, quota: this.units.get(unit)?.quota });
  };
}
