import type { IncomingMessage } from 'node:http';
import { uriEncode } from '../sigv4/uri-encode.js';
import type { MoverConnection } from './connection.js';

export interface PulledObject {
  /** The object's bytes (or the range asked for), to be read to the end. */
  body: IncomingMessage;
  /** Bytes in body. */
  length: number;
  /** The whole object's size. */
  size: number;
  etag: string;
  modified: Date | undefined;
}

export interface PullOptions {
  unit: string;
  key: string;
  /** [start, end): a ranged read of just these bytes. */
  range?: { start: number; end: number };
  signal?: AbortSignal;
}

/** The S3 path of an object: the mover reads with plain S3 GETs, so anything it pushed reads back as any S3 client would see it. */
export function objectPath(unit: string, key: string): string {
  return `/${uriEncode(unit, true)}/${uriEncode(key, false)}`;
}

/** Streams an object, or a byte range of it, from a unit. */
export async function pull(conn: MoverConnection, o: PullOptions): Promise<PulledObject> {
  const headers: Record<string, string> = {};
  if (o.range) {
    if (o.range.end <= o.range.start) throw new RangeError('an empty range');
    headers.range = `bytes=${o.range.start}-${o.range.end - 1}`;
  }
  const body = await conn.stream('GET', objectPath(o.unit, o.key), { headers, ...(o.signal && { signal: o.signal }) });
  const length = Number(body.headers['content-length'] ?? NaN);
  const total = /\/(\d+)$/.exec(String(body.headers['content-range'] ?? ''))?.[1];
  const modified = body.headers['last-modified'];
  return {
    body,
    length,
    size: total !== undefined ? Number(total) : length,
    etag: String(body.headers.etag ?? ''),
    modified: modified ? new Date(modified) : undefined,
  };
}

/** The whole of a small object (a directory index), or undefined when there is no such object. */
export async function pullSmall(conn: MoverConnection, unit: string, key: string, limit: number, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    const o = await pull(conn, { unit, key, ...(signal && { signal }) });
    if (o.length > limit) {
      o.body.destroy();
      throw new RangeError(`${key} is ${o.length} bytes, more than the ${limit} expected`);
    }
    const parts: Buffer[] = [];
    for await (const p of o.body) parts.push(p as Buffer);
    return Buffer.concat(parts);
  } catch (err) {
    if ((err as { code?: string }).code === 'NoSuchKey') return undefined;
    throw err;
  }
}

/**
 * The pieces of a body, each reported to onBytes as it passes. (A 'data'
 * listener would set the stream flowing before its consumer is attached, and
 * the first pieces would be lost.)
 */
export async function* counted(body: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const piece of body) {
    onBytes?.(piece.length);
    yield piece as Buffer;
  }
}
