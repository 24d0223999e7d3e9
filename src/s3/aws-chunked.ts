import { createHash, createHmac, timingSafeEqual, type Hash } from 'node:crypto';
import { EMPTY_SHA256 } from '../sigv4/canonical-request.js';
import { s3Error } from './s3-errors.js';
import type { OwedDigests } from '../store/owed-digests.js';
import type { PushSource } from '../store/push-source.js';
import { hashRuns, type SignedRun } from './signed-runs.js';

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
/**
 * The smallest chunk left to the taker to hash: S3's smallest signed chunk but
 * the last. Fewer than 512 ranges a 4 MiB batch then wait for their digests.
 */
const OWED_CHUNK_MIN = 8 * 1024;
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * Decodes an aws-chunked body (`hex-size[;chunk-signature=sig] CRLF data CRLF`
 * ... `0 ...` [trailers] CRLF), fed in pieces of any size. Signed chunks are
 * checked when each chunk ends, or, left to the store (oweTo), once the store
 * has hashed their data beside its batches; a bad signature, bad framing or a
 * body cut short throws, so the consumer (the store) never commits what follows.
 * Lenient where real clients differ: hex case, chunk extensions in unsigned
 * mode, LF line ends in trailers, a missing final CRLF.
 */
export class AwsChunkedDecoder {
  private previousSignature: string;
  private state: 'size' | 'data' | 'data-crlf' | 'trailers' | 'end' = 'size';
  private line: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private chunkSignature = '';
  /** The chunk's data seen so far, for a chunk not whole in one piece; null until it is known not to be. */
  private chunkHash: Hash | null = null;
  private chunkLength = 0;
  /** Signed chunks whole in the piece being fed, checked together before feed() returns (signed-runs.ts). */
  private runs: SignedRun[] = [];
  private trailerBytes = 0;
  private trailerSignature: string | null = null;
  private readonly trailerLines: string[] = [];
  /** Where signed chunks go to be hashed and checked by the taker of their data, if it takes them. */
  private owed: OwedDigests | null = null;
  /** The chunk at hand is the taker's to hash and check. */
  private chunkOwed = false;

  constructor(
    private readonly mode: ChunkedMode,
    private readonly signing: ChunkSigning | null,
    private readonly result: ChunkedResult,
  ) {
    if (mode.signed && !signing) throw new Error('signed chunks need the request signature');
    this.previousSignature = signing?.seedSignature ?? '';
  }

  /**
   * Leaves the signed chunks of 8 KiB or more to the taker of the payload, from
   * the next chunk on: each is added to `owed` as its header is read, before its data, and
   * the taker checks it once it has hashed that data (see OwedDigests). The
   * taker must not commit before every one is checked.
   */
  oweTo(owed: OwedDigests): void {
    if (this.mode.signed) this.owed = owed;
  }

  /**
   * Decodes `buf`, handing each run of payload to `emit`, which returns how
   * many of its bytes it kept. Returns how many bytes of `buf` were consumed:
   * all of them, unless `emit` kept fewer than offered (feed the rest later).
   */
  feed(buf: Uint8Array, emit: (data: Uint8Array) => number): number {
    const consumed = this.decode(buf, emit);
    // Before returning: the caller may reuse buf once it is consumed.
    if (this.runs.length > 0) this.checkRuns(buf);
    return consumed;
  }

  private decode(buf: Uint8Array, emit: (data: Uint8Array) => number): number {
    let pos = 0;
    while (pos < buf.length) {
      if (this.state === 'data') {
        const data = buf.subarray(pos, pos + Math.min(this.remaining, buf.length - pos));
        const kept = emit(data);
        const taken = kept === data.length ? data : data.subarray(0, kept);
        const hashing = this.mode.signed && !this.chunkOwed;
        const whole = hashing && kept === this.chunkLength && this.remaining === this.chunkLength;
        if (hashing && !whole) (this.chunkHash ??= createHash('sha256')).update(taken);
        this.result.decodedLength += kept;
        this.remaining -= kept;
        pos += kept;
        if (kept < data.length) return pos;
        if (this.remaining === 0) {
          if (whole) this.deferChunk(pos - kept, pos);
          else if (hashing) this.verifyChunk(this.chunkHash!.digest('hex'));
          this.state = 'data-crlf';
        }
        continue;
      }
      if (this.state === 'end') {
        // Only line ends may follow the body.
        if (buf.subarray(pos).some((b) => b !== 0x0d && b !== 0x0a)) throw s3Error('IncompleteBody', 'data after the end of an aws-chunked body');
        return buf.length;
      }
      // Line-oriented states: size lines, the CRLF after data, trailer lines.
      const lf = buf.indexOf(0x0a, pos);
      if (lf < 0) {
        this.line = Buffer.concat([this.line, buf.subarray(pos)]);
        if (this.line.length > MAX_LINE) throw s3Error('IncompleteBody', 'an aws-chunked line is too long');
        return buf.length;
      }
      this.line = Buffer.concat([this.line, buf.subarray(pos, lf)]);
      pos = lf + 1;
      if (this.line.length > MAX_LINE) throw s3Error('IncompleteBody', 'an aws-chunked line is too long');
      const text = this.line.toString('latin1').replace(/\r$/, '');
      this.line = Buffer.alloc(0);
      this.onLine(text);
    }
    return pos;
  }

  /** The body has ended: throws unless it ended where a body may. */
  end(): void {
    // The body may end without the final blank line; and a trailer section may be empty.
    if (this.state === 'trailers' && this.line.length === 0) this.endTrailers();
    if (this.state !== 'end') throw s3Error('IncompleteBody', 'the aws-chunked body ended early');
  }

  private onLine(text: string): void {
    if (this.state === 'data-crlf') {
      if (text !== '') throw s3Error('IncompleteBody', 'chunk data is longer than its declared size');
      this.state = 'size';
    } else if (this.state === 'size') {
      this.startChunk(text);
    } else if (this.state === 'trailers') {
      this.trailerBytes += text.length;
      if (this.trailerBytes > MAX_TRAILER_BYTES) throw s3Error('InvalidRequest', 'trailing headers too large');
      if (text === '') {
        // A blank line ends the trailers, unless none came yet (some clients put one first).
        if (this.trailerLines.length > 0) this.endTrailers();
      } else {
        this.trailerLines.push(text);
      }
    }
  }

  private startChunk(text: string): void {
    const [sizePart, ...extensions] = text.split(';');
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizePart!.trim())) throw s3Error('IncompleteBody', 'malformed aws-chunked chunk size');
    this.remaining = Number.parseInt(sizePart!.trim(), 16);
    if (!Number.isSafeInteger(this.remaining)) throw s3Error('IncompleteBody', 'chunk size out of range');
    if (this.mode.signed) {
      const sig = extensions.map((e) => e.trim()).find((e) => e.startsWith('chunk-signature='));
      if (!sig) throw s3Error('SignatureDoesNotMatch', 'a signed chunk has no chunk-signature');
      this.chunkSignature = sig.slice('chunk-signature='.length);
      this.chunkHash = null;
      this.chunkLength = this.remaining;
    }
    if (this.remaining === 0) {
      if (this.mode.signed) this.verifyChunk(EMPTY_SHA256);
      this.state = this.mode.trailer ? 'trailers' : 'end';
    } else {
      // A small chunk is checked here: a range owed for each would let a body of tiny chunks pile up ranges by the million.
      this.chunkOwed = this.owed !== null && this.remaining >= OWED_CHUNK_MIN;
      if (this.chunkOwed) this.oweChunk();
      this.state = 'data';
    }
  }

  private verifyChunk(dataHash: string): void {
    this.checkChunk(this.previousSignature, dataHash, this.chunkSignature);
    this.previousSignature = this.chunkSignature;
  }

  /**
   * A chunk whose data was offered whole from this piece: checked with the
   * piece's others before feed() returns. The chain goes on from its claimed
   * signature; a forged one fails its own check, and the check of the next.
   */
  private deferChunk(start: number, end: number): void {
    this.runs.push({ start, end, signature: this.chunkSignature, previous: this.previousSignature });
    this.previousSignature = this.chunkSignature;
  }

  /** A chunk whose data the taker hashes: the chain goes on from its claimed signature, as for a deferred one. */
  private oweChunk(): void {
    const previous = this.previousSignature;
    const signature = this.chunkSignature;
    const start = this.result.decodedLength;
    this.owed!.add({ start, end: start + this.remaining, check: (sha256) => this.checkChunk(previous, sha256.toString('hex'), signature) });
    this.previousSignature = signature;
  }

  private checkRuns(piece: Uint8Array): void {
    const runs = this.runs;
    this.runs = [];
    const hashes = hashRuns(piece, runs);
    for (let i = 0; i < runs.length; i++) this.checkChunk(runs[i]!.previous, hashes.toString('hex', 32 * i, 32 * i + 32), runs[i]!.signature);
  }

  private checkChunk(previous: string, dataHash: string, given: string): void {
    const s = this.signing!;
    this.check(['AWS4-HMAC-SHA256-PAYLOAD', s.amzDate, s.scope, previous, EMPTY_SHA256, dataHash].join('\n'), given);
  }

  private check(toSign: string, given: string): void {
    const expected = createHmac('sha256', this.signing!.key).update(toSign).digest();
    if (!/^[0-9a-f]{64}$/.test(given) || !timingSafeEqual(expected, Buffer.from(given, 'hex'))) {
      throw s3Error('SignatureDoesNotMatch', 'a chunk signature does not match');
    }
  }

  private endTrailers(): void {
    for (const l of this.trailerLines) {
      const colon = l.indexOf(':');
      if (colon <= 0) throw s3Error('InvalidRequest', 'malformed trailing header');
      const name = l.slice(0, colon).trim().toLowerCase();
      const value = l.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') this.trailerSignature = value;
      else this.result.trailers.set(name, value);
    }
    if (this.mode.signed) {
      if (!this.trailerSignature) throw s3Error('SignatureDoesNotMatch', 'the trailer is not signed');
      const canonical = [...this.result.trailers.entries()].map(([n, v]) => `${n}:${v}\n`).join('');
      const s = this.signing!;
      this.check(['AWS4-HMAC-SHA256-TRAILER', s.amzDate, s.scope, this.previousSignature, createHash('sha256').update(canonical).digest('hex')].join('\n'), this.trailerSignature);
    }
    this.state = 'end';
  }
}

/** The payload of an aws-chunked body read as a stream. */
export async function* decodeAwsChunked(
  source: AsyncIterable<Buffer>,
  mode: ChunkedMode,
  signing: ChunkSigning | null,
  result: ChunkedResult,
): AsyncGenerator<Buffer> {
  const decoder = new AwsChunkedDecoder(mode, signing, result);
  for await (const piece of source) {
    const runs: Buffer[] = [];
    decoder.feed(piece, (data) => {
      runs.push(data as Buffer);
      return data.length;
    });
    yield* runs;
  }
  decoder.end();
}

/** The payload of an aws-chunked body pushed from the socket: decoded in each read, as it is offered. */
export function pushedAwsChunked(source: PushSource, mode: ChunkedMode, signing: ChunkSigning | null, result: ChunkedResult): PushSource {
  const decoder = new AwsChunkedDecoder(mode, signing, result);
  return {
    kind: 'push',
    run: async (take, _landing, owed) => {
      // The payload lies in the socket's reads between chunk headers: it cannot land where the taker wants it.
      if (owed) decoder.oweTo(owed);
      await source.run((raw) => decoder.feed(raw, take));
      decoder.end();
    },
    resume: () => source.resume(),
    stop: (reason) => source.stop(reason),
  };
}
