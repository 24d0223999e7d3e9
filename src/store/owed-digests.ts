import { createHash, type Hash } from 'node:crypto';

/** A range of a stream whose SHA-256 a check is owed before the stream commits: a signed aws-chunked chunk. */
export interface OwedDigest {
  start: number;
  end: number;
  /** Throws to fail the stream. */
  check(sha256: Buffer): void;
}

/** Ranges checked, by where their digest was worked out: beside a batch's MD5 (or its own small batch), or here across batches. */
export const owedChecks = { batch: 0, spanning: 0 };

/**
 * The owed ranges lying whole in one batch, as chunks end to end: ends
 * relative to `from`, the first starting there. The bytes between two ranges
 * (a chunk the decoder checks itself) are a chunk of their own, hashed and
 * dropped: null in `ranges`.
 */
export interface BatchDigests {
  from: number;
  ends: Uint32Array;
  ranges: (OwedDigest | null)[];
}

/**
 * SHA-256 digests owed over ranges of a stream, worked out beside its batches
 * rather than by whoever framed the ranges: the ranges whole in a batch ride
 * along the batch's MD5 on the worker (md5_fingerprints.c), where a second
 * lane costs nothing; the few that span two batches are hashed here, a
 * batch's share at a time. Ranges come in stream order, apart, and each
 * before any of its bytes is pushed.
 */
export class OwedDigests {
  private owed: OwedDigest[] = [];
  private head = 0;
  private spanning: { range: OwedDigest; hash: Hash } | null = null;
  /** Where the next batch starts in the stream. */
  private at = 0;
  private expectedStart = 0;

  add(range: OwedDigest): void {
    if (range.start < this.expectedStart || range.end <= range.start) throw new Error(`owed range ${range.start}-${range.end} out of order`);
    this.expectedStart = range.end;
    this.owed.push(range);
  }

  /**
   * The next batch of the stream, while its bytes are at hand: checks a
   * spanning range that ends in it (throwing if it fails), starts one that
   * runs past it, and returns those whole in it, for the batch's worker.
   */
  take(data: Uint8Array): BatchDigests | null {
    const start = this.at;
    const end = start + data.byteLength;
    this.at = end;
    if (this.spanning) {
      const { range, hash } = this.spanning;
      hash.update(data.subarray(0, Math.min(range.end, end) - start));
      if (range.end > end) return null;
      this.spanning = null;
      owedChecks.spanning++;
      range.check(hash.digest());
    }
    const ranges: (OwedDigest | null)[] = [];
    const ends: number[] = [];
    for (; this.head < this.owed.length && this.owed[this.head]!.end <= end; this.head++) {
      const r = this.owed[this.head]!;
      if (ends.length > 0 && r.start > ends[ends.length - 1]!) {
        ranges.push(null);
        ends.push(r.start);
      }
      ranges.push(r);
      ends.push(r.end);
    }
    let whole: BatchDigests | null = null;
    if (ranges.length > 0) {
      const from = ranges[0]!.start;
      whole = { from: from - start, ranges, ends: Uint32Array.from(ends, (e) => e - from) };
    }
    const next = this.owed[this.head];
    if (next && next.start < end) {
      this.head++;
      this.spanning = { range: next, hash: createHash('sha256').update(data.subarray(next.start - start)) };
    }
    if (this.head > 1024) {
      this.owed = this.owed.slice(this.head);
      this.head = 0;
    }
    return whole;
  }

  /** The digests of a batch's whole ranges, 32 bytes each in order: each is checked (the first to fail throws). */
  settle(batch: BatchDigests, digests: Uint8Array): void {
    const all = Buffer.from(digests.buffer, digests.byteOffset, digests.byteLength);
    batch.ranges.forEach((r, i) => {
      if (!r) return;
      owedChecks.batch++;
      r.check(all.subarray(32 * i, 32 * i + 32));
    });
  }

  /** The stream has ended: throws if a range is still owed (its bytes never all came). */
  finish(): void {
    if (this.spanning || this.head < this.owed.length) throw new Error('a signed range of the stream was never hashed');
  }
}
