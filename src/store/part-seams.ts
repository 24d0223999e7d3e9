import { cutCapacity, type CutFinder } from '../chunking/cut-finder.js';

/** A chunk a part's recipe names: stored and committed already. */
export interface StoredChunk {
  fingerprint: Buffer;
  rawLength: number;
}

/** One part of a multipart upload, as the seams need it. */
export interface SeamPart {
  size: number;
  /** The part's chunks in order, as its own stream cut them, in runs (a recipe leaf each). */
  chunks(): AsyncIterable<StoredChunk[]>;
  /** Bytes [start, end) of the part. */
  read(start: number, end: number): Promise<Buffer>;
  /** The bytes of the part's last chunk. */
  readLastChunk(): Promise<Buffer>;
}

/** The object's chunks in order: stored ones named as they are, or new bytes cut afresh. */
export type Stitch = { kind: 'stored'; chunks: StoredChunk[] } | { kind: 'fresh'; data: Buffer; cuts: Uint32Array };

/**
 * How far past a part boundary the re-cut looks for the part's own cuts
 * before giving up (at least four chunks of the largest size, for units with
 * larger chunks). On the bench's backup generations in 5 MiB parts, 96% of
 * seams close within it, and five generations keep 0.4% more unique bytes
 * than one stream each (8.3% more with the parts as they were cut). Looking
 * to the end of each part closes the rest but reads twice as much back.
 */
export const SEAM_REACH = 512 * 1024;

/**
 * What is read of a part's head first, in chunks of the largest size: on the
 * bench's generations half the seams close within 66 KiB past the boundary
 * and 90% within 262 KiB; the rest of the reach is read only if needed.
 */
const FIRST_LOOK_CHUNKS = 1;
/** Parts whose head and tail are read ahead of the one being stitched. */
const READ_AHEAD = 2;

/**
 * Stitches a multipart upload's parts into one stream of chunks, cut where a
 * single PutObject of the same bytes would have cut them.
 *
 * Each part was chunked on its own, so its first chunk starts at the part
 * boundary and its last ends at the next one: neither is where the content
 * would put a cut, and in the next backup, whose bytes sit at other offsets
 * against the parts, both are new. At each seam this re-cuts from the last
 * real cut of the part before (the start of its last chunk) through the
 * boundary, until a new cut falls on one of the next part's own cuts: from
 * there on the cutter is back in step (a cut depends only on the bytes since
 * the one before), so the rest of the part is named as stored. A seam that has
 * not closed SEAM_REACH past the boundary is bridged to the part's next own
 * cut with one chunk of its own.
 */
export async function* stitchParts(parts: readonly SeamPart[], cutter: CutFinder): AsyncGenerator<Stitch> {
  const { maxSize, minSize } = cutter.parameters;
  // Two chunks of the largest size at least: a full reach always holds a new cut to bridge from.
  const reach = seamReach(maxSize);
  const nonEmpty = parts.filter((p) => p.size > 0);
  const ahead = new ReadAhead(nonEmpty, firstLook(maxSize), reach, (carry, head, part) =>
    closesWithin(cutter, carry, head, part),
  );
  /** Bytes since the last real cut, not yet named: the tail of the part before. */
  let carry: Buffer = Buffer.alloc(0);
  const built = new Region();
  for (let k = 0; k < nonEmpty.length; k++) {
    const part = nonEmpty[k]!;
    const last = k === nonEmpty.length - 1;
    const own = new OwnCuts(part.chunks());
    const window = ahead.take(k);
    if (carry.length > 0) {
      const shift = carry.length;
      let region = built.start(carry, await window.head);
      let headLength = region.length - shift;
      let cuts: Uint32Array = new Uint32Array(0);
      let checked = 0;
      let closedAt = -1;
      for (;;) {
        const whole = headLength === part.size;
        cuts = cutsOf(cutter, region, last && whole, minSize);
        // Walk the region's cuts beside the part's own: the first one they share closes the seam.
        // A cut already checked stays a cut when more bytes come (the search is not final).
        for (; checked < cuts.length && closedAt < 0; checked++) {
          const at = cuts[checked]! - shift;
          if (at > 0 && (await own.skipTo(at))) closedAt = checked;
        }
        if (closedAt >= 0 || whole || headLength >= reach) break;
        region = built.append(await window.more(headLength, Math.min(part.size, reach)));
        headLength = region.length - shift;
      }
      if (closedAt >= 0) {
        yield fresh(region, cuts.subarray(0, closedAt + 1));
      } else if (headLength === part.size) {
        // The part ended before the seam closed: the re-cut goes on into the next one.
        yield fresh(region, cuts);
        // A copy: the region's buffer is built over again at the next seam.
        carry = Buffer.from(region.subarray(cuts.length > 0 ? cuts[cuts.length - 1]! : 0));
        continue;
      } else {
        // Bridge from the last new cut to the part's next own cut, at most one chunk away. The
        // part's cuts after it are still out of step, so the next seam may not close either.
        const from = cuts.length > 0 ? cuts[cuts.length - 1]! - shift : -shift;
        const to = await own.endAfter(from);
        const bridge = to <= headLength ? region : built.append(await part.read(headLength, to));
        const all = new Uint32Array(cuts.length + 1);
        all.set(cuts);
        all[cuts.length] = shift + to;
        yield fresh(bridge, all);
      }
    }
    // The rest of the part is named as it was stored: all but its last chunk, unless the object ends here.
    let tail: StoredChunk | undefined;
    for (let run = await own.nextRun(); run; run = await own.nextRun()) {
      const named = tail ? [tail, ...run.slice(0, -1)] : run.slice(0, -1);
      tail = run[run.length - 1];
      if (named.length > 0) yield { kind: 'stored', chunks: named };
    }
    if (tail && last) yield { kind: 'stored', chunks: [tail] };
    if (!last && tail) {
      carry = await window.tail;
      if (carry.length !== tail.rawLength) throw new Error(`a part's last chunk holds ${carry.length} bytes, its recipe says ${tail.rawLength}`);
    } else {
      carry = Buffer.alloc(0);
    }
  }
  // The last part is stitched whole, the carry never reaches past it: this is a guard, not a path.
  if (carry.length > 0) throw new Error(`stitching left ${carry.length} bytes unnamed`);
}

/**
 * Whether a seam re-cut from carry closes within the part's first bytes: a
 * guess made ahead (the carry may turn out longer), to read the rest of the
 * reach early for a seam that will need it, or, while the upload goes on, to
 * keep only the first look of a part's head (see Multipart.settleSeams).
 */
export async function closesWithin(cutter: CutFinder, carry: Buffer, head: Buffer, part: Pick<SeamPart, 'chunks'>): Promise<boolean> {
  // The region is needed only until its cuts are found, before the first await: one buffer serves every guess.
  const cuts = cutsOf(cutter, guessRegion.start(carry, head), false, cutter.parameters.minSize);
  const own = new OwnCuts(part.chunks());
  for (const c of cuts) {
    const at = c - carry.length;
    if (at > 0 && (await own.skipTo(at))) return true;
  }
  return false;
}

/**
 * Bytes laid end to end in one buffer that grows as needed and is built over
 * again for the next seam. A fresh buffer per seam cost a completion more than
 * its cutting: each one was new memory, faulted in page by page and unmapped
 * after (some 6,000 page faults a GB of 8 MiB parts).
 */
class Region {
  private buffer = Buffer.alloc(0);
  private length = 0;

  /** Starts over with carry then head; what an earlier start() returned is overwritten. */
  start(carry: Uint8Array, head: Uint8Array): Buffer {
    this.length = 0;
    this.append(carry);
    return this.append(head);
  }

  /** Adds bytes after the region; the result is a view of the region so far. */
  append(bytes: Uint8Array): Buffer {
    const need = this.length + bytes.length;
    if (need > this.buffer.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.buffer.length));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.buffer.set(bytes, this.length);
    this.length = need;
    return this.buffer.subarray(0, need);
  }
}

/** Shared by every guess ahead (see closesWithin): JavaScript runs one at a time. */
const guessRegion = new Region();

/** How far past a part boundary a seam may be re-cut before it is bridged. */
export function seamReach(maxSize: number): number {
  return Math.max(SEAM_REACH, 4 * maxSize);
}

/** How much of a part's head a seam reads first: what an upload keeps of each part (part-edges.ts). */
export function firstLook(maxSize: number): number {
  return Math.min(seamReach(maxSize), FIRST_LOOK_CHUNKS * maxSize);
}

function fresh(data: Buffer, cuts: Uint32Array): Stitch {
  const end = cuts.length > 0 ? cuts[cuts.length - 1]! : 0;
  return { kind: 'fresh', data: data.subarray(0, end), cuts };
}

function cutsOf(cutter: CutFinder, data: Uint8Array, final: boolean, minSize: number): Uint32Array {
  const cuts = new Uint32Array(cutCapacity(data.length, minSize));
  return cuts.subarray(0, cutter.findCuts(data, final, cuts));
}

/** A part's own chunks, walked forward once, with where each ends in the part. */
class OwnCuts {
  private readonly it: AsyncIterator<StoredChunk[]>;
  private run: StoredChunk[] = [];
  private i = 0;
  private end = 0;

  constructor(runs: AsyncIterable<StoredChunk[]>) {
    this.it = runs[Symbol.asyncIterator]();
  }

  async next(): Promise<StoredChunk | undefined> {
    if (this.i >= this.run.length && !(await this.fill())) return undefined;
    const c = this.run[this.i++]!;
    this.end += c.rawLength;
    return c;
  }

  /** What is left of the current run, or the next run. */
  async nextRun(): Promise<StoredChunk[] | undefined> {
    if (this.i >= this.run.length && !(await this.fill())) return undefined;
    const rest = this.i === 0 ? this.run : this.run.slice(this.i);
    this.i = this.run.length;
    for (const c of rest) this.end += c.rawLength;
    return rest;
  }

  /** Passes every own chunk ending at or before `at`; whether one ends exactly there. */
  async skipTo(at: number): Promise<boolean> {
    for (;;) {
      if (this.end === at) return true;
      if (this.end > at) return false;
      if (this.i >= this.run.length && !(await this.fill())) return false;
      const c = this.run[this.i]!;
      if (this.end + c.rawLength > at) return false;
      this.i++;
      this.end += c.rawLength;
    }
  }

  /** Passes own chunks up to the first that ends after `at`, and where that one ends. */
  async endAfter(at: number): Promise<number> {
    while (this.end <= at) {
      if (!(await this.next())) throw new Error(`a part's chunks end at ${this.end}, before ${at}`);
    }
    return this.end;
  }

  /** Moves to the next non-empty run; false at the end. */
  private async fill(): Promise<boolean> {
    for (;;) {
      const r = await this.it.next();
      if (r.done) return false;
      this.run = r.value;
      this.i = 0;
      if (this.run.length > 0) return true;
    }
  }
}

interface PartWindow {
  /** The part's first bytes, as far as a seam usually reaches (or all of it). */
  head: Promise<Buffer>;
  /** The part's last chunk. */
  tail: Promise<Buffer>;
  /** Bytes [start, end) of the part: read ahead if the seam looked as if it would need them. */
  more(start: number, end: number): Promise<Buffer>;
}

/** Whether a seam re-cut from carry closes within head. */
type ClosureGuess = (carry: Buffer, head: Buffer, part: SeamPart) => Promise<boolean>;

interface ReadRest {
  start: number;
  end: number;
  bytes: Promise<Buffer | null>;
}

/** Reads the heads and tails of the next few parts while one is stitched: a seam waits for its bytes only once. */
class ReadAhead {
  private readonly windows = new Map<number, PartWindow>();
  private next = 0;
  private previousTail: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));

  constructor(
    private readonly parts: readonly SeamPart[],
    private readonly look: number,
    private readonly reach: number,
    private readonly closes: ClosureGuess,
  ) {}

  /** Part k's window, once: it is forgotten as it is handed out. */
  take(k: number): PartWindow {
    for (; this.next < Math.min(this.parts.length, k + 1 + READ_AHEAD); this.next++) {
      const j = this.next;
      const p = this.parts[j]!;
      const first = j === 0;
      const lastPart = j === this.parts.length - 1;
      // The first part needs no head (nothing is carried into it) and the last no tail.
      const head = first ? Promise.resolve(Buffer.alloc(0)) : p.read(0, Math.min(p.size, this.look));
      const tail = lastPart ? Promise.resolve(Buffer.alloc(0)) : p.readLastChunk();
      // The rest of the reach, read now if the seam will not close within the head (guessing
      // that the carry is the last chunk of the part before, as it is unless that part was short).
      const rest = first ? null : this.readRestIfNeeded(p, this.previousTail, head);
      const w: PartWindow = {
        head,
        tail,
        more: async (start, end) => (rest && rest.start === start && rest.end === end && (await rest.bytes)) || p.read(start, end),
      };
      // Observed when the part is stitched; a failure before then must not go unhandled.
      for (const q of [head, tail, rest?.bytes]) q?.catch(() => undefined);
      this.previousTail = tail;
      this.windows.set(j, w);
    }
    const w = this.windows.get(k)!;
    this.windows.delete(k);
    return w;
  }

  /** Bytes past the head up to the reach, read now if the guess says the seam needs them (else null). */
  private readRestIfNeeded(p: SeamPart, carry: Promise<Buffer>, head: Promise<Buffer>): ReadRest | null {
    const start = Math.min(p.size, this.look);
    const end = Math.min(p.size, this.reach);
    if (start >= end) return null;
    const bytes = Promise.all([carry, head]).then(async ([c, h]) => ((await this.closes(c, h, p)) ? null : p.read(start, end)));
    return { start, end, bytes };
  }
}
