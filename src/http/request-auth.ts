import type { FastifyRequest } from 'fastify';
import type { SignableRequest } from '../sigv4/canonical-request.js';
import { AuthError, claimedAuth, verify, type VerifiedAuth } from '../sigv4/verifier.js';
import type { AccessKey, Credentials } from '../units/credentials.js';

export interface Authenticated {
  key: AccessKey;
  auth: VerifiedAuth;
}

/** The request as SigV4 sees it: raw path and query, every header value as sent, in order. */
export function signableRequest(req: FastifyRequest): SignableRequest {
  const url = req.raw.url ?? '/';
  const q = url.indexOf('?');
  const headers = new Map<string, string[]>();
  const raw = req.raw.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = headers.get(name);
    if (list) list.push(raw[i + 1]!);
    else headers.set(name, [raw[i + 1]!]);
  }
  return { method: req.method, path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1), headers };
}

/**
 * Checks a request's signature against the key it names. Returns null for an
 * anonymous request; throws AuthError for anything else that fails.
 */
export function authenticate(
  req: FastifyRequest,
  credentials: Credentials,
  options: { payloadHash: string; maxSkewMs: number; nowMs?: number; rawPath?: boolean },
): Authenticated | null {
  const signable = { ...signableRequest(req), rawPath: options.rawPath === true };
  const claim = claimedAuth(signable);
  if (!claim) return null;
  const resolved = credentials.resolve(claim.accessKeyId);
  if (!resolved) throw new AuthError('InvalidAccessKeyId', 'the access key id you provided does not exist in our records');
  const auth = verify(signable, claim, {
    secret: resolved.secret,
    payloadHash: options.payloadHash,
    nowMs: options.nowMs ?? Date.now(),
    maxSkewMs: options.maxSkewMs,
  });
  return { key: resolved.key, auth };
}
