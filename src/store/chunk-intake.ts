import { FINGERPRINT_BYTES } from '../chunking/fingerprint.js';
import { ChunkKind, RECORD_HEADER_BYTES, type RecordEntry } from './container-format.js';
import { BadChunkError } from './errors.js';
import type { ChunkRow } from './index-db.js';
import { fingerprintKey } from './locality-cache.js';
import { RecordAppender } from './record-appender.js';
import type { StoreContext } from './store-context.js';
import { ADMIT_FIELDS, CorruptRecordError } from './store-jobs.js';

/** One chunk a client offers, as positions within the bytes it came in. */
export interface OfferedChunk {
  fingerprintOffset: number;
  rawLength: number;
  storedLength: number;
  /** How the payload is encoded: the store's own codec numbers. */
  codec: number;
  payloadOffset: number;
}

export interface AdmittedChunks {
  received: number;
  /** Chunks that were new to the unit and are now stored. */
  stored: number;
  /** Chunks the unit already held (or that came twice in the batch): checked, not stored again. */
  duplicates: number;
  storedBytes: number;
  rawBytes: number;
}

/**
 * Which of these fingerprints (32 bytes each, end to end) the unit lacks.
 * Only committed chunks count as held: a chunk another stream has staged may
 * yet vanish with that stream.
 */
export function missingChunks(ctx: StoreContext, fingerprints: Buffer): boolean[] {
  const n = fingerprints.length / FINGERPRINT_BYTES;
  const out = new Array<boolean>(n);
  for (let i = 0; i < n; i++) out[i] = ctx.directory.lookup(fingerprints, i * FINGERPRINT_BYTES).state !== 'committed';
  return out;
}

/**
 * Stores chunks a client compressed and sent, trusting nothing: every chunk is
 * decoded (capped at its claimed length) and re-fingerprinted on a worker, and
 * one bad chunk refuses the batch whole. The new ones are appended as they came
 * (the client's compression is kept), synced, then committed to the index:
 * durable at once and belonging to no object until a recipe names them, so an
 * interrupted push never sends them again. `frame` is consumed.
 */
export async function admitChunks(ctx: StoreContext, frame: Buffer, offered: readonly OfferedChunk[]): Promise<AdmittedChunks> {
  const chunks = new Uint32Array(offered.length * ADMIT_FIELDS);
  const kept: { fingerprint: Buffer; chunk: OfferedChunk }[] = [];
  const seen = new Set<string>();
  let rawBytes = 0;
  offered.forEach((c, i) => {
    const key = fingerprintKey(frame, c.fingerprintOffset);
    const keep = !seen.has(key) && ctx.directory.lookup(frame, c.fingerprintOffset, key).state !== 'committed';
    seen.add(key);
    chunks.set([c.fingerprintOffset, c.rawLength, c.storedLength, c.codec, c.payloadOffset, keep ? 1 : 0], i * ADMIT_FIELDS);
    if (keep) kept.push({ fingerprint: Buffer.from(frame.subarray(c.fingerprintOffset, c.fingerprintOffset + FINGERPRINT_BYTES)), chunk: c });
    rawBytes += c.rawLength;
  });
  let records: Uint8Array;
  try {
    records = await ctx.compute.admit(frame, chunks);
  } catch (err) {
    if (err instanceof CorruptRecordError) throw new BadChunkError(err.index, err.message);
    throw err;
  }
  const entries: RecordEntry[] = [];
  let offset = 0;
  for (const k of kept) {
    entries.push({ fingerprint: k.fingerprint, offset, rawLength: k.chunk.rawLength, storedLength: k.chunk.storedLength, kind: ChunkKind.Data, codec: k.chunk.codec });
    offset += RECORD_HEADER_BYTES + k.chunk.storedLength;
  }
  const appender = new RecordAppender(ctx.containers);
  const placed: ChunkRow[] = [];
  let added: ChunkRow[];
  try {
    await appender.append(records, entries, (rows) => placed.push(...rows));
    await appender.sync();
    // Known to dedup as soon as the rows are in, not once the WAL is synced: a query
    // meanwhile (a rerun of an interrupted push) would be told they are missing and
    // send them again. A commit that leans on them syncs the same WAL after.
    added = await ctx.index.commitChunks(placed, (fresh) => {
      for (const row of fresh) ctx.directory.remember(row.fingerprint);
    });
  } finally {
    await appender.release();
  }
  return {
    received: offered.length,
    stored: added.length,
    duplicates: offered.length - added.length,
    storedBytes: added.reduce((n, r) => n + r.storedLength, 0),
    rawBytes,
  };
}
