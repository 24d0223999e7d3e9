import { randomInt } from 'node:crypto';
import type { SecretBox } from './secret-box.js';
import type { Access, GrantRow, KeyKind, SystemDb } from './system-db.js';

export interface Grant {
  unit: string;
  access: Access;
}

/** An access key as described to admins: never with its secret. */
export interface AccessKey {
  accessKeyId: string;
  kind: KeyKind;
  description: string;
  createdMs: number;
  revokedMs: number | null;
  grants: Grant[];
}

export interface IssuedKey extends AccessKey {
  /** Shown once, when the key is issued. */
  secretAccessKey: string;
}

export type Action = 'read' | 'write';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const SECRET_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/**
 * Access keys: an id and a secret, each for an admin or for named units with
 * read-write or read-only access. Lookups are cached; every change clears the
 * cache, so a revoked key stops working with the next request.
 */
export class Credentials {
  private cache = new Map<string, { secret: string; key: AccessKey }>();

  constructor(
    private readonly db: SystemDb,
    private readonly box: SecretBox,
  ) {}

  issue(kind: KeyKind, grants: readonly Grant[], description = ''): IssuedKey {
    const accessKeyId = `CK${randomString(ID_ALPHABET, 18)}`;
    const secretAccessKey = randomString(SECRET_ALPHABET, 40);
    const createdMs = Date.now();
    const rows: GrantRow[] = kind === 'admin' ? [] : grants.map((g) => ({ accessKeyId, unit: g.unit, access: g.access }));
    this.db.insertKey({ accessKeyId, sealedSecret: this.box.seal(secretAccessKey, accessKeyId), kind, description, createdMs, revokedMs: null }, rows);
    this.changed();
    return { accessKeyId, secretAccessKey, kind, description, createdMs, revokedMs: null, grants: rows.map(({ unit, access }) => ({ unit, access })) };
  }

  list(): AccessKey[] {
    const grants = new Map<string, Grant[]>();
    for (const g of this.db.grants()) {
      const list = grants.get(g.accessKeyId) ?? [];
      list.push({ unit: g.unit, access: g.access });
      grants.set(g.accessKeyId, list);
    }
    return this.db.keys().map((k) => ({
      accessKeyId: k.accessKeyId,
      kind: k.kind,
      description: k.description,
      createdMs: k.createdMs,
      revokedMs: k.revokedMs,
      grants: grants.get(k.accessKeyId) ?? [],
    }));
  }

  get(accessKeyId: string): AccessKey | undefined {
    const k = this.db.key(accessKeyId);
    if (!k) return undefined;
    return {
      accessKeyId: k.accessKeyId,
      kind: k.kind,
      description: k.description,
      createdMs: k.createdMs,
      revokedMs: k.revokedMs,
      grants: this.db.grants(accessKeyId).map(({ unit, access }) => ({ unit, access })),
    };
  }

  revoke(accessKeyId: string): boolean {
    const done = this.db.revokeKey(accessKeyId, Date.now());
    this.changed();
    return done;
  }

  /** For authentication: the secret of a live key, or undefined for an unknown or revoked one. */
  resolve(accessKeyId: string): { secret: string; key: AccessKey } | undefined {
    const cached = this.cache.get(accessKeyId);
    if (cached) return cached;
    const row = this.db.key(accessKeyId);
    if (!row || row.revokedMs !== null) return undefined;
    const entry = { secret: this.box.open(row.sealedSecret, row.accessKeyId), key: this.get(accessKeyId)! };
    this.cache.set(accessKeyId, entry);
    return entry;
  }

  hasAdminKey(): boolean {
    return this.db.keys().some((k) => k.kind === 'admin' && k.revokedMs === null);
  }

  /** Grants changed underneath (a unit was deleted): forget cached keys. */
  changed(): void {
    this.cache = new Map();
  }
}

/** May this key do this to this unit? Admin keys may do anything. */
export function mayAccess(key: AccessKey, unit: string, action: Action): boolean {
  if (key.kind === 'admin') return true;
  const grant = key.grants.find((g) => g.unit === unit);
  if (!grant) return false;
  return action === 'read' || grant.access === 'read-write';
}
