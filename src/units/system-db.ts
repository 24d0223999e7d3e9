import { chmodSync, closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

export const SYSTEM_SCHEMA_VERSION = 1;

export type UnitState = 'active' | 'deleting';
export type Access = 'read-write' | 'read-only';
export type KeyKind = 'admin' | 'unit';

export interface UnitRow {
  name: string;
  createdMs: number;
  /** What the unit was created with (JSON), for show. The store keeps the authoritative copy. */
  parameters: string;
  quotaSoft: number | null;
  quotaHard: number | null;
  state: UnitState;
}

export interface KeyRow {
  accessKeyId: string;
  sealedSecret: Buffer;
  kind: KeyKind;
  description: string;
  createdMs: number;
  revokedMs: number | null;
}

export interface GrantRow {
  accessKeyId: string;
  unit: string;
  access: Access;
}

const SCHEMA = `
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE units (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL,
  parameters TEXT NOT NULL,
  quota_soft INTEGER,
  quota_hard INTEGER,
  state TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE keys (
  access_key_id TEXT PRIMARY KEY,
  sealed_secret BLOB NOT NULL,
  kind TEXT NOT NULL,
  description TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE grants (
  access_key_id TEXT NOT NULL,
  unit TEXT NOT NULL,
  access TEXT NOT NULL,
  PRIMARY KEY (access_key_id, unit)
) WITHOUT ROWID;
`;

/** The system database: which units exist, their quotas, and the access keys. */
export class SystemDb {
  readonly db: Database.Database;

  constructor(path: string) {
    // Created owner-only before SQLite opens it: it holds sealed secrets, and SQLite gives its WAL
    // and shared-memory files the same permissions as the database file.
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    const has = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get();
    if (!has) {
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run('schema_version', String(SYSTEM_SCHEMA_VERSION));
      }).immediate();
    } else {
      const v = Number(this.db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").pluck().get());
      if (v !== SYSTEM_SCHEMA_VERSION) throw new Error(`system database schema ${v} is not supported (this build reads ${SYSTEM_SCHEMA_VERSION})`);
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  units(): UnitRow[] {
    return this.db
      .prepare('SELECT name, created_ms AS createdMs, parameters, quota_soft AS quotaSoft, quota_hard AS quotaHard, state FROM units ORDER BY name')
      .all() as UnitRow[];
  }

  unit(name: string): UnitRow | undefined {
    return this.db
      .prepare('SELECT name, created_ms AS createdMs, parameters, quota_soft AS quotaSoft, quota_hard AS quotaHard, state FROM units WHERE name = ?')
      .get(name) as UnitRow | undefined;
  }

  insertUnit(row: UnitRow): void {
    this.db
      .prepare('INSERT INTO units (name, created_ms, parameters, quota_soft, quota_hard, state) VALUES (?, ?, ?, ?, ?, ?)')
      .run(row.name, row.createdMs, row.parameters, row.quotaSoft, row.quotaHard, row.state);
  }

  setQuota(name: string, soft: number | null, hard: number | null): void {
    this.db.prepare('UPDATE units SET quota_soft = ?, quota_hard = ? WHERE name = ?').run(soft, hard, name);
  }

  setState(name: string, state: UnitState): void {
    this.db.prepare('UPDATE units SET state = ? WHERE name = ?').run(state, name);
  }

  /** Forgets a unit and every grant on it. */
  deleteUnit(name: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM grants WHERE unit = ?').run(name);
      this.db.prepare('DELETE FROM units WHERE name = ?').run(name);
    }).immediate();
  }

  keys(): KeyRow[] {
    return this.db
      .prepare(
        'SELECT access_key_id AS accessKeyId, sealed_secret AS sealedSecret, kind, description, created_ms AS createdMs, revoked_ms AS revokedMs FROM keys ORDER BY created_ms, access_key_id',
      )
      .all() as KeyRow[];
  }

  key(accessKeyId: string): KeyRow | undefined {
    return this.db
      .prepare(
        'SELECT access_key_id AS accessKeyId, sealed_secret AS sealedSecret, kind, description, created_ms AS createdMs, revoked_ms AS revokedMs FROM keys WHERE access_key_id = ?',
      )
      .get(accessKeyId) as KeyRow | undefined;
  }

  insertKey(row: KeyRow, grants: readonly GrantRow[]): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO keys (access_key_id, sealed_secret, kind, description, created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, NULL)')
        .run(row.accessKeyId, row.sealedSecret, row.kind, row.description, row.createdMs);
      const insert = this.db.prepare('INSERT INTO grants (access_key_id, unit, access) VALUES (?, ?, ?)');
      for (const g of grants) insert.run(g.accessKeyId, g.unit, g.access);
    }).immediate();
  }

  revokeKey(accessKeyId: string, nowMs: number): boolean {
    return this.db.prepare('UPDATE keys SET revoked_ms = ? WHERE access_key_id = ? AND revoked_ms IS NULL').run(nowMs, accessKeyId).changes > 0;
  }

  grants(accessKeyId?: string): GrantRow[] {
    const sql = 'SELECT access_key_id AS accessKeyId, unit, access FROM grants';
    return (accessKeyId === undefined
      ? this.db.prepare(`${sql} ORDER BY access_key_id, unit`).all()
      : this.db.prepare(`${sql} WHERE access_key_id = ? ORDER BY unit`).all(accessKeyId)) as GrantRow[];
  }
}
