import { createCutFinder } from '../../src/chunking/cut-finder.js';
import { fingerprint } from '../../src/chunking/fingerprint.js';
import type { ChunkingParameters } from '../../src/chunking/parameters.js';
import { ChunkCodec } from '../../src/compute/codec.js';
import { MoverConnection } from '../../src/client/connection.js';
import type { SigningCredentials } from '../../src/sigv4/signer.js';
import { chunkPayloadsStart, FrameKind, writeChunkDescriptor, writeFrameHeader } from '../../src/wire/frames.js';
import { signedFetch, type Answer } from './server.js';

export function moverConnection(url: string, credentials: SigningCredentials): MoverConnection {
  return new MoverConnection({ endpoint: new URL(url), credentials, region: 'us-east-1' });
}

/** One chunk as a test wants it on the wire: honest by default, every field overridable. */
export interface WireChunk {
  data: Buffer;
  codec?: 'raw' | 'zstd';
  fingerprint?: Buffer;
  rawLength?: number;
  /** The payload as sent (default: data, zstd-compressed when codec is zstd). */
  payload?: Buffer;
}

const codec = new ChunkCodec(1);

/** A chunks frame built by hand, so tests can lie in it. */
export function chunkFrame(chunks: WireChunk[]): Buffer {
  const payloads = chunks.map((c) => c.payload ?? (c.codec === 'zstd' ? zstd(c.data) : c.data));
  const frame = Buffer.alloc(chunkPayloadsStart(chunks.length) + payloads.reduce((n, p) => n + p.length, 0));
  writeFrameHeader(frame, { kind: FrameKind.Chunks, count: chunks.length, sequence: 0 });
  let o = chunkPayloadsStart(chunks.length);
  chunks.forEach((c, i) => {
    writeChunkDescriptor(frame, i, c.fingerprint ?? fingerprint(c.data), c.rawLength ?? c.data.length, payloads[i]!.length, c.codec === 'zstd' ? 1 : 0);
    payloads[i]!.copy(frame, o);
    o += payloads[i]!.length;
  });
  return frame;
}

export function zstd(data: Buffer): Buffer {
  const out = Buffer.alloc(data.length + 1024);
  const r = codec.encodeInto(data, out, 0);
  if (r.codec !== 1) throw new Error('test data did not compress');
  return out.subarray(0, r.length);
}

/** The chunks of data exactly as a unit with these parameters cuts them. */
export function cutChunks(data: Buffer, parameters: ChunkingParameters): Buffer[] {
  const finder = createCutFinder(parameters);
  const cuts = new Uint32Array(Math.ceil(data.length / parameters.minSize) + 2);
  const n = finder.findCuts(data, true, cuts);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    out.push(data.subarray(start, cuts[i]!));
    start = cuts[i]!;
  }
  return out;
}

/** A signed ingest call with a binary frame (or JSON) body. */
export function ingest(
  url: string,
  credentials: SigningCredentials | null,
  method: string,
  path: string,
  o: { frame?: Buffer; json?: unknown; unsigned?: boolean; payloadHash?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body = o.frame ?? (o.json !== undefined ? Buffer.from(JSON.stringify(o.json)) : undefined);
  const headers = {
    ...(o.frame && { 'content-type': 'application/vnd.cairn.frame' }),
    ...(o.json !== undefined && { 'content-type': 'application/json' }),
    ...o.headers,
  };
  return signedFetch(url, method, path, credentials, { ...(body && { body }), headers, ...(o.unsigned && { payloadHash: 'UNSIGNED-PAYLOAD' }), ...(o.payloadHash && { payloadHash: o.payloadHash }) });
}
