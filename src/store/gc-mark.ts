import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { CONTAINER_HEADER_BYTES, FOOTER_ENTRY_BYTES, RECORD_HEADER_BYTES, TRAILER_BYTES } from './container-format.js';
import type { IndexDb } from './index-db.js';
import type { RecipeNode } from './recipe-format.js';

/*
 * The mark phase of garbage collection: every chunk reachable from a live
 * recipe (objects, and the parts of multipart uploads in progress) goes into
 * a set kept in a scratch SQLite file beside the index, so that marking a unit
 * of 50 million chunks takes disk (about 50 bytes a chunk) rather than heap.
 * A recipe node already in the set is not descended into again: repeated
 * backups share most of their recipe subtrees, and each is walked once.
 */

type NodeLoader = (fp: Buffer, level: number) => Promise<RecipeNode>;

/** Inserts per transaction: large enough to amortize the commit, small enough to keep the event loop moving. */
const BATCH = 4096;

export interface MarkProgress {
  roots: number;
  nodes: number;
  chunks: number;
}

/**
 * The live set, on disk, and beside it the recipe nodes already walked: a
 * node can be live without having been walked (a collection's guard marks
 * single fingerprints), and then its subtree must still be walked. Close it
 * (which deletes the file) when done.
 */
export class MarkSet {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[Buffer]>;
  private readonly insertWalked: Database.Statement<[Buffer]>;
  private readonly has: Database.Statement<[Buffer], number>;
  private pending: Buffer[] = [];

  constructor(readonly path: string) {
    rmSync(path, { force: true });
    this.db = new Database(path);
    // Scratch, rebuilt by every collection: no journal, no syncs.
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('cache_size = -32768');
    this.db.exec('CREATE TABLE live (fp BLOB PRIMARY KEY) WITHOUT ROWID; CREATE TABLE walked (fp BLOB PRIMARY KEY) WITHOUT ROWID');
    this.insert = this.db.prepare('INSERT OR IGNORE INTO live (fp) VALUES (?)');
    this.insertWalked = this.db.prepare('INSERT OR IGNORE INTO walked (fp) VALUES (?)');
    this.has = this.db.prepare<[Buffer], number>('SELECT 1 FROM live WHERE fp = ?').pluck();
  }

  /** Marks recipe node fp live and walked; false if it was walked already (its subtree is marked). */
  visit(fp: Buffer): boolean {
    this.flush();
    if (this.insertWalked.run(fp).changes === 0) return false;
    this.insert.run(fp);
    return true;
  }

  /** Marks fp in the next batch (data chunks: nothing is walked below them). */
  mark(fp: Buffer): void {
    this.pending.push(fp);
    if (this.pending.length >= BATCH) this.flush();
  }

  isMarked(fp: Buffer): boolean {
    this.flush();
    return this.has.get(fp) === 1;
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      for (const fp of batch) this.insert.run(fp);
    })();
  }

  close(): void {
    this.db.close();
    rmSync(this.path, { force: true });
  }
}

/**
 * Marks every chunk reachable from the unit's objects and in-progress
 * multipart parts. Chunks committed while the walk runs may be missed; the
 * collector protects those by other means (docs/architecture.md).
 */
export async function markLive(index: IndexDb, loadNode: NodeLoader, marks: MarkSet, onProgress?: (p: MarkProgress) => void): Promise<MarkProgress> {
  const progress: MarkProgress = { roots: 0, nodes: 0, chunks: 0 };
  const root = async (r: { recipeRoot: Buffer | null; recipeHeight: number }): Promise<void> => {
    await markTree(marks, loadNode, r.recipeRoot, r.recipeHeight, progress);
    progress.roots++;
  };
  for (const page of index.recipeRootPages()) {
    for (const r of page) await root(r);
    onProgress?.({ ...progress });
  }
  for (const r of index.partRoots()) await root(r);
  marks.flush();
  onProgress?.({ ...progress });
  return progress;
}

/** Marks one recipe tree, nodes and data chunks, skipping subtrees already walked. */
export async function markTree(
  marks: MarkSet,
  loadNode: NodeLoader,
  root: Buffer | null,
  height: number,
  progress: MarkProgress = { roots: 0, nodes: 0, chunks: 0 },
): Promise<void> {
  const walk = async (fp: Buffer, level: number): Promise<void> => {
    if (!marks.visit(fp)) return;
    progress.nodes++;
    const node = await loadNode(fp, level);
    for (let i = 0; i < node.count; i++) {
      const child = Buffer.from(node.fingerprints.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES));
      if (level === 0) {
        marks.mark(child);
        progress.chunks++;
      } else {
        await walk(child, level - 1);
      }
    }
  };
  if (root) await walk(root, height - 1);
}

export interface ContainerLiveness {
  container: number;
  sealed: boolean;
  /**
   * Bytes of the container's records (headers included). For a sealed
   * container that is every record in its file, so records no row points to
   * (streams that failed, copies a compaction gave up) count as dead too.
   */
  bytes: number;
  deadBytes: number;
  /** Raw bytes of the data chunks no live recipe reaches. */
  deadDataRawBytes: number;
  /** Records the index knows, all and unmarked. */
  records: number;
  deadRecords: number;
}

/** Per container, how much of it the marks leave dead. */
export async function containerLiveness(index: IndexDb, marks: MarkSet): Promise<ContainerLiveness[]> {
  marks.flush();
  return (await index.livenessByContainer(marks.path, RECORD_HEADER_BYTES)).map((r) => {
    const liveBytes = r.bytes - r.deadBytes;
    const inFile = r.fileBytes - CONTAINER_HEADER_BYTES - r.fileRecords * FOOTER_ENTRY_BYTES - TRAILER_BYTES;
    const bytes = r.sealed ? Math.max(r.bytes, inFile) : r.bytes;
    return { container: r.container, sealed: r.sealed, bytes, deadBytes: bytes - liveBytes, deadDataRawBytes: r.deadDataRawBytes, records: r.records, deadRecords: r.deadRecords };
  });
}

/**
 * What a collection does with a sealed container: delete it (nothing live),
 * compact it (live share under compactBelow, something dead), or keep it.
 */
export function classifyContainer(c: Pick<ContainerLiveness, 'bytes' | 'deadBytes' | 'records' | 'deadRecords'>, compactBelow: number): 'empty' | 'sparse' | 'keep' {
  if (c.deadRecords === c.records) return 'empty';
  if (c.deadBytes > 0 && c.bytes - c.deadBytes < compactBelow * c.bytes) return 'sparse';
  return 'keep';
}
