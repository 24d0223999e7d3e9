import { ALGORITHM, canonicalRequest, sha256Hex, stringToSign, type SignableRequest } from './canonical-request.js';
import { scopeString, signature, signingKey } from './signing-key.js';
import { uriEncode } from './uri-encode.js';

export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SignOptions {
  credentials: SigningCredentials;
  region: string;
  service: string;
  now?: Date;
}

/** 20130524T000000Z */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Signs a request with an Authorization header (the client side: the CLI and
 * the mover). Adds host is the caller's job; this adds x-amz-date and
 * x-amz-content-sha256 and signs every header given.
 */
export function signRequest(
  req: { method: string; url: URL; headers: Record<string, string>; body?: Uint8Array | string },
  o: SignOptions,
): Record<string, string> {
  const date = amzDate(o.now ?? new Date());
  const payloadHash = req.headers['x-amz-content-sha256'] ?? sha256Hex(req.body ?? '');
  const headers: Record<string, string> = {
    ...Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), v])),
    host: req.url.host,
    'x-amz-date': date,
    'x-amz-content-sha256': payloadHash,
  };
  const scope = { date: date.slice(0, 8), region: o.region, service: o.service };
  const signed = Object.keys(headers).sort();
  const signable: SignableRequest = {
    method: req.method,
    path: req.url.pathname,
    query: req.url.search.replace(/^\?/, ''),
    headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])),
  };
  const canonical = canonicalRequest(signable, signed, payloadHash);
  const sig = signature(signingKey(o.credentials.secretAccessKey, scope), stringToSign(date, scopeString(scope), canonical));
  headers.authorization = `${ALGORITHM} Credential=${o.credentials.accessKeyId}/${scopeString(scope)}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return headers;
}

/** A presigned URL (query authentication), valid for expiresSeconds. */
export function presignUrl(method: string, url: URL, expiresSeconds: number, o: SignOptions): URL {
  const date = amzDate(o.now ?? new Date());
  const scope = { date: date.slice(0, 8), region: o.region, service: o.service };
  const out = new URL(url);
  const params: [string, string][] = [
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${o.credentials.accessKeyId}/${scopeString(scope)}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const query = [url.search.replace(/^\?/, ''), ...params.map(([k, v]) => `${uriEncode(k, true)}=${uriEncode(v, true)}`)]
    .filter((q) => q !== '')
    .join('&');
  const signable: SignableRequest = { method, path: url.pathname, query, headers: new Map([['host', [url.host]]]) };
  const canonical = canonicalRequest(signable, ['host'], 'UNSIGNED-PAYLOAD');
  const sig = signature(signingKey(o.credentials.secretAccessKey, scope), stringToSign(date, scopeString(scope), canonical));
  out.search = `${query}&X-Amz-Signature=${sig}`;
  return out;
}
