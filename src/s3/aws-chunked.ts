import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import { EMPTY_SHA256 } from '../sigv4/canonical-request.js';
import { s3Error } from './s3-errors.js';

/** How a streaming body is framed and what is signed, from x-amz-content-sha256. */
export interface ChunkedMode {
  /** Every chunk carries a signature chained from the request's. */
  signed: boolean;
  /** Trailing headers (a checksum) follow the last chunk. */
  trailer: boolean;
}

export const STREAMING_MODES: Record<string, ChunkedMode> = {
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD': { signed: true, trailer: false },
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER': { signed: true, trailer: true },
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER': { signed: false, trailer: true },
};

/** What chunk signatures chain from: the request's signing key, date, scope and signature. */
export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

/** Filled in as the body is decoded; complete once the decoder has ended. */
export interface ChunkedResult {
  /** Trailing headers by lower-case name. */
  trailers: Map<string, string>;
  decodedLength: number;
}

const MAX_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * Decodes an aws-chunked body (`hex-size[;chunk-signature=sig] CRLF data CRLF`
 * ... `0 ...` [trailers] CRLF) and yields the payload as it arrives. Signed
 * chunks are checked when each chunk ends; a bad signature, bad framing or a
 * body cut short throws, so the consumer (the store) never commits what
 * follows. Lenient where real clients differ: hex case, chunk extensions in
 * unsigned mode, LF line ends in trailers, a missing final CRLF.
 */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>,
  mode: ChunkedMode,
  signing: ChunkSigning | null,
  result: ChunkedResult,
): AsyncGenerator<Buffer> {
  if (mode.signed && !signing) throw new Error('signed chunks need the request signature');
  let previousSignature = signing?.seedSignature ?? '';
  // Changed inside the helpers below too, so typed wide: the compiler cannot follow those assignments.
  let state = 'size' as 'size' | 'data' | 'data-crlf' | 'trailers' | 'end';
  let line = Buffer.alloc(0);
  let remaining = 0;
  let chunkSignature = '';
  let chunkHash = null as Hash | null;
  let trailerBytes = 0;
  let trailerSignature: string | null = null;
  const trailerLines: string[] = [];

  const verifyChunk = (dataHash: string): void => {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', signing!.amzDate, signing!.scope, previousSignature, EMPTY_SHA256, dataHash].join('\n');
    check(toSign, chunkSignature);
    previousSignature = chunkSignature;
  };

  const check = (toSign: string, given: string): void => {
    const expected = createHmac('sha256', signing!.key).update(toSign).digest();
    if (!/^[0-9a-f]{64}$/.test(given) || !timingSafeEqual(expected, Buffer.from(given, 'hex'))) {
      throw s3Error('SignatureDoesNotMatch', 'a chunk signature does not match');
    }
  };

  const startChunk = (text: string): void => {
    const [sizePart, ...extensions] = text.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizePart!.trim())) throw s3Error('IncompleteBody', 'malformed aws-chunked chunk size');
    remaining = Number.parseInt(sizePart!.trim(), 16);
    if (!Number.isSafeInteger(remaining)) throw s3Error('IncompleteBody', 'chunk size out of range');
    if (mode.signed) {
      const sig = extensions.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='));
      if (!sig) throw s3Error('SignatureDoesNotMatch', 'a signed chunk has no chunk-signature');
      chunkSignature = sig.slice('chunk-signature='.length);
      chunkHash = createHash('sha256');
    }
    if (remaining === 0) {
      if (mode.signed) verifyChunk(EMPTY_SHA256);
      state = mode.trailer ? 'trailers' : 'end';
    } else {
      state = 'data';
    }
  };

  const endTrailers = (): void => {
    for (const l of trailerLines) {
      const colon = l.indexOf(':');
      if (colon <= 0) throw s3Error('InvalidRequest', 'malformed trailing header');
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') trailerSignature = value;
      else result.trailers.set(name, value);
    }
    if (mode.signed) {
      if (!trailerSignature) throw s3Error('SignatureDoesNotMatch', 'the trailer is not signed');
      const canonical = [...result.trailers.entries()].map(([n, v]) => `${n}:${v}\n`).join('');
      const toSign = ['AWS4-HMAC-SHA256-TRAILER', signing!.amzDate, signing!.scope, previousSignature, createHash('sha256').update(canonical).digest('hex')].join('\n');
      check(toSign, trailerSignature);
    }
    state = 'end';
  };

  for await (const piece of source) {
    let buf: Buffer = piece;
    while (buf.length > 0) {
      if (state === 'data') {
        const n = Math.min(remaining, buf.length);
        const data = buf.subarray(0, n);
        chunkHash?.update(data);
        result.decodedLength += n;
        remaining -= n;
        buf = buf.subarray(n);
        yield data;
        if (remaining === 0) {
          if (mode.signed) verifyChunk(chunkHash!.digest('hex'));
          state = 'data-crlf';
        }
        continue;
      }
      if (state === 'end') {
        // Only line ends may follow the body.
        if (buf.some((b) => b !== 0x0d && b !== 0x0a)) throw s3Error('IncompleteBody', 'data after the end of an aws-chunked body');
        break;
      }
      // Line-oriented states: size lines, the CRLF after data, trailer lines.
      const lf = buf.indexOf(0x0a);
      if (lf < 0) {
        line = Buffer.concat([line, buf]);
        if (line.length > MAX_LINE) throw s3Error('IncompleteBody', 'an aws-chunked line is too long');
        break;
      }
      line = Buffer.concat([line, buf.subarray(0, lf)]);
      buf = buf.subarray(lf + 1);
      if (line.length > MAX_LINE) throw s3Error('IncompleteBody', 'an aws-chunked line is too long');
      const text = line.toString('latin1').replace(/\r$/, '');
      line = Buffer.alloc(0);
      if (state === 'data-crlf') {
        if (text !== '') throw s3Error('IncompleteBody', 'chunk data is longer than its declared size');
        state = 'size';
      } else if (state === 'size') {
        startChunk(text);
      } else if (state === 'trailers') {
        trailerBytes += text.length;
        if (trailerBytes > MAX_TRAILER_BYTES) throw s3Error('InvalidRequest', 'trailing headers too large');
        if (text === '') {
          // A blank line ends the trailers, unless none came yet (some clients put one first).
          if (trailerLines.length > 0) endTrailers();
        } else {
          trailerLines.push(text);
        }
      }
    }
  }
  // The body may end without the final blank line; and a trailer section may be empty.
  if (state === 'trailers' && line.length === 0) endTrailers();
  if (state !== 'end') throw s3Error('IncompleteBody', 'the aws-chunked body ended early');
}
