import { FINGERPRINTS_RIDE_ALONG, FingerprintCursor } from './md5-fingerprints.js';
import { native } from './native.js';

const IV = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
const NO_BYTES = new Uint8Array(0);

/** Whether a stream's SHA-256 can ride along its MD5 on this CPU (SHA-NI). */
export const STREAM_SHA256_RIDES = FINGERPRINTS_RIDE_ALONG;

/**
 * A whole stream's SHA-256 (a body signed by its hex hash, as the AWS SDK for
 * Go signs PutObject and UploadPart over plain HTTP), hashed by the worker
 * that owes the stream's MD5, in the same pass: each update's whole blocks
 * ride as an open second set beside the MD5 chain, where a lane costs nothing
 * (native/src/md5_fingerprints.c). The bytes of a block split between updates
 * wait here for the next one, which completes that block first.
 */
export class StreamSha256 {
  /** The native cursor: index, bytes hashed of the update's run, and the state. */
  private readonly words = new Uint32Array(10);
  /** The update's run, while it rides. */
  private run: FingerprintCursor | null = null;
  private tail: Uint8Array = NO_BYTES;
  /** Where an open set's unused digest goes: one per stream, as two riders' outputs must lie apart. */
  private readonly scratch = Buffer.allocUnsafeSlow(32);
  private total = 0;

  constructor() {
    this.words.set(IV, 2);
  }

  /**
   * An update begins: the last one's partial block is completed from its
   * first bytes, its own last partial block is kept (copied: the update's
   * memory goes back), and its whole blocks between are returned as the set
   * to ride (null when it has none), `offset` bytes into it.
   */
  begin(data: Uint8Array): { cursor: FingerprintCursor; offset: number } | null {
    let offset = 0;
    if (this.tail.byteLength > 0) {
      offset = Math.min(64 - this.tail.byteLength, data.byteLength);
      const block = Buffer.concat([this.tail, data.subarray(0, offset)]);
      if (block.byteLength < 64) {
        this.tail = block;
        return null;
      }
      this.resume(block);
    }
    const whole = data.byteLength - offset - ((data.byteLength - offset) % 64);
    this.tail = Uint8Array.from(data.subarray(offset + whole));
    if (whole === 0) return null;
    this.run = new FingerprintCursor(data.subarray(offset, offset + whole), Uint32Array.of(whole), this.scratch, true);
    this.run.words.set(this.words);
    this.run.words[0] = 0;
    this.run.words[1] = 0;
    return { cursor: this.run, offset };
  }

  /** The update is hashed (its run rode to its end). */
  end(data: Uint8Array): void {
    this.total += data.byteLength;
    if (!this.run) return;
    if (this.run.words[1] !== this.run.data.byteLength) throw new Error('a stream SHA-256 run ended unhashed');
    this.words.set(this.run.words.subarray(2), 2);
    this.run = null;
  }

  digest(): Buffer {
    const out = Buffer.allocUnsafe(32);
    if (!native.sha256Resume(this.words.subarray(2), NO_BYTES, this.tail, this.total, out)) throw new Error('a stream SHA-256 needs SHA-NI');
    return out;
  }

  private resume(blocks: Uint8Array): void {
    if (!native.sha256Resume(this.words.subarray(2), blocks)) throw new Error('a stream SHA-256 needs SHA-NI');
  }
}
