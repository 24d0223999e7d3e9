import { native } from '../chunking/native.js';

/**
 * Which worker hashes each stream's MD5. A stream's chain stays on one worker
 * from its first update to its final. Streams are packed onto workers rather
 * than spread: chains that share a worker are hashed interleaved, two to four
 * for little more than the cost of one, eight in vector lanes where the CPU has
 * them (see native/src/md5.c). Spread one to a worker, each would take a core
 * of its own for the same bytes.
 */
export class Md5Placement {
  /** The worker of each stream with an open chain. */
  private readonly home = new Map<number, number>();
  /** Open chains on each worker. */
  private readonly open: number[];

  constructor(
    workers: number,
    /** Chains a worker takes before the next one is given any. */
    private readonly perWorker = native.md5Vectorized() ? 8 : 4,
  ) {
    this.open = new Array<number>(Math.max(1, workers)).fill(0);
  }

  /** The worker for a stream's update; its first one places the stream. */
  update(stream: number, first: boolean): number {
    const known = this.home.get(stream);
    if (known !== undefined && !first) return known;
    if (known !== undefined) this.close(stream);
    const worker = this.choose();
    this.home.set(stream, worker);
    this.open[worker]!++;
    return worker;
  }

  /** The worker for a stream's final, which closes its chain. */
  final(stream: number): number {
    const known = this.home.get(stream);
    if (known === undefined) return this.choose(); // nothing was hashed: any worker answers the empty digest
    this.close(stream);
    return known;
  }

  /** Open chains per worker (for tests). */
  openChains(): readonly number[] {
    return this.open;
  }

  private close(stream: number): void {
    const worker = this.home.get(stream)!;
    this.home.delete(stream);
    this.open[worker]!--;
  }

  /** The fullest worker with room, or else the emptiest. */
  private choose(): number {
    let best = -1;
    for (let w = 0; w < this.open.length; w++) {
      if (this.open[w]! < this.perWorker && (best < 0 || this.open[w]! > this.open[best]!)) best = w;
    }
    if (best >= 0) return best;
    for (let w = 0; w < this.open.length; w++) if (best < 0 || this.open[w]! < this.open[best]!) best = w;
    return best;
  }
}
