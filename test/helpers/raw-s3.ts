import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { EMPTY_SHA256, canonicalRequest, stringToSign, type SignableRequest } from '../../src/sigv4/canonical-request.js';
import { amzDate, type SigningCredentials } from '../../src/sigv4/signer.js';
import { scopeString, signature, signingKey } from '../../src/sigv4/signing-key.js';

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends bytes over a plain socket: the request exactly as given, even a
 * dishonest one (a Content-Length that lies, a body cut short). Resolves with
 * the first answer, or status 0 if the server closed without one.
 */
export function rawRequest(url: string, head: string, body: Buffer = Buffer.alloc(0), options: { endAfterBody?: boolean } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let data = Buffer.alloc(0);
    const finish = () => {
      const text = data.toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, head: split < 0 ? text : text.slice(0, split), body: split < 0 ? '' : text.slice(split + 4) });
    };
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on('data', (d) => (data = Buffer.concat([data, d])));
    socket.on('close', () => {
      clearTimeout(timer);
      finish();
    });
    socket.on('error', () => undefined);
    socket.write(head);
    socket.write(body);
    if (options.endAfterBody) socket.end();
    else setTimeout(() => socket.end(), 3000);
  });
}

/**
 * Request line and headers, signed, for `path` taken as is (not normalized:
 * "%2E%2E" stays), whose x-amz-content-sha256 is `payload`.
 */
export function signedHead(
  url: string,
  method: string,
  path: string,
  credentials: SigningCredentials,
  payload: string,
  headers: Record<string, string> = {},
  now = new Date(),
): { head: string; signature: string; date: string } {
  const host = new URL(url).host;
  const date = amzDate(now);
  const all: Record<string, string> = { ...headers, host, 'x-amz-date': date, 'x-amz-content-sha256': payload };
  const q = path.indexOf('?');
  const req: SignableRequest = {
    method,
    path: q < 0 ? path : path.slice(0, q),
    query: q < 0 ? '' : path.slice(q + 1),
    headers: new Map(Object.entries(all).map(([k, v]) => [k, [v]])),
  };
  const scope = { date: date.slice(0, 8), region: 'us-east-1', service: 's3' };
  const names = Object.keys(all).sort();
  const sig = signature(signingKey(credentials.secretAccessKey, scope), stringToSign(date, scopeString(scope), canonicalRequest(req, names, payload)));
  all.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scopeString(scope)}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), 'connection: close', '', ''];
  return { head: lines.join('\r\n'), signature: sig, date };
}

/** A signed aws-chunked body: each chunk signed, chained from the seed signature. */
export function signedChunks(pieces: Buffer[], seed: string, date: string, secret: string): Buffer {
  const key = signingKey(secret, { date: date.slice(0, 8), region: 'us-east-1', service: 's3' });
  const scope = `${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
  let previous = seed;
  const out: Buffer[] = [];
  for (const p of [...pieces, Buffer.alloc(0)]) {
    const toSign = ['AWS4-HMAC-SHA256-PAYLOAD', date, scope, previous, EMPTY_SHA256, createHash('sha256').update(p).digest('hex')].join('\n');
    const sig = createHmac('sha256', key).update(toSign).digest('hex');
    out.push(Buffer.from(`${p.length.toString(16)};chunk-signature=${sig}\r\n`), p, Buffer.from('\r\n'));
    previous = sig;
  }
  return Buffer.concat(out);
}

/**
 * A signed aws-chunked body with signed trailers (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER):
 * the chunks as signedChunks signs them, then the trailers and their signature, chained from
 * the last (empty) chunk's. `forge` changes the trailer signature's first digit.
 */
export function signedTrailerChunks(pieces: Buffer[], seed: string, date: string, secret: string, trailers: [string, string][], forge = false): Buffer {
  const chunks = signedChunks(pieces, seed, date, secret);
  // signedChunks ends with the empty chunk's line and its CRLF: the trailers take that CRLF's place.
  const last = /([0-9a-f]{64})\r\n\r\n$/.exec(chunks.subarray(-200).toString('latin1'))![1]!;
  const key = signingKey(secret, { date: date.slice(0, 8), region: 'us-east-1', service: 's3' });
  const scope = `${date.slice(0, 8)}/us-east-1/s3/aws4_request`;
  const canonical = trailers.map(([n, v]) => `${n}:${v}\n`).join('');
  let sig = createHmac('sha256', key).update(['AWS4-HMAC-SHA256-TRAILER', date, scope, last, createHash('sha256').update(canonical).digest('hex')].join('\n')).digest('hex');
  if (forge) sig = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
  const tail = `${trailers.map(([n, v]) => `${n}:${v}\r\n`).join('')}x-amz-trailer-signature:${sig}\r\n\r\n`;
  return Buffer.concat([chunks.subarray(0, chunks.length - 2), Buffer.from(tail)]);
}

export { amzDate };
