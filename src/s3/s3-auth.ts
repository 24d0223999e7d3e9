import type { FastifyRequest } from 'fastify';
import { authenticate, signableRequest, type Authenticated } from '../http/request-auth.js';
import { EMPTY_SHA256, UNSIGNED_PAYLOAD } from '../sigv4/canonical-request.js';
import { AuthError } from '../sigv4/verifier.js';
import { STREAMING_MODES, type ChunkedMode } from './aws-chunked.js';
import type { S3Options } from './s3-context.js';
import { s3Error } from './s3-errors.js';

/** What the client said about its body in x-amz-content-sha256 (or implies by a presigned URL). */
export type PayloadMode =
  | { kind: 'sha256'; hex: string }
  | { kind: 'unsigned' }
  | { kind: 'chunked'; chunked: ChunkedMode; header: string };

export function payloadMode(req: FastifyRequest, presigned: boolean): PayloadMode {
  const v = req.headers['x-amz-content-sha256'];
  if (presigned || v === undefined) return { kind: 'unsigned' };
  if (typeof v !== 'string') throw s3Error('InvalidArgument', 'x-amz-content-sha256 given twice');
  if (v === UNSIGNED_PAYLOAD) return { kind: 'unsigned' };
  const chunked = STREAMING_MODES[v];
  if (chunked) return { kind: 'chunked', chunked, header: v };
  if (/^[0-9a-fA-F]{64}$/.test(v)) return { kind: 'sha256', hex: v.toLowerCase() };
  throw s3Error('InvalidArgument', 'x-amz-content-sha256 must be a SHA-256, UNSIGNED-PAYLOAD or a STREAMING- mode');
}

/**
 * Authenticates an S3 request: signed header or presigned URL; anonymous
 * requests are refused. A header-signed request must say what its payload is.
 */
export function authenticateS3(req: FastifyRequest, o: S3Options): { who: Authenticated; payload: PayloadMode } {
  const presigned = req.headers.authorization === undefined;
  if (!presigned && req.headers['x-amz-content-sha256'] === undefined) {
    throw s3Error('MissingSecurityHeader', 'a signed request needs x-amz-content-sha256');
  }
  const payload = payloadMode(req, presigned);
  const claimedHash = presigned ? UNSIGNED_PAYLOAD : String(req.headers['x-amz-content-sha256']);
  let who: Authenticated | null;
  try {
    who = authenticate(req, o.credentials, { payloadHash: claimedHash, maxSkewMs: o.maxSkewMs });
  } catch (err) {
    if (!(err instanceof AuthError) || err.code !== 'SignatureDoesNotMatch') throw err;
    // Some clients sign the path exactly as they sent it rather than re-encoded; try that once.
    who = retryWithRawPath(req, o, claimedHash) ?? null;
    if (!who) throw err;
  }
  if (!who) throw s3Error('AccessDenied', 'anonymous requests are not accepted');
  return { who, payload };
}

function retryWithRawPath(req: FastifyRequest, o: S3Options, payloadHash: string): Authenticated | undefined {
  const signable = signableRequest(req);
  if (!/%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~/]/.test(signable.path)) return undefined;
  try {
    return authenticate(req, o.credentials, { payloadHash, maxSkewMs: o.maxSkewMs, rawPath: true }) ?? undefined;
  } catch {
    return undefined;
  }
}

export { EMPTY_SHA256 };
