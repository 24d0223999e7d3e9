import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Landing, PushSource } from '../store/push-source.js';

/**
 * Large request bodies read straight from the socket, not through Node's HTTP
 * parser. The parser copies every 64 KiB read into a fresh Buffer (a third of
 * that cost is page faults on this kind of host) and hands it on through a
 * stream, an async iterator and a promise; the socket instead reads up to a
 * MiB at a time into one of two buffers it keeps reusing (Node's `onread`
 * mechanism for client sockets, applied to a server socket), and each read is
 * offered to the taker at once.
 *
 * This reaches into Node's HTTP server internals (the parser that consumes
 * the socket, the socket's user-buffer read hooks). Every one is checked
 * before use; where one is missing the body is read the ordinary way. After
 * the body, the parser is told the body's bytes went by (without being given
 * them) so that it ends the request exactly as if it had read it, and the
 * connection stays usable for the next request.
 */

/** One read's most: a sixteenth of the reads, syscalls and wake-ups of Node's 64 KiB. */
const READ_BYTES = 1 << 20;
/**
 * What each socket keeps between bodies for its first read: the socket's read
 * hook has no way to be pointed elsewhere before a read, so the first read of
 * a body lands here, and no body shorter than this is taken over (so that read
 * cannot run into the next request).
 */
const FIRST_READ_BYTES = 64 << 10;
/** Below this the parser's own path costs too little to be worth leaving. */
const SOCKET_BODY_MIN = 2 * READ_BYTES;

interface ReadHooks {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

interface NodeParser {
  incoming: unknown;
  _consumed: boolean;
  consume(handle: unknown): void;
  unconsume(): void;
  execute(data: Uint8Array): number | Error;
  [index: number]: unknown;
}

interface NodeHandle {
  reading: boolean;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buffer: Uint8Array): void;
}

type HookedSocket = Socket & {
  parser?: NodeParser | null;
  _handle?: NodeHandle | null;
  _paused?: boolean;
  encrypted?: boolean;
  [hook: symbol]: unknown;
};

/** Per socket: the buffer its read hook points at between bodies, and whether it may be taken over again. */
interface SocketState {
  first: Buffer;
  /**
   * Set when a body was abandoned half-read: the read hook may still point
   * into these buffers, so they live as long as the socket, which is never
   * taken over again.
   */
  spent: Buffer[] | null;
}

/**
 * Large bodies since start (aws-chunked or not), by how they were read: from the socket, by
 * the parser (the socket could not be taken over), or abandoned half-read
 * (a refusal, a lost client). For the metrics.
 */
export const socketBodies = { socket: 0, parser: 0, abandoned: 0 };

/**
 * Socket reads of those bodies since start, by where they were aimed:
 * straight into the taker's memory (a batch buffer: no copy follows) or
 * into this module's buffers (copied when taken). For the metrics.
 */
export const socketReads = { landed: 0, buffered: 0 };

const sockets = new WeakMap<Socket, SocketState>();
const idle: Buffer[] = [];
const IDLE_KEPT = 8;
let hooks: ReadHooks | null | undefined;

function readHooks(socket: Socket): ReadHooks | null {
  if (hooks !== undefined) return hooks;
  const named = (d: string) => Object.getOwnPropertySymbols(socket).find((s) => s.description === d);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  hooks = buffer && callback && generator ? { buffer, callback, generator } : null;
  return hooks;
}

function readBuffer(): Buffer {
  return idle.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
}

/** A zeroed buffer the parser is run over to skip the bytes it did not see (its body callback is off then, so nothing is copied). */
let skipBytes: Buffer | null = null;

/**
 * The request's body as a push source read from the socket, or null where it
 * cannot be (no Content-Length, too small, TLS, internals not as expected,
 * a request on a connection in an unusual state).
 */
export function socketBody(req: IncomingMessage): PushSource | null {
  const length = Number(req.headers['content-length']);
  if (!Number.isSafeInteger(length) || length < SOCKET_BODY_MIN || req.headers['transfer-encoding'] !== undefined) return null;
  const socket = req.socket as HookedSocket;
  if (!takeable(req, socket, length)) {
    socketBodies.parser++;
    return null;
  }
  return new SocketBody(req, socket, length);
}

function takeable(req: IncomingMessage, socket: HookedSocket, length: number): boolean {
  const parser = socket.parser;
  const handle = socket._handle;
  const h = readHooks(socket);
  return (
    h !== null &&
    !socket.encrypted &&
    !socket.destroyed &&
    socket._paused !== true &&
    !sockets.get(socket)?.spent &&
    parser != null &&
    parser.incoming === req &&
    parser._consumed === true &&
    typeof parser.consume === 'function' &&
    typeof parser.unconsume === 'function' &&
    typeof parser.execute === 'function' &&
    typeof (parser.constructor as { kOnBody?: unknown }).kOnBody === 'number' &&
    handle != null &&
    typeof handle.useUserBuffer === 'function' &&
    typeof handle.readStart === 'function' &&
    !req.complete &&
    req.readableFlowing !== true &&
    length - req.readableLength >= FIRST_READ_BYTES
  );
}

class SocketBody implements PushSource {
  readonly kind = 'push';
  private take: ((bytes: Uint8Array) => number) | null = null;
  /** Where the taker would have the next read land (a batch's free end), if anywhere. */
  private landing: Landing | null = null;
  /** The taker's memory the next read is aimed at, chosen after the last read was taken. */
  private target: Uint8Array | null = null;
  /** The taker asked for no read until resume(), the next one aimed at its memory. */
  private awaitingRoom = false;
  /** The socket's reads are this body's (not the parser's). */
  private tookOver = false;
  /** Bytes offered and not yet taken; nothing more is read until they are. */
  private pending: Uint8Array | null = null;
  /** Body bytes not yet read from the socket. */
  private remaining = 0;
  /** Body bytes the parser saw before the takeover (it must be told of the rest). */
  private parsed = 0;
  private buffers: Buffer[] = [];
  private next = 0;
  private settled = false;
  private resolve!: () => void;
  private reject!: (err: Error) => void;
  private readonly onClose = (): void => this.fail(new Error('the connection closed before the request body was in'));

  constructor(
    private readonly req: IncomingMessage,
    private readonly socket: HookedSocket,
    private readonly length: number,
  ) {}

  run(take: (bytes: Uint8Array) => number, landing?: Landing): Promise<void> {
    this.take = take;
    this.landing = landing ?? null;
    return new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      // Never inside the parser's own read: a microtask can run between its body callbacks.
      setImmediate(() => this.start());
    });
  }

  resume(): void {
    if (this.settled) return;
    if (this.awaitingRoom) {
      this.awaitingRoom = false;
      this.readOn();
      return;
    }
    if (!this.pending) return;
    const rest = this.pending;
    this.pending = null;
    if (!this.offer(rest)) return;
    if (this.remaining === 0) this.finish();
    else this.readOn();
  }

  stop(reason: Error): void {
    this.fail(reason);
  }

  private start(): void {
    if (this.settled) return; // stopped before it began
    const { req, socket } = this;
    if (!takeable(req, socket, this.length)) {
      this.fallBack();
      return;
    }
    const h = hooks!;
    const handle = socket._handle!;
    const parser = socket.parser!;
    let state = sockets.get(socket);
    const firstTime = !state;
    state ??= { first: Buffer.allocUnsafeSlow(FIRST_READ_BYTES), spent: null };
    sockets.set(socket, state);
    this.buffers = [readBuffer(), readBuffer()];
    // What the parser already passed to the request is the body's start; the rest comes from the socket.
    const early: Buffer[] = [];
    for (let piece: Buffer | null; (piece = req.read() as Buffer | null) !== null; ) early.push(piece);
    const head = early.length === 1 ? early[0]! : Buffer.concat(early);
    this.parsed = head.length;
    this.remaining = this.length - this.parsed;
    parser.unconsume();
    parser._consumed = false;
    if (firstTime) handle.useUserBuffer(state.first);
    socket[h.buffer] = state.first;
    socket[h.callback] = (n: number, into: Uint8Array): boolean => this.onRead(n, into);
    socket[h.generator] = (): Uint8Array => this.nextBuffer();
    this.tookOver = true;
    socket.once('close', this.onClose);
    if (head.length > 0 && !this.offer(head)) return;
    if (this.remaining === 0) this.finish();
    else this.readOn();
  }

  private onRead(n: number, into: Uint8Array): boolean {
    if (this.settled) return false;
    if (n > this.remaining) {
      // The read hook was pointed at more than the body: cannot happen, and must not be parsed as a request.
      this.fail(new Error('read past the end of the request body'));
      return false;
    }
    if (this.pending) {
      this.fail(new Error('a read arrived while the last one waited'));
      return false;
    }
    this.remaining -= n;
    const ok = this.offer(into.subarray(0, n));
    if (!ok) return false;
    if (this.remaining === 0) {
      // After this callback returns, Node stops the handle; the parser takes over after that.
      queueMicrotask(() => this.finish());
      return false;
    }
    return this.aim();
  }

  /**
   * Asks the taker where the next read should land (read by nextBuffer(),
   * which Node calls once this read's callback returns). False when the
   * taker wants no read until it resumes the source.
   */
  private aim(): boolean {
    this.target = null;
    const to = this.landing?.(Math.min(this.remaining, READ_BYTES));
    if (!to || to.into.length === 0) return true;
    this.target = to.into;
    this.awaitingRoom = to.pause;
    return !to.pause;
  }

  /**
   * Where the next read lands: never past the body, never over bytes still
   * waiting to be taken. The taker's own memory when it offers some (the
   * read is then taken where it lies), else one of this body's buffers.
   */
  private nextBuffer(): Uint8Array {
    if (this.settled || this.remaining === 0) return sockets.get(this.socket)!.first;
    const target = this.target;
    if (target && !this.pending) {
      this.target = null;
      socketReads.landed++;
      return target;
    }
    this.target = null;
    if (this.pending) this.next ^= 1;
    socketReads.buffered++;
    const b = this.buffers[this.next]!;
    return this.remaining >= b.length ? b : b.subarray(0, this.remaining);
  }

  /** Offers bytes; false when not all were taken (they wait as pending) or the taker failed. */
  private offer(bytes: Uint8Array): boolean {
    let n: number;
    try {
      n = this.take!(bytes);
    } catch (err) {
      this.fail(err as Error);
      return false;
    }
    if (n === bytes.length) return true;
    this.pending = bytes.subarray(n);
    return false;
  }

  private readOn(): void {
    const handle = this.socket._handle;
    if (!handle) {
      this.onClose();
      return;
    }
    if (!handle.reading) {
      handle.reading = true;
      const err = handle.readStart();
      if (err) this.fail(new Error(`socket read failed (${err})`));
    }
  }

  /** The body is in: the parser is told so and gets the socket back. */
  private finish(): void {
    if (this.settled) return;
    const { socket, req } = this;
    const h = hooks!;
    const parser = socket.parser;
    const handle = socket._handle;
    socket.removeListener('close', this.onClose);
    if (!parser || !handle || socket.destroyed) {
      this.fail(new Error('the connection closed before the request body was in'));
      return;
    }
    socket[h.callback] = (): boolean => false;
    socket[h.generator] = null;
    socket[h.buffer] = sockets.get(socket)!.first;
    handle.reading = false;
    handle.readStop();
    for (const b of this.buffers) if (idle.length < IDLE_KEPT) idle.push(b);
    this.buffers = [];
    // The parser still expects the rest of the body: run it over that many
    // zero bytes with its body callback off, so it ends the request itself.
    const kOnBody = (parser.constructor as unknown as { kOnBody: number }).kOnBody;
    const onBody = parser[kOnBody];
    parser[kOnBody] = null;
    let left = this.length - this.parsed;
    let failed: Error | null = null;
    try {
      skipBytes ??= Buffer.alloc(READ_BYTES);
      while (left > 0 && !failed) {
        const piece = Math.min(left, skipBytes.length);
        const r = parser.execute(skipBytes.subarray(0, piece));
        if (r instanceof Error) failed = r;
        left -= piece;
      }
    } finally {
      parser[kOnBody] = onBody;
    }
    if (failed || !req.complete) {
      this.fail(failed ?? new Error('the parser did not end the request'));
      socket.destroy();
      return;
    }
    parser.consume(handle);
    parser._consumed = true;
    this.settled = true;
    socketBodies.socket++;
    req.resume();
    if (!socket._paused && !handle.reading) {
      handle.reading = true;
      handle.readStart();
    }
    this.resolve();
  }

  private fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    if (!this.tookOver) {
      // Not begun, or read by the parser: the socket's reads were never this body's to stop.
      this.reject(err);
      this.wake?.();
      return;
    }
    const { socket } = this;
    socket.removeListener('close', this.onClose);
    const state = sockets.get(socket);
    if (state) state.spent = this.buffers;
    socketBodies.abandoned++;
    const h = hooks;
    if (h) socket[h.callback] = (): boolean => false;
    const handle = socket._handle;
    if (handle?.reading) {
      handle.reading = false;
      handle.readStop();
    }
    // The handle's next read may be aimed at the taker's memory (a batch
    // slot), which goes back to the pool once the stream fails and then holds
    // another stream's bytes. Aim it at this socket's own buffer instead.
    if (handle && state) {
      handle.useUserBuffer(state.first);
      if (h) socket[h.buffer] = state.first;
    }
    this.reject(err);
  }

  /** The socket could not be taken over after all: the body comes through the request stream. */
  private fallBack(): void {
    socketBodies.parser++;
    const pieces = this.req.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Buffer>;
    const pump = async (): Promise<void> => {
      for await (const piece of pieces) {
        let rest: Uint8Array = piece;
        for (;;) {
          if (this.settled) return; // stopped: the taker is gone
          const n = this.take!(rest);
          if (n === rest.length) break;
          rest = rest.subarray(n);
          await new Promise<void>((r) => (this.wake = r));
        }
      }
    };
    this.resume = () => this.wake?.();
    pump().then(
      () => {
        this.settled = true;
        this.resolve();
      },
      (err: Error) => {
        this.settled = true;
        this.reject(err);
      },
    );
  }

  private wake: (() => void) | undefined;
}
