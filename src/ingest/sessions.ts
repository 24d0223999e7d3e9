import { randomBytes } from 'node:crypto';
import type { ComposedObject } from '../store/composed-object.js';

/** One push in progress: the object its recipe is building, and who may drive it. */
export interface IngestSession {
  readonly id: string;
  readonly unit: string;
  readonly accessKeyId: string;
  readonly composed: ComposedObject;
  lastUsedMs: number;
  /** Requests in progress: a session is never expired from under one. */
  busy: number;
  /** Set once a commit has begun: nothing else may touch the session. */
  committing: boolean;
}

/** The session does not exist, has ended, or belongs to another key: all look the same. */
export class NoSuchSessionError extends Error {
  override name = 'NoSuchSessionError';
  constructor(id: string) {
    super(`no ingest session ${JSON.stringify(id)}: it ended, expired or was never opened (a server restart ends sessions; push again)`);
  }
}

export class TooManySessionsError extends Error {
  override name = 'TooManySessionsError';
  constructor(
    limit: number,
    /** True when the caller's own key holds its share; false when the whole server is full. */
    readonly perKey: boolean,
  ) {
    super(
      perKey
        ? `this access key has ${limit} ingest sessions open, its limit; commit or abort some (idle ones expire)`
        : `the server has ${limit} ingest sessions open, its limit; try again when some have ended`,
    );
  }
}

/** Sessions one access key may hold open: one key (one tenant) cannot take every session of the server. */
export const SESSIONS_PER_KEY = 64;

/**
 * The open ingest sessions of the server. A session idle for longer than the
 * limit is aborted: its object never appears, and the chunks it uploaded stay
 * in the unit, unreferenced, for the next push to find or for garbage
 * collection.
 */
export class IngestSessions {
  private readonly sessions = new Map<string, IngestSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    private readonly limit: number,
    private readonly log: (message: string, fields: Record<string, unknown>) => void,
  ) {
    this.sweeper = setInterval(() => void this.sweep(Date.now()), Math.max(250, Math.min(60_000, idleMs / 4)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  open(unit: string, accessKeyId: string, composed: () => ComposedObject): IngestSession {
    let mine = 0;
    for (const s of this.sessions.values()) if (s.accessKeyId === accessKeyId) mine++;
    if (mine >= SESSIONS_PER_KEY) throw new TooManySessionsError(SESSIONS_PER_KEY, true);
    if (this.sessions.size >= this.limit) throw new TooManySessionsError(this.limit, false);
    const session: IngestSession = {
      id: randomBytes(18).toString('base64url'),
      unit,
      accessKeyId,
      composed: composed(),
      lastUsedMs: Date.now(),
      busy: 0,
      committing: false,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /**
   * Runs fn on the session, which must be the caller's and not committing;
   * the session counts as busy (never expired) until fn settles.
   */
  async use<T>(id: string, accessKeyId: string, fn: (s: IngestSession) => Promise<T> | T): Promise<T> {
    const s = this.sessions.get(id);
    if (!s || s.accessKeyId !== accessKeyId || s.committing) throw new NoSuchSessionError(id);
    s.busy++;
    s.lastUsedMs = Date.now();
    try {
      return await fn(s);
    } finally {
      s.busy--;
      s.lastUsedMs = Date.now();
    }
  }

  /** The session has ended (committed or aborted): forget it. */
  end(id: string): void {
    this.sessions.delete(id);
  }

  /** Aborts a session; false if there was none of the caller's. */
  async abort(id: string, accessKeyId: string): Promise<boolean> {
    const s = this.sessions.get(id);
    if (!s || s.accessKeyId !== accessKeyId || s.committing) return false;
    this.sessions.delete(id);
    await s.composed.abort();
    return true;
  }

  /** Aborts sessions idle past the limit. */
  async sweep(nowMs: number): Promise<void> {
    const expired = [...this.sessions.values()].filter((s) => s.busy === 0 && !s.committing && nowMs - s.lastUsedMs > this.idleMs);
    for (const s of expired) {
      this.sessions.delete(s.id);
      this.log('ingest session expired', { session: s.id, unit: s.unit, key: s.composed.key, entries: s.composed.entries });
      await s.composed.abort().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(all.map((s) => s.composed.abort()));
  }
}
