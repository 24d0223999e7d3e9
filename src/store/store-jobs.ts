import type { ChunkKind } from './container-format.js';

/*
 * The messages between the store and its workers (store-worker.ts). Arrays of
 * pairs are flattened into typed arrays so they cross threads without
 * per-element cloning.
 */

export interface FingerprintJob {
  data: Uint8Array;
  /** Chunk end offsets within data. */
  cuts: Uint32Array;
}

export type StreamDigest = 'md5' | 'sha256';

export interface DigestJob {
  stream: number;
  algorithm: StreamDigest;
  data?: Uint8Array;
  final?: boolean;
  /** The stream's first message: its state starts here. Any later message finds state or fails. */
  first: boolean;
  /**
   * An MD5 update only: the data's chunk ends. The job then answers the
   * chunks' fingerprints, computed in the same pass as the MD5.
   */
  cuts?: Uint32Array;
  /**
   * With cuts: ranges of the data whose SHA-256 is owed too (a body's signed
   * chunks), the first at `rangesFrom`, each ending at rangeEnds[i] past it.
   * Their digests follow the fingerprints in the answer.
   */
  rangesFrom?: number;
  rangeEnds?: Uint32Array;
  /**
   * An MD5 job: the stream's SHA-256 rides along too (its first job starts
   * it). Its final then answers the MD5 and the SHA-256, 48 bytes.
   */
  sha256?: boolean;
}

export interface EncodeJob {
  data: Uint8Array;
  /** [start, length] of each chunk within data. */
  chunks: Uint32Array;
  fingerprints: Uint8Array;
  kind: ChunkKind;
  level: number;
  /** Where the records go, end to end, as they go into a container: room for each chunk raw plus its header. */
  out: Uint8Array;
}

export interface EncodeResult {
  /** Bytes of out used. */
  length: number;
  storedLengths: Uint32Array;
  codecs: Uint8Array;
}

export interface DecodeJob {
  span: Uint8Array;
  /** [offset within span, raw length] of each record. */
  records: Uint32Array;
  fingerprints: Uint8Array;
  verifyFingerprints: boolean;
  /** Shared memory of at least the total raw length: the decoded bytes go here, end to end. */
  out: Uint8Array;
}

/** Chunks offered by a client: each checked, and the ones to keep turned into records. */
export interface AdmitJob {
  /** The bytes the chunks came in (a wire frame): fingerprints and payloads are read from here. */
  frame: Uint8Array;
  /** Per chunk: [fingerprint offset, raw length, stored length, codec, payload offset, keep (0 or 1)]. */
  chunks: Uint32Array;
}

export const ADMIT_FIELDS = 6;

export interface AdmitResult {
  /** The records of the kept chunks, end to end, in offer order. */
  records: Uint8Array;
}

export interface VerifyJob {
  span: Uint8Array;
  offsets: number[];
}

export interface VerifiedRecord {
  offset: number;
  ok: boolean;
  reason?: string | undefined;
  fingerprint?: string;
  kind?: ChunkKind;
  rawLength?: number;
  storedLength?: number;
}

/** A record failed a check; `index` is its place in the job. Crosses the thread boundary by name. */
export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }

  /** What the worker host sends across with the name and message. */
  get details(): { index: number } {
    return { index: this.index };
  }
}
