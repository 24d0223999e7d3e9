import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { sha256Hex, UNSIGNED_PAYLOAD } from '../sigv4/canonical-request.js';
import { signRequest, type SigningCredentials } from '../sigv4/signer.js';

export interface MoverEndpoint {
  endpoint: URL;
  credentials: SigningCredentials;
  region: string;
}

/** The server refused a request, or could not be reached. `code` is the problem's (or S3's) code. */
export class MoverError extends Error {
  override name = 'MoverError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly problem: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface RequestOptions {
  body?: Buffer;
  contentType?: string;
  /** Send the body with UNSIGNED-PAYLOAD (chunk frames verify themselves): no SHA-256 of it here or there. */
  unsigned?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Reply {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Bytes that crossed the network both ways, counted on the sockets: headers, bodies, everything. */
export interface WireCounters {
  sent: number;
  received: number;
}

/**
 * Signed HTTP requests to one Cairn server, over kept-alive connections, with
 * every byte on the wire counted (what source-side dedup is for).
 */
export class MoverConnection {
  readonly wire: WireCounters = { sent: 0, received: 0 };
  private readonly agent: HttpAgent;
  private readonly seen = new WeakMap<Socket, WireCounters>();

  constructor(
    readonly target: MoverEndpoint,
    maxSockets = 16,
  ) {
    const https = target.endpoint.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets }) : new HttpAgent({ keepAlive: true, maxSockets });
  }

  /** A request whose whole answer is read; a status of 300 or more becomes a MoverError. */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<Reply> {
    const res = await this.send(method, path, o);
    const body = await readAll(res);
    if (res.statusCode! >= 300) throw errorOf(res.statusCode!, body, `${method} ${path.split('?')[0]}`);
    return { status: res.statusCode!, headers: res.headers, body };
  }

  /** A request whose answer is streamed back (an object's bytes); errors as for request(). */
  async stream(method: string, path: string, o: RequestOptions = {}): Promise<IncomingMessage> {
    const res = await this.send(method, path, o);
    if (res.statusCode! >= 300) throw errorOf(res.statusCode!, await readAll(res), `${method} ${path.split('?')[0]}`);
    return res;
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, o: RequestOptions): Promise<IncomingMessage> {
    const url = new URL(path, this.target.endpoint);
    const headers: Record<string, string> = { ...o.headers };
    if (o.body) {
      headers['content-length'] = String(o.body.length);
      if (o.contentType) headers['content-type'] = o.contentType;
    }
    headers['x-amz-content-sha256'] = o.unsigned ? UNSIGNED_PAYLOAD : sha256Hex(o.body ?? '');
    const signed = signRequest({ method, url, headers }, { credentials: this.target.credentials, region: this.target.region, service: 's3' });
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers: signed, agent: this.agent, ...(o.signal && { signal: o.signal }) }, (res) => {
        res.on('end', () => this.count(req.socket));
        res.on('error', () => this.count(req.socket));
        resolve(res);
      });
      req.on('error', (err) => {
        this.count(req.socket);
        const code = (err as NodeJS.ErrnoException).code ?? err.name;
        reject(err.name === 'AbortError' ? err : new MoverError(`cannot reach ${url.origin}: ${code}`, 0, code));
      });
      req.end(o.body);
    });
  }

  /** Adds what a socket carried since we last looked at it. */
  private count(socket: Socket | null): void {
    if (!socket) return;
    const last = this.seen.get(socket) ?? { sent: 0, received: 0 };
    this.wire.sent += socket.bytesWritten - last.sent;
    this.wire.received += socket.bytesRead - last.received;
    this.seen.set(socket, { sent: socket.bytesWritten, received: socket.bytesRead });
  }
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of res) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** A problem document (ingest) or an S3 error document, as a MoverError. */
function errorOf(status: number, body: Buffer, what: string): MoverError {
  const text = body.toString('utf8');
  try {
    const p = JSON.parse(text) as Record<string, unknown> & { type?: string; detail?: string };
    const code = String(p.type ?? '').replace(/^urn:cairn:problem:/, '') || `http-${status}`;
    return new MoverError(`${what}: ${status} ${p.detail ?? text}`, status, code, p);
  } catch {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `http-${status}`;
    const message = xmlText(/<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? (text.trim() || 'no detail'));
    return new MoverError(`${what}: ${status} ${code}: ${message}`, status, code);
  }
}

const ENTITIES: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function xmlText(s: string): string {
  return s.replace(/&(quot|amp|lt|gt|apos);/g, (_, name: string) => ENTITIES[name]!);
}
