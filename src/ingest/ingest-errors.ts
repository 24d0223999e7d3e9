import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemCode as kebab, sendProblem } from '../http/problem.js';
import { AuthError } from '../sigv4/verifier.js';
import { BadChunkError, MissingChunksError, StoreError } from '../store/errors.js';
import { UnitError } from '../units/errors.js';
import { WireError } from '../wire/frames.js';
import { INGEST_PROTOCOL_VERSION } from '../wire/messages.js';
import { NoSuchSessionError, TooManySessionsError } from './sessions.js';

/** A refusal of the ingest face itself, with its status and problem code. */
export class IngestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const STORE_STATUS: Record<string, number> = {
  BadChunk: 400,
  MissingChunks: 409,
  ChunkLengthMismatch: 400,
  CompositionMismatch: 409,
  InvalidKey: 400,
  PreconditionFailed: 412,
  StoreClosed: 503,
};

const UNIT_STATUS: Record<string, number> = { NoSuchUnit: 404, QuotaExceeded: 403 };

/** Every failure of the ingest face as a problem document with a clear code; never a stack trace. */
export function sendIngestError(req: FastifyRequest, reply: FastifyReply, err: Error & { statusCode?: number; code?: string }): FastifyReply {
  const [status, code, extensions] = classify(err);
  if (status >= 500 && status !== 503) {
    req.log.error({ err }, 'ingest request failed');
    return sendProblem(reply, 500, 'internal', 'internal error');
  }
  req.log.info({ code, message: err.message }, 'ingest request refused');
  if (code === 'too-many-sessions') reply.header('retry-after', '30');
  // A body left unread cannot be skipped safely on a kept-alive connection.
  if (!req.raw.complete) reply.header('connection', 'close');
  return sendProblem(reply, status, code, err.message, extensions);
}

function classify(err: Error & { statusCode?: number; code?: string }): [number, string, Record<string, unknown>] {
  if (err instanceof IngestError) return [err.status, err.code, err.extensions];
  if (err instanceof AuthError) return [403, 'access-denied', {}];
  if (err instanceof WireError) {
    if (err.code === 'TooLarge') return [413, 'too-large', {}];
    if (err.code === 'UnsupportedVersion') return [400, 'unsupported-version', { supported: [INGEST_PROTOCOL_VERSION] }];
    return [400, kebab(err.code), {}];
  }
  if (err instanceof MissingChunksError) return [409, 'missing-chunks', { missing: err.missing, missingTotal: err.total }];
  if (err instanceof BadChunkError) return [400, 'bad-chunk', { index: err.index }];
  if (err instanceof StoreError) return [STORE_STATUS[err.code] ?? 500, kebab(err.code), {}];
  if (err instanceof UnitError) return [UNIT_STATUS[err.code] ?? 400, kebab(err.code), {}];
  if (err instanceof NoSuchSessionError) return [404, 'no-such-session', {}];
  if (err instanceof TooManySessionsError) return [err.perKey ? 429 : 503, 'too-many-sessions', {}];
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return [413, 'too-large', {}];
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return [415, 'unsupported-media-type', {}];
  if (err.statusCode && err.statusCode < 500) return [err.statusCode, kebab(err.code ?? 'invalid-request'), {}];
  return [500, 'internal', {}];
}
