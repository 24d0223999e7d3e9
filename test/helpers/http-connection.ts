import { connect, type Socket } from 'node:net';

export interface ParsedAnswer {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

/**
 * One kept-alive connection to the server: requests are written as raw bytes
 * (several at once if the test pipelines them) and answers read one at a
 * time, in order, as a client would.
 */
export class HttpConnection {
  private data = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;
  readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static open(url: string): Promise<HttpConnection> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new HttpConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())));
  }

  /** The next answer: its head, then its body by Content-Length or chunked framing (none for HEAD). */
  async answer(options: { head?: boolean; timeoutMs?: number } = {}): Promise<ParsedAnswer> {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    const until = async (ready: () => boolean): Promise<void> => {
      while (!ready()) {
        if (this.closed) throw new Error('the server closed the connection');
        if (Date.now() > deadline) throw new Error('no answer in time');
        await new Promise<void>((r) => {
          this.wake = r;
          setTimeout(r, 100);
        });
      }
    };
    await until(() => this.data.indexOf('\r\n\r\n') >= 0);
    const end = this.data.indexOf('\r\n\r\n');
    const lines = this.data.subarray(0, end).toString('latin1').split('\r\n');
    this.data = this.data.subarray(end + 4);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if (options.head || status === 204 || status === 304 || status === 100) return { status, headers, body: Buffer.alloc(0) };
    if (headers.get('transfer-encoding') === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        await until(() => this.data.indexOf('\r\n') >= 0);
        const eol = this.data.indexOf('\r\n');
        const size = parseInt(this.data.subarray(0, eol).toString('latin1'), 16);
        await until(() => this.data.length >= eol + 2 + size + 2);
        parts.push(Buffer.from(this.data.subarray(eol + 2, eol + 2 + size)));
        this.data = this.data.subarray(eol + 2 + size + 2);
        if (size === 0) break;
      }
      return { status, headers, body: Buffer.concat(parts) };
    }
    const length = Number(headers.get('content-length') ?? 0);
    await until(() => this.data.length >= length);
    const body = Buffer.from(this.data.subarray(0, length));
    this.data = this.data.subarray(length);
    return { status, headers, body };
  }

  /** Resolves once the server has closed the connection (or after the timeout, false). */
  async closedBy(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
