import type { CutFinder } from '../chunking/cut-finder.js';
import type { ChunkCodec } from '../compute/codec.js';
import type { ChunkDirectory } from './chunk-directory.js';
import type { ContainerSet } from './container-set.js';
import type { IndexDb } from './index-db.js';
import type { StoreCompute } from './store-compute.js';

export interface StoreSettings {
  /** Bytes a stream is cut and hashed in at a time. */
  batchSize: number;
  /** Batches of one stream between the socket and the container at once: bounds its memory. */
  batchesInFlight: number;
  compressionLevel: number;
  /** Stored bytes a read fetches from a container in one go. */
  readSpanBytes: number;
  /** Spans a read keeps in flight ahead of the consumer. */
  readAhead: number;
  /** Re-hash every chunk on read (checksums are always checked). */
  verifyFingerprintsOnRead: boolean;
}

export type StoreLog = (level: 'info' | 'warn', message: string, fields?: Record<string, unknown>) => void;

/** What the store's parts share: one unit's index, containers and workers. */
export interface StoreContext {
  readonly index: IndexDb;
  readonly containers: ContainerSet;
  readonly compute: StoreCompute;
  readonly directory: ChunkDirectory;
  readonly cutter: CutFinder;
  /** For recipe nodes, which are small enough to encode on the main thread. */
  readonly nodeCodec: ChunkCodec;
  readonly settings: StoreSettings;
  readonly log: StoreLog;
}
