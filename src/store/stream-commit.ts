import { ObjectWriter, type IngestResult } from './object-writer.js';
import type { EdgeCapture } from './part-edges.js';
import type { ByteSource } from './push-source.js';
import type { StoreContext } from './store-context.js';

/** What a stream turned out to be, for checks before its commit. */
export interface Written {
  md5: Buffer;
  size: number;
  sha256?: Buffer;
}

/** Metadata known only once the stream has ended (a checksum that came in a trailer). */
export interface CommitAdditions {
  systemMetadata?: Record<string, string>;
}

export interface StreamOptions {
  /** Refuse (storing nothing) once the stream passes this many bytes. */
  sizeLimit?: number;
  /** Also compute the stream's SHA-256 (on a worker), for beforeCommit. */
  sha256?: boolean;
  /** Runs once the stream has ended, before the commit: throw to refuse, or return metadata to store. */
  beforeCommit?: (written: Written) => void | CommitAdditions | Promise<void | CommitAdditions>;
}

/**
 * The life of one stream: ingest it, let the caller check it, commit what
 * `record` makes of it (an object row, a part row) in the same transaction as
 * its chunks; on any failure, abort so nothing stays behind. `writers` tracks
 * the streams under way, so closing the unit can wait for them.
 */
export async function ingestAndCommit<T>(
  ctx: StoreContext,
  writers: Set<ObjectWriter>,
  source: ByteSource,
  options: StreamOptions,
  record: (r: IngestResult, added: CommitAdditions) => () => T,
  edges?: EdgeCapture,
): Promise<T> {
  const writer = new ObjectWriter(ctx, { sha256: options.sha256 === true, ...(edges && { edges }) });
  writers.add(writer);
  try {
    const r = await writer.ingest(source, options.sizeLimit);
    const added = (await options.beforeCommit?.({ md5: r.md5, size: r.size, ...(r.sha256 && { sha256: r.sha256 }) })) ?? {};
    return await writer.commit(record(r, added));
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    writers.delete(writer);
  }
}
