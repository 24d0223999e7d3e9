/*
 * The JSON messages and paths of the source-side ingest protocol
 * (docs/ingest-protocol.md), shared by the server face and the mover.
 */
import type { ChunkingParameters } from '../chunking/parameters.js';

export const INGEST_PROTOCOL_VERSION = 1;
export const INGEST_PREFIX = `/ingest/v${INGEST_PROTOCOL_VERSION}`;

export const ingestPaths = {
  unit: (unit: string): string => `${INGEST_PREFIX}/units/${encodeURIComponent(unit)}`,
  sessions: (unit: string): string => `${INGEST_PREFIX}/units/${encodeURIComponent(unit)}/sessions`,
  session: (id: string): string => `${INGEST_PREFIX}/sessions/${encodeURIComponent(id)}`,
  query: (id: string): string => `${ingestPaths.session(id)}/query`,
  chunks: (id: string): string => `${ingestPaths.session(id)}/chunks`,
  recipe: (id: string): string => `${ingestPaths.session(id)}/recipe`,
  commit: (id: string): string => `${ingestPaths.session(id)}/commit`,
};

/** What a client must know to cut, fingerprint and compress exactly as the unit does. */
export interface UnitDescription {
  protocol: number;
  unit: string;
  chunking: ChunkingParameters;
  fingerprint: 'sha256';
  compression: { codec: 'zstd'; level: number };
  limits: IngestLimits;
}

export interface IngestLimits {
  /** Fingerprints one query may carry. */
  maxQueryFingerprints: number;
  /** Chunks one chunks frame may carry. */
  maxFrameChunks: number;
  /** Bytes of a whole chunks frame. */
  maxFrameBytes: number;
  /** Entries one recipe frame may carry. */
  maxRecipeEntries: number;
  /** A session idle this long is aborted. */
  sessionIdleSeconds: number;
}

export interface OpenSessionRequest {
  key: string;
  contentType?: string;
  userMetadata?: Record<string, string>;
}

export interface SessionOpened {
  session: string;
  unit: string;
  key: string;
}

export interface ChunksAccepted {
  received: number;
  stored: number;
  duplicates: number;
  storedBytes: number;
}

export interface RecipeAccepted {
  /** Entries and bytes of the recipe so far: the next frame's sequence is `entries`. */
  entries: number;
  bytes: number;
}

export interface CommitRequest {
  size: number;
  chunks: number;
}

export interface Committed {
  key: string;
  size: number;
  etag: string;
  chunks: number;
  lastModified: string;
}

/** Members of the problem documents the ingest face answers with, beyond RFC 9457's. */
export interface IngestProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** A recipe frame named chunks the unit lacks: the first of them, hex. */
  missing?: string[];
  missingTotal?: number;
  /** A recipe frame came out of order: the sequence the session expects. */
  expectedSequence?: number;
  /** The protocol versions this server speaks. */
  supported?: number[];
}
