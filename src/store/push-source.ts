import type { OwedDigests } from './owed-digests.js';

/**
 * A source that hands its bytes over as they arrive, in memory it reuses as
 * soon as the taker returns: a socket read into the same buffer again and
 * again, with no stream objects, promises or copies between the read and the
 * batch buffer. An AsyncIterable costs all three per piece.
 */
export interface PushSource {
  readonly kind: 'push';
  /**
   * Offers every byte, in order, to `take`, which returns how many it kept
   * (it may throw to fail the source). When it keeps fewer than offered, the
   * source offers nothing more until resume(), then offers the rest again.
   * Resolves once every byte was taken; rejects if the source or take fails.
   * `owed`: the taker works out the SHA-256 of ranges the source adds there
   * (a body's signed chunks) and checks them before it commits; a source
   * that adds none checks its own.
   */
  run(take: (bytes: Uint8Array) => number, landing?: Landing, owed?: OwedDigests): Promise<void>;
  /** The taker has room again. */
  resume(): void;
  /**
   * The taker is going away (its stream aborted) and its memory with it:
   * run() rejects with `reason`, and nothing more is written into memory the
   * taker lent through landing, from the moment this returns.
   */
  stop(reason: Error): void;
}

/**
 * Where the taker would have its next bytes land, at most `most` of them:
 * memory it owns and takes from in place, so a source that can write there
 * (a socket read) spares the copy. Null when it has no such place now. With
 * `pause`, the source writes nothing there (and offers nothing) until the
 * taker calls resume(): the taker has no room for those bytes yet. The
 * source must offer bytes it wrote there before writing anywhere else, and
 * must not write there once run() has settled.
 */
export type Landing = (most: number) => { into: Uint8Array; pause: boolean } | null;

/** What a stream is ingested from. */
export type ByteSource = AsyncIterable<Uint8Array> | PushSource;

export function isPushSource(source: ByteSource): source is PushSource {
  return (source as Partial<PushSource>).kind === 'push';
}

/** The same bytes, each seen by `see` (a count, a checksum) as it is taken. */
export function observed(source: ByteSource, see: (bytes: Uint8Array) => void): ByteSource {
  if (isPushSource(source)) {
    return {
      kind: 'push',
      run: (take, landing, owed) =>
        source.run(
          (bytes) => {
            const n = take(bytes);
            if (n > 0) see(n === bytes.length ? bytes : bytes.subarray(0, n));
            return n;
          },
          landing,
          owed,
        ),
      resume: () => source.resume(),
      stop: (reason) => source.stop(reason),
    };
  }
  return (async function* () {
    for await (const piece of source) {
      see(piece);
      yield piece;
    }
  })();
}
