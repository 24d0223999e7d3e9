import { timingSafeEqual } from 'node:crypto';
import { ALGORITHM, UNSIGNED_PAYLOAD, canonicalRequest, stringToSign, type SignableRequest } from './canonical-request.js';
import { scopeString, signature, signingKey, type CredentialScope } from './signing-key.js';

/** Why a request's authentication failed, in S3's own error codes. */
export type AuthErrorCode =
  | 'AccessDenied'
  | 'InvalidAccessKeyId'
  | 'SignatureDoesNotMatch'
  | 'RequestTimeTooSkewed'
  | 'AuthorizationHeaderMalformed'
  | 'AuthorizationQueryParametersError'
  | 'MissingSecurityHeader';

export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** What a request claims about who signed it; the signature is checked by verify(). */
export interface ClaimedAuth {
  kind: 'header' | 'query';
  accessKeyId: string;
  scope: CredentialScope;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  /** Query authentication only. */
  expiresSeconds?: number;
}

/** What a verified request leaves for checking a streaming body's chunk signatures. */
export interface VerifiedAuth {
  claim: ClaimedAuth;
  signingKey: Buffer;
}

const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;

function parseAmzDate(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return Number.NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

function parseScope(credential: string, malformed: AuthErrorCode): { accessKeyId: string; scope: CredentialScope } {
  const parts = credential.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!) || !parts[0]) {
    throw new AuthError(malformed, 'the credential must be <key>/<yyyymmdd>/<region>/<service>/aws4_request');
  }
  return { accessKeyId: parts[0]!, scope: { date: parts[1]!, region: parts[2]!, service: parts[3]! } };
}

function header(req: SignableRequest, name: string): string | undefined {
  return req.headers.get(name)?.[0];
}

/** Reads the Authorization header or the X-Amz-* query parameters; null for an anonymous request. */
export function claimedAuth(req: SignableRequest): ClaimedAuth | null {
  const authz = header(req, 'authorization');
  if (authz !== undefined) {
    if (!authz.startsWith(`${ALGORITHM} `)) {
      throw new AuthError('AuthorizationHeaderMalformed', `only ${ALGORITHM} is supported`);
    }
    const fields = new Map<string, string>();
    for (const part of authz.slice(ALGORITHM.length + 1).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const sig = fields.get('Signature');
    if (!credential || !signedHeaders || !sig || !/^[0-9a-f]{64}$/.test(sig)) {
      throw new AuthError('AuthorizationHeaderMalformed', 'the Authorization header needs Credential, SignedHeaders and Signature');
    }
    const amzDate = header(req, 'x-amz-date');
    if (!amzDate || !AMZ_DATE.test(amzDate)) throw new AuthError('AccessDenied', 'a signed request needs a valid X-Amz-Date');
    return {
      kind: 'header',
      ...parseScope(credential, 'AuthorizationHeaderMalformed'),
      signedHeaders: signedHeaders.split(';'),
      signature: sig,
      amzDate,
    };
  }
  const q = new URLSearchParams(req.query);
  if (!q.has('X-Amz-Signature') && !q.has('X-Amz-Credential')) return null;
  const algorithm = q.get('X-Amz-Algorithm');
  const credential = q.get('X-Amz-Credential');
  const amzDate = q.get('X-Amz-Date');
  const expires = q.get('X-Amz-Expires');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const sig = q.get('X-Amz-Signature');
  if (algorithm !== ALGORITHM || !credential || !amzDate || !AMZ_DATE.test(amzDate) || !expires || !signedHeaders || !sig) {
    throw new AuthError('AuthorizationQueryParametersError', 'a presigned URL needs X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders and -Signature');
  }
  const expiresSeconds = Number(expires);
  if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
    throw new AuthError('AuthorizationQueryParametersError', 'X-Amz-Expires must be between 1 and 604800 seconds');
  }
  return {
    kind: 'query',
    ...parseScope(credential, 'AuthorizationQueryParametersError'),
    signedHeaders: signedHeaders.split(';'),
    signature: sig,
    amzDate,
    expiresSeconds,
  };
}

export interface VerifyOptions {
  secret: string;
  /** For header auth: the x-amz-content-sha256 value (a hex digest, UNSIGNED-PAYLOAD or a STREAMING-* mode). */
  payloadHash: string;
  nowMs: number;
  maxSkewMs: number;
}

/** Checks the time window and the signature; throws AuthError or returns the signing key for streaming bodies. */
export function verify(req: SignableRequest, claim: ClaimedAuth, o: VerifyOptions): VerifiedAuth {
  const signedAt = parseAmzDate(claim.amzDate);
  if (Number.isNaN(signedAt)) throw new AuthError('AccessDenied', 'X-Amz-Date is not a valid time');
  if (claim.amzDate.slice(0, 8) !== claim.scope.date) {
    throw new AuthError(claim.kind === 'header' ? 'AuthorizationHeaderMalformed' : 'AuthorizationQueryParametersError', 'the credential date differs from X-Amz-Date');
  }
  if (!claim.signedHeaders.includes('host')) throw new AuthError('AccessDenied', 'the host header must be signed');
  if (claim.kind === 'header') {
    if (Math.abs(o.nowMs - signedAt) > o.maxSkewMs) {
      throw new AuthError('RequestTimeTooSkewed', 'the difference between the request time and the server time is too large');
    }
  } else {
    if (signedAt - o.nowMs > o.maxSkewMs) throw new AuthError('AccessDenied', 'the presigned URL is not valid yet');
    if (o.nowMs > signedAt + claim.expiresSeconds! * 1000) throw new AuthError('AccessDenied', 'request has expired');
  }
  for (const name of claim.signedHeaders) {
    if (!req.headers.has(name)) throw new AuthError('SignatureDoesNotMatch', `signed header ${name} is missing`);
  }
  const payload = claim.kind === 'header' ? o.payloadHash : UNSIGNED_PAYLOAD;
  const canonical = canonicalRequest(req, claim.signedHeaders, payload, claim.kind === 'query' ? 'X-Amz-Signature' : undefined);
  const key = signingKey(o.secret, claim.scope);
  const expected = signature(key, stringToSign(claim.amzDate, scopeString(claim.scope), canonical));
  if (!/^[0-9a-f]{64}$/.test(claim.signature) || !timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(claim.signature, 'hex'))) {
    throw new AuthError('SignatureDoesNotMatch', 'the request signature we calculated does not match the signature you provided');
  }
  return { claim, signingKey: key };
}
