import zstd from 'zstd-napi/binding.js';

/** How a chunk's bytes are stored. The numbers are on disk: never renumber. */
export const enum Codec {
  Raw = 0,
  Zstd = 1,
}

export const CODEC_NAMES: Record<number, string> = { [Codec.Raw]: 'raw', [Codec.Zstd]: 'zstd' };

/** Thrown when stored bytes do not decode to exactly the length they claim. */
export class CodecError extends Error {
  override name = 'CodecError';
}

/**
 * zstd with a reusable context and scratch space. One per thread: contexts are
 * not shareable between threads.
 */
export class ChunkCodec {
  private readonly cctx = new zstd.CCtx();
  private readonly dctx = new zstd.DCtx();
  private scratch = Buffer.alloc(0);

  constructor(readonly level: number) {}

  /**
   * Compresses src into dst at offset and returns the codec used and the
   * stored length. Data that does not shrink is stored raw. dst must have
   * room for src.length bytes at offset.
   */
  encodeInto(src: Uint8Array, dst: Uint8Array, offset: number): { codec: Codec; length: number } {
    const bound = zstd.compressBound(src.length);
    // Straight into dst when it has room for the worst case; else through scratch.
    const direct = dst.length - offset >= bound;
    if (!direct && this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(bound);
    const target = direct ? dst.subarray(offset, offset + bound) : this.scratch;
    const n = this.cctx.compress(target, src, this.level);
    if (n < src.length) {
      if (!direct) dst.set(this.scratch.subarray(0, n), offset);
      return { codec: Codec.Zstd, length: n };
    }
    dst.set(src, offset);
    return { codec: Codec.Raw, length: src.length };
  }

  /**
   * Decodes stored bytes into dst, which must be exactly the raw length: zstd
   * refuses to write past it, so a hostile frame cannot inflate memory.
   */
  decodeInto(codec: number, stored: Uint8Array, dst: Uint8Array): void {
    if (codec === Codec.Raw) {
      if (stored.length !== dst.length) throw new CodecError(`raw length ${stored.length} != ${dst.length}`);
      dst.set(stored);
      return;
    }
    if (codec !== Codec.Zstd) throw new CodecError(`unknown codec ${codec}`);
    let n: number;
    try {
      n = this.dctx.decompress(dst, stored);
    } catch (err) {
      throw new CodecError(`zstd: ${(err as Error).message}`);
    }
    if (n !== dst.length) throw new CodecError(`zstd produced ${n} bytes, expected ${dst.length}`);
  }
}
