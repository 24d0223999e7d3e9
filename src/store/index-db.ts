import Database from 'better-sqlite3';
import { ChunkKind } from './container-format.js';
import { WalSync } from './wal-sync.js';

/** Version of the index schema (docs/format.md); bumped with a migration. */
export const INDEX_SCHEMA_VERSION = 2;

/** Where a committed chunk's record lives. */
export interface ChunkLocation {
  container: number;
  offset: number;
  storedLength: number;
  rawLength: number;
}

export interface ChunkRow extends ChunkLocation {
  fingerprint: Buffer;
  kind: ChunkKind;
  codec: number;
}

export interface ObjectRow {
  key: Buffer;
  size: number;
  etag: string;
  mtimeMs: number;
  contentType: string | null;
  userMetadata: string;
  systemMetadata: string;
  recipeRoot: Buffer | null;
  recipeHeight: number;
  chunkCount: number;
}

export interface UploadRow {
  uploadId: string;
  key: Buffer;
  createdMs: number;
  contentType: string | null;
  userMetadata: string;
  systemMetadata: string;
}

export interface PartRow {
  uploadId: string;
  partNumber: number;
  size: number;
  etag: string;
  systemMetadata: string;
  recipeRoot: Buffer | null;
  recipeHeight: number;
  chunkCount: number;
  mtimeMs: number;
}

export type ContainerState = 'open' | 'sealed';

export interface ContainerRow {
  id: number;
  state: ContainerState;
  bytes: number;
  records: number;
  createdMs: number;
}

interface RecipeRootRow {
  key: Buffer;
  recipeRoot: Buffer | null;
  recipeHeight: number;
}

/** Objects a recipe-root walk reads at a time. */
const ROOT_PAGE = 512;

/** Chunks the liveness join reads between turns of the event loop: about 12 ms of work on a unit of 3 million chunks. */
const LIVENESS_PAGE_ROWS = 4096;

export interface ContainerLivenessRow {
  container: number;
  sealed: boolean;
  fileBytes: number;
  fileRecords: number;
  bytes: number;
  deadBytes: number;
  deadDataRawBytes: number;
  records: number;
  deadRecords: number;
}

/** The counters kept transactionally beside the rows they summarize. */
export interface Counters {
  logicalBytes: number;
  objects: number;
  dataChunks: number;
  dataRawBytes: number;
  dataStoredBytes: number;
  recipeChunks: number;
  recipeRawBytes: number;
  recipeStoredBytes: number;
}

const COUNTER_NAMES: (keyof Counters)[] = [
  'logicalBytes',
  'objects',
  'dataChunks',
  'dataRawBytes',
  'dataStoredBytes',
  'recipeChunks',
  'recipeRawBytes',
  'recipeStoredBytes',
];

/** Counter rows for the containers table, apart from Counters: recounted at every open (see addContainers). */
const CONTAINERS = 'containers';
const CONTAINER_BYTES = 'containerBytes';

const SCHEMA = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE containers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused, even after a container is removed
  state INTEGER NOT NULL,          -- 0 open, 1 sealed
  bytes INTEGER NOT NULL DEFAULT 0,
  records INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  sealed_ms INTEGER
);
CREATE TABLE chunks (
  fp BLOB PRIMARY KEY,
  container INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  stored_len INTEGER NOT NULL,
  raw_len INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  codec INTEGER NOT NULL
) WITHOUT ROWID;
-- Covers the locality load (every committed chunk of one container, with where it is and its size)
-- and the liveness join of garbage collection, a range of containers at a time.
CREATE INDEX chunks_by_container ON chunks (container, offset, stored_len, raw_len, kind);
CREATE TABLE objects (
  key BLOB PRIMARY KEY,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  mtime_ms INTEGER NOT NULL,
  content_type TEXT,
  user_meta TEXT NOT NULL,
  system_meta TEXT NOT NULL,
  recipe_root BLOB,
  recipe_height INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL
) WITHOUT ROWID;
-- Multipart uploads in progress, and their parts (each a committed recipe of its own).
CREATE TABLE uploads (
  upload_id TEXT PRIMARY KEY,
  key BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  content_type TEXT,
  user_meta TEXT NOT NULL,
  system_meta TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_by_key ON uploads (key, upload_id);
CREATE TABLE parts (
  upload_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  system_meta TEXT NOT NULL,
  recipe_root BLOB,
  recipe_height INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
`;

/*
 * Chunks written by a stream that has not committed yet. A TEMP table: it lives
 * in this connection's scratch file, costs no fsync, spills to disk for huge
 * streams instead of growing the heap, and vanishes with the process, which is
 * exactly what an unacknowledged stream's claims should do.
 */
const STAGING = `
CREATE TEMP TABLE IF NOT EXISTS staged (
  session INTEGER NOT NULL,
  fp BLOB NOT NULL,
  container INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  stored_len INTEGER NOT NULL,
  raw_len INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  codec INTEGER NOT NULL,
  PRIMARY KEY (session, fp)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS temp.staged_by_fp ON staged (fp);
`;

/** Thrown when the database on disk is not one this code can open. */
export class IndexFormatError extends Error {
  override name = 'IndexFormatError';
}

/** The unit's SQLite index: schema, prepared statements and the transactions the store runs. */
export class IndexDb {
  readonly db: Database.Database;
  /** The schema version this open migrated from, if it did: the store logs it (a large unit's first open takes longer). */
  migratedFrom: number | null = null;
  private readonly s;

  /** Syncs the WAL for the commits that skip SQLite's own fsync. */
  private readonly wal: WalSync;

  constructor(path: string) {
    this.db = new Database(path);
    this.wal = new WalSync(`${path}-wal`);
    this.db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before we acknowledge it. Streams' commits, the
    // busy ones, run relaxed and sync the WAL off the event loop instead (WalSync).
    this.db.pragma('synchronous = FULL');
    this.db.pragma('temp_store = FILE');
    // 16 MiB: lookups are point reads of a hot set (the OS caches the file too); more only grows RSS.
    this.db.pragma('cache_size = -16384');
    this.db.pragma('foreign_keys = OFF');
    this.ensureSchema();
    this.db.exec(STAGING);
    // Staging is scratch: a journal file per transaction (created and unlinked) would cost more than the rows.
    this.db.pragma('temp.journal_mode = MEMORY');
    const db = this.db;
    this.s = {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?'),
      deleteMeta: db.prepare('DELETE FROM meta WHERE name = ?'),
      containerHighWater: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'containers'").pluck(),
      setMeta: db.prepare('INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value'),
      counters: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM counters'),
      addCounter: db.prepare('UPDATE counters SET value = value + ? WHERE name = ?'),
      chunk: db.prepare<[Buffer], ChunkLocation>(
        'SELECT container, offset, stored_len AS storedLength, raw_len AS rawLength FROM chunks WHERE fp = ?',
      ),
      chunkExists: db.prepare<[Buffer], { one: number }>('SELECT 1 AS one FROM chunks WHERE fp = ?').pluck(),
      chunksOfContainer: db
        .prepare<[number], [Buffer, number, number, number]>(
          'SELECT fp, offset, stored_len, raw_len FROM chunks WHERE container = ? ORDER BY offset',
        )
        .raw(),
      chunkRowsOfContainer: db.prepare<[number], Omit<ChunkRow, 'container'>>(
        `SELECT fp AS fingerprint, offset, stored_len AS storedLength, raw_len AS rawLength, kind, codec
         FROM chunks WHERE container = ? ORDER BY offset`,
      ),
      maxIndexedEnd: db
        .prepare<[number], number | null>('SELECT max(offset + 64 + stored_len) FROM chunks WHERE container = ?')
        .pluck(),
      allFingerprints: db.prepare<[], Buffer>('SELECT fp FROM chunks').pluck(),
      stage: db.prepare(
        `INSERT OR IGNORE INTO staged (session, fp, container, offset, stored_len, raw_len, kind, codec)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      staged: db.prepare<[Buffer], ChunkRow>(
        `SELECT fp AS fingerprint, container, offset, stored_len AS storedLength, raw_len AS rawLength, kind, codec
         FROM staged WHERE fp = ? LIMIT 1`,
      ),
      newlyStaged: db.prepare<[number], { kind: number; n: number; raw: number; stored: number }>(
        `SELECT kind, count(*) AS n, coalesce(sum(raw_len), 0) AS raw, coalesce(sum(stored_len), 0) AS stored
         FROM staged s WHERE session = ? AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.fp = s.fp) GROUP BY kind`,
      ),
      promoteStaged: db.prepare(
        `INSERT OR IGNORE INTO chunks (fp, container, offset, stored_len, raw_len, kind, codec)
         SELECT fp, container, offset, stored_len, raw_len, kind, codec FROM staged WHERE session = ?`,
      ),
      dropStaged: db.prepare('DELETE FROM staged WHERE session = ?'),
      insertChunk: db.prepare(
        `INSERT OR IGNORE INTO chunks (fp, container, offset, stored_len, raw_len, kind, codec) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      getObject: db.prepare<[Buffer], ObjectRowDb>(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE key = ?`),
      putObject: db.prepare(
        `INSERT OR REPLACE INTO objects (key, size, etag, mtime_ms, content_type, user_meta, system_meta,
           recipe_root, recipe_height, chunk_count)
         VALUES (@key, @size, @etag, @mtimeMs, @contentType, @userMetadata, @systemMetadata,
           @recipeRoot, @recipeHeight, @chunkCount)`,
      ),
      deleteObject: db.prepare('DELETE FROM objects WHERE key = ?'),
      firstKeyFrom: db.prepare<[Buffer], ObjectRowDb>(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE key >= ? ORDER BY key LIMIT 1`,
      ),
      firstKeyAfter: db.prepare<[Buffer], ObjectRowDb>(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE key > ? ORDER BY key LIMIT 1`,
      ),
      keysFrom: db.prepare<[Buffer, number], ObjectRowDb>(
        `SELECT ${OBJECT_COLUMNS} FROM objects WHERE key >= ? ORDER BY key LIMIT ?`,
      ),
      rootsFirst: db.prepare<[number], RecipeRootRow>(
        'SELECT key, recipe_root AS recipeRoot, recipe_height AS recipeHeight FROM objects ORDER BY key LIMIT ?',
      ),
      rootsAfter: db.prepare<[Buffer, number], RecipeRootRow>(
        'SELECT key, recipe_root AS recipeRoot, recipe_height AS recipeHeight FROM objects WHERE key > ? ORDER BY key LIMIT ?',
      ),
      objectRootsSince: db.prepare<[number], { recipeRoot: Buffer | null; recipeHeight: number }>(
        'SELECT recipe_root AS recipeRoot, recipe_height AS recipeHeight FROM objects WHERE mtime_ms >= ?',
      ),
      partRootsSince: db.prepare<[number], { recipeRoot: Buffer | null; recipeHeight: number }>(
        'SELECT recipe_root AS recipeRoot, recipe_height AS recipeHeight FROM parts WHERE mtime_ms >= ?',
      ),
      deleteChunksOfContainer: db.prepare('DELETE FROM chunks WHERE container = ?'),
      moveChunk: db.prepare('UPDATE chunks SET container = ?, offset = ? WHERE fp = ? AND container = ?'),
      uploadsBefore: db.prepare<[number], string>('SELECT upload_id FROM uploads WHERE created_ms < ?').pluck(),
      partRoots: db.prepare<[], { recipeRoot: Buffer | null; recipeHeight: number }>(
        'SELECT recipe_root AS recipeRoot, recipe_height AS recipeHeight FROM parts',
      ),
      insertUpload: db.prepare(
        `INSERT INTO uploads (upload_id, key, created_ms, content_type, user_meta, system_meta)
         VALUES (@uploadId, @key, @createdMs, @contentType, @userMetadata, @systemMetadata)`,
      ),
      getUpload: db.prepare<[string], UploadRow>(`SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE upload_id = ?`),
      uploadsFrom: db.prepare<[Buffer, Buffer, string, number], UploadRow>(
        `SELECT ${UPLOAD_COLUMNS} FROM uploads WHERE key >= ? AND (key > ? OR upload_id > ?) ORDER BY key, upload_id LIMIT ?`,
      ),
      deleteUpload: db.prepare('DELETE FROM uploads WHERE upload_id = ?'),
      putPart: db.prepare(
        `INSERT OR REPLACE INTO parts (upload_id, part_number, size, etag, system_meta, recipe_root, recipe_height, chunk_count, mtime_ms)
         VALUES (@uploadId, @partNumber, @size, @etag, @systemMetadata, @recipeRoot, @recipeHeight, @chunkCount, @mtimeMs)`,
      ),
      parts: db.prepare<[string, number, number], PartRow>(
        `SELECT ${PART_COLUMNS} FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`,
      ),
      deleteParts: db.prepare('DELETE FROM parts WHERE upload_id = ?'),
      insertContainer: db.prepare('INSERT INTO containers (state, created_ms) VALUES (0, ?)'),
      sealContainer: db.prepare('UPDATE containers SET state = 1, bytes = ?, records = ?, sealed_ms = ? WHERE id = ?'),
      deleteContainer: db.prepare<[number], number>('DELETE FROM containers WHERE id = ? RETURNING bytes').pluck(),
      containerBytes: db.prepare<[number], number>('SELECT bytes FROM containers WHERE id = ?').pluck(),
      counter: db.prepare<[string], number>('SELECT value FROM counters WHERE name = ?').pluck(),
      containers: db.prepare<[], ContainerRowDb>('SELECT id, state, bytes, records, created_ms FROM containers ORDER BY id'),
      containerState: db.prepare<[number], number>('SELECT state FROM containers WHERE id = ?').pluck(),
      openContainers: db.prepare<[], ContainerRowDb>(
        'SELECT id, state, bytes, records, created_ms FROM containers WHERE state = 0 ORDER BY id',
      ),
      orphanChunks: db
        .prepare<[], Buffer>('SELECT fp FROM chunks WHERE container NOT IN (SELECT id FROM containers)')
        .pluck(),
      containerIdRange: db.prepare<[], { lo: number | null; hi: number | null }>('SELECT (SELECT min(id) FROM containers) AS lo, (SELECT max(id) FROM containers) AS hi'),
      countContainers: db.prepare(
        `INSERT OR REPLACE INTO counters (name, value) VALUES
           ('${CONTAINERS}', (SELECT count(*) FROM containers)),
           ('${CONTAINER_BYTES}', (SELECT coalesce(sum(bytes), 0) FROM containers))`,
      ),
    };
    this.s.countContainers.run();
  }

  close(): void {
    if (this.db.open) this.db.close();
    // Once the syncs under way are done: SQLite has just checkpointed the WAL into the database and synced it.
    void this.wal.close();
  }

  /** fdatasyncs of the WAL so far: fewer than the streams committed when their commits overlap. */
  get walFlushes(): number {
    return this.wal.flushes;
  }

  getMeta(name: string): string | undefined {
    return this.s.getMeta.get(name)?.value;
  }

  setMeta(name: string, value: string): void {
    this.s.setMeta.run(name, value);
  }

  deleteMeta(name: string): void {
    this.s.deleteMeta.run(name);
  }

  /**
   * The highest container id ever given (ids are never reused), 0 before the
   * first. Any chunk written after a clean close, by any build, lands in a
   * container made after it, so this moves whenever chunks were added.
   */
  containerHighWater(): number {
    return this.s.containerHighWater.get() ?? 0;
  }

  counters(): Counters {
    const out = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as unknown as Counters;
    for (const row of this.s.counters.all()) {
      if ((COUNTER_NAMES as string[]).includes(row.name)) out[row.name as keyof Counters] = row.value;
    }
    return out;
  }

  chunkLocation(fp: Buffer): ChunkLocation | undefined {
    return this.s.chunk.get(fp);
  }

  hasChunk(fp: Buffer): boolean {
    return this.s.chunkExists.get(fp) !== undefined;
  }

  /** Every committed chunk of a container: [fingerprint, offset, stored length, raw length], by offset. */
  chunksOfContainer(container: number): [Buffer, number, number, number][] {
    return this.s.chunksOfContainer.all(container);
  }

  chunkRowsOfContainer(container: number): Omit<ChunkRow, 'container'>[] {
    return this.s.chunkRowsOfContainer.all(container);
  }

  /** End of the last committed record of a container: recovery never cuts below it. */
  maxIndexedEnd(container: number): number {
    return this.s.maxIndexedEnd.get(container) ?? 0;
  }

  allFingerprints(): IterableIterator<Buffer> {
    return this.s.allFingerprints.iterate();
  }

  /** Records chunks a stream wrote or leaned on, to be committed with its object. */
  stage(session: number, rows: readonly ChunkRow[]): void {
    this.db.transaction(() => {
      for (const r of rows) {
        this.s.stage.run(session, r.fingerprint, r.container, r.offset, r.storedLength, r.rawLength, r.kind, r.codec);
      }
    })();
  }

  /** A chunk some stream has written but not yet committed. */
  stagedChunk(fp: Buffer): ChunkRow | undefined {
    return this.s.staged.get(fp);
  }

  dropStaged(session: number): void {
    this.s.dropStaged.run(session);
  }

  /**
   * The commit: the stream's chunks join the index, and `write` records what
   * they became (an object, a part), in one transaction. `write` may throw to
   * refuse the commit; nothing then changes. The rows are visible at once and
   * durable when the promise resolves (see WalSync): acknowledge only then.
   */
  async commitStream<T>(session: number, write: () => T): Promise<T> {
    const result = this.relaxed(() =>
      this.db.transaction(() => {
        for (const g of this.s.newlyStaged.all(session)) this.addChunks(g.kind === 1, g.n, g.raw, g.stored);
        this.s.promoteStaged.run(session);
        return write();
      }).immediate(),
    );
    this.s.dropStaged.run(session);
    await this.wal.sync();
    return result;
  }

  /**
   * Commits chunks that belong to no object yet (a client pushed them; its
   * recipe follows). Resolves, once durable, to the rows that were new: a chunk
   * committed by someone else meanwhile keeps its first copy. `committed` sees
   * those rows as soon as they are visible, before the WAL is synced.
   */
  async commitChunks(rows: readonly ChunkRow[], committed?: (fresh: readonly ChunkRow[]) => void): Promise<ChunkRow[]> {
    const added = this.relaxed(() =>
      this.db.transaction(() => {
        const fresh: ChunkRow[] = [];
        for (const r of rows) {
          if (this.s.insertChunk.run(r.fingerprint, r.container, r.offset, r.storedLength, r.rawLength, r.kind, r.codec).changes > 0) fresh.push(r);
        }
        this.addChunks(false, fresh.length, fresh.reduce((n, r) => n + r.rawLength, 0), fresh.reduce((n, r) => n + r.storedLength, 0));
        return fresh;
      }).immediate(),
    );
    committed?.(added);
    await this.wal.sync();
    return added;
  }

  /** Inside a transaction: puts an object row, keeping the counters right. `check` sees what it replaces. */
  writeObject(row: ObjectRow, check?: (existing: ObjectRow | undefined, counters: Counters) => void): ObjectRow | undefined {
    const existing = this.getObject(row.key);
    check?.(existing, this.counters());
    this.s.putObject.run(row);
    this.add('logicalBytes', row.size - (existing?.size ?? 0));
    this.add('objects', existing ? 0 : 1);
    return existing;
  }

  /** Adds an object that shares an existing recipe: no chunk changes. */
  putObjectRow(row: ObjectRow, check?: (existing: ObjectRow | undefined, counters: Counters) => void): void {
    this.db.transaction(() => this.writeObject(row, check)).immediate();
  }

  insertUpload(u: UploadRow): void {
    this.s.insertUpload.run(u);
  }

  getUpload(uploadId: string): UploadRow | undefined {
    return this.s.getUpload.get(uploadId);
  }

  /** Uploads in (key, upload id) order, from after the given marker. */
  uploadsFrom(key: Buffer, uploadIdAfter: string, limit: number): UploadRow[] {
    return this.s.uploadsFrom.all(key, key, uploadIdAfter, limit);
  }

  /** Inside a transaction: puts a part row (replacing one of the same number). */
  writePart(p: PartRow): void {
    this.s.putPart.run(p);
  }

  parts(uploadId: string, afterPart: number, limit: number): PartRow[] {
    return this.s.parts.all(uploadId, afterPart, limit);
  }

  allParts(uploadId: string): PartRow[] {
    return this.s.parts.all(uploadId, 0, 1_000_000);
  }

  /** Forgets an upload and its parts (their chunks are left for garbage collection). */
  deleteUpload(uploadId: string): boolean {
    return this.db.transaction(() => {
      this.s.deleteParts.run(uploadId);
      return this.s.deleteUpload.run(uploadId).changes > 0;
    }).immediate();
  }

  /** Inside a transaction: the same, as part of a commit. */
  dropUpload(uploadId: string): void {
    this.s.deleteParts.run(uploadId);
    this.s.deleteUpload.run(uploadId);
  }

  /** Runs fn in one immediate transaction. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  deleteObject(key: Buffer): ObjectRow | undefined {
    return this.db.transaction(() => {
      const existing = this.getObject(key);
      if (!existing) return undefined;
      this.s.deleteObject.run(key);
      this.add('logicalBytes', -existing.size);
      this.add('objects', -1);
      return existing;
    }).immediate();
  }

  getObject(key: Buffer): ObjectRow | undefined {
    const r = this.s.getObject.get(key);
    return r ? fromDb(r) : undefined;
  }

  /** The first object whose key is >= (or >, when exclusive) the given one. */
  firstObjectFrom(key: Buffer, exclusive: boolean): ObjectRow | undefined {
    const r = (exclusive ? this.s.firstKeyAfter : this.s.firstKeyFrom).get(key);
    return r ? fromDb(r) : undefined;
  }

  objectsFrom(key: Buffer, limit: number): ObjectRow[] {
    return this.s.keysFrom.all(key, limit).map(fromDb);
  }

  /**
   * Allocates a container id. Needs no fsync of its own: any commit that
   * points into the container comes later in the WAL, and its fsync carries
   * this row with it. A row lost in a crash leaves at most an id that is handed
   * out again, over a file that held nothing committed.
   */
  createContainer(createdMs: number): number {
    return this.relaxed(() =>
      this.db.transaction(() => {
        const id = Number(this.s.insertContainer.run(createdMs).lastInsertRowid);
        this.addContainers(1, 0);
        return id;
      })(),
    );
  }

  /** Needs no fsync: were it lost, start-up finds the sealed trailer and records it again. */
  sealContainer(id: number, bytes: number, records: number, sealedMs: number): void {
    this.relaxed(() =>
      this.db.transaction(() => {
        const before = this.s.containerBytes.get(id);
        if (before === undefined) return;
        this.s.sealContainer.run(bytes, records, sealedMs, id);
        this.addContainers(0, bytes - before);
      })(),
    );
  }

  /** Runs fn without fsync at its commit: for rows whose loss a later durable commit or start-up repairs, or that WalSync makes durable. */
  private relaxed<T>(fn: () => T): T {
    // exec, not pragma(): the same statement without a Statement object and a result array, a quarter of the time.
    this.db.exec('PRAGMA synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  deleteContainer(id: number): void {
    this.db.transaction(() => this.dropContainerRow(id))();
  }

  /** Inside a transaction: a container's row goes, and with it its share of the totals. */
  private dropContainerRow(id: number): void {
    const bytes = this.s.deleteContainer.get(id);
    if (bytes !== undefined) this.addContainers(-1, -bytes);
  }

  /**
   * The containers' count and bytes, kept beside their rows like the other
   * counters, so that full statistics do not sum a table that grows with the
   * unit. Counted again from the rows at every open: a build from before these
   * counters may have added or removed containers without them.
   */
  private addContainers(count: number, bytes: number): void {
    if (count !== 0) this.s.addCounter.run(count, CONTAINERS);
    if (bytes !== 0) this.s.addCounter.run(bytes, CONTAINER_BYTES);
  }

  /**
   * Every object's key and recipe root, in key order, `size` at a time (the
   * last page may be short or empty): the walks of garbage collection and
   * verify. Each page is read whole, so no statement stays open while the
   * caller awaits node reads; a held cursor would make every other statement
   * on the connection fail as busy.
   */
  *recipeRootPages(size = ROOT_PAGE): Generator<RecipeRootRow[]> {
    for (let after: Buffer | null = null; ; ) {
      const page: RecipeRootRow[] = after === null ? this.s.rootsFirst.all(size) : this.s.rootsAfter.all(after, size);
      yield page;
      if (page.length < size) return;
      after = page[page.length - 1]!.key;
    }
  }

  /** Recipe roots of objects and parts written at or after sinceMs: what a collection walks again after its barrier. */
  recipeRootsSince(sinceMs: number): { recipeRoot: Buffer | null; recipeHeight: number }[] {
    return [...this.s.objectRootsSince.all(sinceMs), ...this.s.partRootsSince.all(sinceMs)];
  }

  /**
   * Lets a sealed container go, in one transaction: its chunks that were
   * copied forward (compaction; none when it held nothing live) point at their
   * copies, the rest go with the counters (they must all be dead), and its row
   * goes. Returns null, changing nothing, when a chunk that was not copied is
   * live by now (a stream leaned on it meanwhile).
   */
  releaseContainer(id: number, copies: ReadonlyMap<string, ChunkLocation>, isLive: (fp: Buffer) => boolean): { moved: number; removed: number } | null {
    return this.db.transaction(() => {
      const rows = this.s.chunkRowsOfContainer.all(id);
      const left = rows.filter((r) => !copies.has(r.fingerprint.toString('hex')));
      if (left.some((r) => isLive(r.fingerprint))) return null;
      let moved = 0;
      for (const r of rows) {
        const to = copies.get(r.fingerprint.toString('hex'));
        if (to) moved += this.s.moveChunk.run(to.container, to.offset, r.fingerprint, id).changes;
      }
      this.removeRows(left);
      this.s.deleteChunksOfContainer.run(id);
      this.dropContainerRow(id);
      return { moved, removed: left.length };
    }).immediate();
  }

  /** Ids of multipart uploads begun before beforeMs. */
  uploadsCreatedBefore(beforeMs: number): string[] {
    return this.s.uploadsBefore.all(beforeMs);
  }

  /** The recipe roots of every part of every multipart upload in progress. */
  partRoots(): { recipeRoot: Buffer | null; recipeHeight: number }[] {
    return this.s.partRoots.all();
  }

  /**
   * Per container, indexed record bytes (headers included) and those whose
   * fingerprint the mark set at markPath lacks, beside the container's size
   * and record count when it was sealed.
   *
   * A unit of 3 million chunks takes seconds to join against its marks, so
   * the join runs a few thousand chunks at a time, by container range, with a
   * turn of the event loop between: requests to every unit go on meanwhile.
   * The mark file is attached for each page only, so no other statement ever
   * runs with it attached.
   */
  async livenessByContainer(markPath: string, headerBytes: number, pageRows = LIVENESS_PAGE_ROWS): Promise<ContainerLivenessRow[]> {
    const out: ContainerLivenessRow[] = [];
    const range = this.s.containerIdRange.get();
    if (!range || range.lo === null || range.hi === null) return out;
    let width = 64;
    for (let from = range.lo; from <= range.hi; ) {
      const to = Math.min(range.hi + 1, from + width);
      const page = this.livenessPage(markPath, headerBytes, from, to);
      out.push(...page);
      // The next page's width aims at pageRows chunks, growing at most fourfold past empty ranges.
      const rows = page.reduce((n, r) => n + r.records, 0);
      width = Math.max(1, Math.min(width * 4, Math.floor((width * pageRows) / Math.max(rows, 1))));
      from = to;
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  private livenessPage(markPath: string, headerBytes: number, from: number, to: number): ContainerLivenessRow[] {
    this.db.prepare('ATTACH DATABASE ? AS gc').run(markPath);
    try {
      return this.db
        .prepare<[number, number, number, number, number], Omit<ContainerLivenessRow, 'sealed'> & { sealed: number }>(
          `SELECT c.container AS container, k.state = 1 AS sealed, k.bytes AS fileBytes, k.records AS fileRecords,
                  sum(c.stored_len + ?) AS bytes,
                  sum(CASE WHEN l.fp IS NULL THEN c.stored_len + ? ELSE 0 END) AS deadBytes,
                  sum(CASE WHEN l.fp IS NULL AND c.kind = ? THEN c.raw_len ELSE 0 END) AS deadDataRawBytes,
                  count(*) AS records,
                  sum(l.fp IS NULL) AS deadRecords
           FROM chunks c LEFT JOIN gc.live l ON l.fp = c.fp JOIN containers k ON k.id = c.container
           WHERE c.container >= ? AND c.container < ?
           GROUP BY c.container ORDER BY c.container`,
        )
        .all(headerBytes, headerBytes, ChunkKind.Data, from, to)
        .map((r) => ({ ...r, sealed: r.sealed === 1 }));
    } finally {
      this.db.prepare('DETACH DATABASE gc').run();
    }
  }

  containers(): ContainerRow[] {
    return this.s.containers.all().map(containerFromDb);
  }

  containerState(id: number): ContainerState | undefined {
    const s = this.s.containerState.get(id);
    return s === undefined ? undefined : s === 1 ? 'sealed' : 'open';
  }

  openContainers(): ContainerRow[] {
    return this.s.openContainers.all().map(containerFromDb);
  }

  /** Chunks whose container the index does not know: damage. */
  orphanChunks(): Buffer[] {
    return this.s.orphanChunks.all();
  }

  /** The containers and their sealed bytes (an open container counts none until it is sealed). */
  containerTotals(): { count: number; bytes: number } {
    return { count: this.s.counter.get(CONTAINERS) ?? 0, bytes: this.s.counter.get(CONTAINER_BYTES) ?? 0 };
  }

  private add(name: keyof Counters, delta: number): void {
    if (delta !== 0) this.s.addCounter.run(delta, name);
  }

  /** Inside a transaction: the counters of chunks that are about to leave (their rows are the caller's to delete). */
  private removeRows(rows: readonly Omit<ChunkRow, 'container'>[]): void {
    // Totals per kind, then one counter update each: a container holds thousands of chunks.
    for (const recipe of [false, true]) {
      const of = rows.filter((r) => (r.kind === 1) === recipe);
      this.addChunks(recipe, -of.length, -of.reduce((n, r) => n + r.rawLength, 0), -of.reduce((n, r) => n + r.storedLength, 0));
    }
  }

  /** Chunks joining (or, with negative figures, leaving) the index: the counters of their kind. */
  private addChunks(recipe: boolean, count: number, rawBytes: number, storedBytes: number): void {
    this.add(recipe ? 'recipeChunks' : 'dataChunks', count);
    this.add(recipe ? 'recipeRawBytes' : 'dataRawBytes', rawBytes);
    this.add(recipe ? 'recipeStoredBytes' : 'dataStoredBytes', storedBytes);
  }

  private ensureSchema(): void {
    const hasMeta = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
      .pluck()
      .get();
    if (!hasMeta) {
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('schema_version', String(INDEX_SCHEMA_VERSION));
        const insert = this.db.prepare('INSERT INTO counters (name, value) VALUES (?, 0)');
        for (const n of COUNTER_NAMES) insert.run(n);
      }).immediate();
      return;
    }
    let version = Number(this.getMetaRaw('schema_version'));
    if (version === 1) {
      this.migratedFrom = 1;
      version = this.migrateFrom1();
    }
    if (version !== INDEX_SCHEMA_VERSION) {
      throw new IndexFormatError(`index schema version ${version} is not supported (this build reads ${INDEX_SCHEMA_VERSION})`);
    }
  }

  /**
   * Version 1's container index lacked raw_len and kind, so every locality
   * load (each cache miss while deduplicating) sought every row's table entry
   * as well, and garbage collection could not read a range of containers
   * from the index alone. Rebuilding it reads the chunks table once, at the
   * first open.
   */
  private migrateFrom1(): number {
    this.db.transaction(() => {
      this.db.exec('DROP INDEX chunks_by_container');
      this.db.exec('CREATE INDEX chunks_by_container ON chunks (container, offset, stored_len, raw_len, kind)');
      this.db.prepare("UPDATE meta SET value = '2' WHERE name = 'schema_version'").run();
    }).immediate();
    return 2;
  }

  private getMetaRaw(name: string): string | undefined {
    return (this.db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: string } | undefined)?.value;
  }
}

const UPLOAD_COLUMNS =
  'upload_id AS uploadId, key, created_ms AS createdMs, content_type AS contentType, user_meta AS userMetadata, system_meta AS systemMetadata';
const PART_COLUMNS =
  'upload_id AS uploadId, part_number AS partNumber, size, etag, system_meta AS systemMetadata, recipe_root AS recipeRoot, recipe_height AS recipeHeight, chunk_count AS chunkCount, mtime_ms AS mtimeMs';

const OBJECT_COLUMNS =
  'key, size, etag, mtime_ms, content_type, user_meta, system_meta, recipe_root, recipe_height, chunk_count';

interface ObjectRowDb {
  key: Buffer;
  size: number;
  etag: string;
  mtime_ms: number;
  content_type: string | null;
  user_meta: string;
  system_meta: string;
  recipe_root: Buffer | null;
  recipe_height: number;
  chunk_count: number;
}

function fromDb(r: ObjectRowDb): ObjectRow {
  return {
    key: r.key,
    size: r.size,
    etag: r.etag,
    mtimeMs: r.mtime_ms,
    contentType: r.content_type,
    userMetadata: r.user_meta,
    systemMetadata: r.system_meta,
    recipeRoot: r.recipe_root,
    recipeHeight: r.recipe_height,
    chunkCount: r.chunk_count,
  };
}

interface ContainerRowDb {
  id: number;
  state: number;
  bytes: number;
  records: number;
  created_ms: number;
}

function containerFromDb(r: ContainerRowDb): ContainerRow {
  return { id: r.id, state: r.state === 1 ? 'sealed' : 'open', bytes: r.bytes, records: r.records, createdMs: r.created_ms };
}
