import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate, type Authenticated } from '../http/request-auth.js';
import { isHeaderSafe, KEY_PROBLEMS, keyProblem } from '../http/object-key.js';
import { sendProblem } from '../http/problem.js';
import { sha256Hex, UNSIGNED_PAYLOAD } from '../sigv4/canonical-request.js';
import { AuthError } from '../sigv4/verifier.js';
import { mayAccess, type Action, type Credentials } from '../units/credentials.js';
import type { Unit } from '../units/unit.js';
import type { UnitRegistry } from '../units/unit-registry.js';
import { MAX_CHUNK_SIZE } from '../chunking/parameters.js';
import { BASE_FRAME_BYTES, chunkFrameLimit, decodeChunks, decodeFingerprints, decodeRecipe, encodeMissing, FRAME_MEDIA_TYPE, storedLengthBound } from '../wire/frames.js';
import {
  INGEST_PROTOCOL_VERSION,
  type ChunksAccepted,
  type CommitRequest,
  type Committed,
  type IngestLimits,
  type OpenSessionRequest,
  type RecipeAccepted,
  type SessionOpened,
  type UnitDescription,
} from '../wire/messages.js';
import { IngestError, sendIngestError } from './ingest-errors.js';
import { IngestSessions, NoSuchSessionError, type IngestSession } from './sessions.js';

export interface IngestApiOptions {
  units: UnitRegistry;
  credentials: Credentials;
  maxSkewMs: number;
  sessionIdleSeconds: number;
  /** Sessions open at once, over every unit. */
  maxSessions?: number;
}

const JSON_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    ingestCaller?: Authenticated;
  }
}

/**
 * The source-side ingest protocol (docs/ingest-protocol.md) under /ingest/v1:
 * a client learns the unit's chunking, asks which chunks the unit lacks, sends
 * only those (compressed), then the object's recipe, then commits. Requests
 * are signed with the unit's S3 access keys; a key learns nothing about units
 * it may not use (they answer exactly as units that do not exist).
 */
export async function ingestApi(app: FastifyInstance, o: IngestApiOptions): Promise<void> {
  const limits: IngestLimits = {
    maxQueryFingerprints: 65536,
    maxFrameChunks: 8192,
    maxFrameBytes: BASE_FRAME_BYTES,
    maxRecipeEntries: 65536,
    sessionIdleSeconds: o.sessionIdleSeconds,
  };
  const sessions = new IngestSessions(o.sessionIdleSeconds * 1000, o.maxSessions ?? 1024, (message, fields) => app.log.info(fields, message));
  app.addHook('onClose', () => sessions.close());

  app.removeAllContentTypeParsers();
  // The largest any unit may accept; each unit's own limit is checked in the handler.
  app.addContentTypeParser(FRAME_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit: chunkFrameLimit(MAX_CHUNK_SIZE) }, (req, body, done) => done(checkBodyHash(req, body as Buffer), body));
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: JSON_LIMIT }, (req, body, done) => {
    const mismatch = checkBodyHash(req, body as Buffer);
    if (mismatch) return done(mismatch, undefined);
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (err) {
      done(new IngestError(400, 'malformed-json', `malformed JSON: ${(err as Error).message}`), undefined);
    }
  });

  // Every request is signed; the payload hash is checked once the body is read (checkBodyHash).
  app.addHook('onRequest', async (req) => {
    const claimed = req.headers['x-amz-content-sha256'];
    if (typeof claimed !== 'string' || !(/^[0-9a-f]{64}$/.test(claimed) || claimed === UNSIGNED_PAYLOAD)) {
      throw new AuthError('MissingSecurityHeader', 'x-amz-content-sha256 must be the hex SHA-256 of the body (or UNSIGNED-PAYLOAD for chunk frames)');
    }
    const who = authenticate(req, o.credentials, { payloadHash: claimed, maxSkewMs: o.maxSkewMs });
    if (!who) throw new AuthError('AccessDenied', 'anonymous requests are not accepted');
    req.ingestCaller = who;
  });
  app.addHook('preHandler', async (req) => {
    // A body-less request must have signed the hash of nothing.
    if (req.body === undefined && req.headers['x-amz-content-sha256'] !== sha256Hex('')) {
      throw new IngestError(400, 'body-hash-mismatch', 'the body does not match x-amz-content-sha256');
    }
  });
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => sendIngestError(req, reply, err));

  const version = `v${INGEST_PROTOCOL_VERSION}`;
  const unknown = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const asked = /^\/ingest\/([^/?]+)/.exec(req.url)?.[1];
    if (asked && asked !== version) {
      return sendProblem(reply, 400, 'unsupported-version', `ingest protocol ${asked} is not supported; this server speaks ${version}`, {
        supported: [INGEST_PROTOCOL_VERSION],
      });
    }
    return sendProblem(reply, 404, 'not-found', `no route ${req.method} ${req.url.split('?')[0]}`);
  };
  app.setNotFoundHandler(unknown);
  app.route({ method: ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'], url: '/*', handler: unknown });

  /** The unit, if the caller may use it this way; otherwise exactly as if it did not exist. */
  const unitFor = (req: FastifyRequest, name: string, action: Action): Unit => {
    const key = req.ingestCaller!.key;
    if (!mayAccess(key, name, 'read') || !o.units.has(name)) throw new IngestError(404, 'no-such-unit', `no storage unit named ${JSON.stringify(name)}`);
    if (!mayAccess(key, name, action)) throw new IngestError(403, 'access-denied', `this key may only read storage unit ${name}`);
    return o.units.unit(name);
  };
  /** Runs fn on the caller's session while the caller may still write to its unit. */
  const withSession = <T>(req: FastifyRequest, fn: (s: IngestSession, unit: Unit) => Promise<T> | T): Promise<T> => {
    const id = (req.params as { id: string }).id;
    return sessions.use(id, req.ingestCaller!.key.accessKeyId, (s) => {
      if (!mayAccess(req.ingestCaller!.key, s.unit, 'write') || !o.units.has(s.unit)) throw new NoSuchSessionError(id);
      return fn(s, o.units.unit(s.unit));
    });
  };

  app.get(`/${version}/units/:unit`, async (req): Promise<UnitDescription> => {
    const unit = unitFor(req, (req.params as { unit: string }).unit, 'read');
    const p = unit.store.parameters;
    return {
      protocol: INGEST_PROTOCOL_VERSION,
      unit: unit.name,
      chunking: p.chunking,
      fingerprint: p.fingerprint,
      compression: p.compression,
      limits: { ...limits, maxFrameBytes: chunkFrameLimit(p.chunking.maxSize) },
    };
  });

  app.post(`/${version}/units/:unit/sessions`, async (req, reply) => {
    const unit = unitFor(req, (req.params as { unit: string }).unit, 'write');
    const body = openSessionRequest(req.body);
    const session = sessions.open(unit.name, req.ingestCaller!.key.accessKeyId, () =>
      unit.store.compose(body.key, {
        ...(body.contentType !== undefined && { contentType: body.contentType }),
        ...(body.userMetadata && { userMetadata: body.userMetadata }),
      }),
    );
    const opened: SessionOpened = { session: session.id, unit: unit.name, key: body.key };
    return reply.code(201).send(opened);
  });

  app.post(`/${version}/sessions/:id/query`, async (req, reply) =>
    withSession(req, (_s, unit) => {
      const fps = decodeFingerprints(frameBody(req), limits.maxQueryFingerprints);
      const missing = unit.store.missingChunks(fps);
      return reply.type(FRAME_MEDIA_TYPE).send(encodeMissing((i) => missing[i]!, missing.length));
    }),
  );

  app.post(`/${version}/sessions/:id/chunks`, async (req) =>
    withSession(req, async (_s, unit): Promise<ChunksAccepted> => {
      const frame = frameBody(req);
      const maxRaw = unit.store.parameters.chunking.maxSize;
      if (frame.length > chunkFrameLimit(maxRaw)) {
        throw new IngestError(413, 'too-large', `a chunks frame for this unit may be at most ${chunkFrameLimit(maxRaw)} bytes; this one is ${frame.length}`);
      }
      const offered = decodeChunks(frame, { maxCount: limits.maxFrameChunks, maxRawLength: maxRaw, maxStoredLength: storedLengthBound(maxRaw) });
      const r = await unit.admitChunks(frame, offered);
      return { received: r.received, stored: r.stored, duplicates: r.duplicates, storedBytes: r.storedBytes };
    }),
  );

  app.post(`/${version}/sessions/:id/recipe`, async (req) =>
    withSession(req, (s, unit): RecipeAccepted => {
      const recipe = decodeRecipe(frameBody(req), limits.maxRecipeEntries, unit.store.parameters.chunking.maxSize);
      if (recipe.sequence !== s.composed.entries) {
        throw new IngestError(409, 'out-of-sequence', `this frame starts at entry ${recipe.sequence}; the session expects entry ${s.composed.entries}`, {
          expectedSequence: s.composed.entries,
        });
      }
      s.composed.append(recipe.entries);
      return { entries: s.composed.entries, bytes: s.composed.size };
    }),
  );

  app.post(`/${version}/sessions/:id/commit`, async (req) =>
    withSession(req, async (s, unit): Promise<Committed> => {
      const body = commitRequest(req.body);
      if (body.size !== s.composed.size || body.chunks !== s.composed.entries) {
        throw new IngestError(409, 'composition-mismatch', `the session received ${s.composed.entries} entries, ${s.composed.size} bytes; the commit claims ${body.chunks} entries, ${body.size} bytes`, {
          expectedSequence: s.composed.entries,
        });
      }
      s.committing = true;
      try {
        const info = await unit.commitComposed(s.composed, { expectedSize: body.size, expectedChunks: body.chunks });
        return { key: info.key, size: info.size, etag: `"${info.etag}"`, chunks: body.chunks, lastModified: info.modified.toISOString() };
      } finally {
        sessions.end(s.id);
      }
    }),
  );

  app.delete(`/${version}/sessions/:id`, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    if (!(await sessions.abort(id, req.ingestCaller!.key.accessKeyId))) throw new NoSuchSessionError(id);
    return reply.code(204).send();
  });
}

/** Null when the body is what x-amz-content-sha256 claims (or the claim is UNSIGNED-PAYLOAD, allowed for chunk frames only). */
function checkBodyHash(req: FastifyRequest, body: Buffer): Error | null {
  const claimed = req.headers['x-amz-content-sha256'];
  if (claimed === UNSIGNED_PAYLOAD) {
    return /\/chunks$/.test(req.url.split('?')[0]!) ? null : new IngestError(400, 'unsigned-payload', 'only chunk frames may be sent with UNSIGNED-PAYLOAD: chunks verify themselves');
  }
  return sha256Hex(body) === claimed ? null : new IngestError(400, 'body-hash-mismatch', 'the body does not match x-amz-content-sha256');
}

function frameBody(req: FastifyRequest): Buffer {
  if (!Buffer.isBuffer(req.body)) throw new IngestError(415, 'unsupported-media-type', `send the frame as ${FRAME_MEDIA_TYPE}`);
  return req.body;
}

function openSessionRequest(body: unknown): OpenSessionRequest {
  const b = body as Partial<OpenSessionRequest> | undefined;
  if (!b || typeof b !== 'object' || typeof b.key !== 'string' || b.key === '') throw new IngestError(400, 'invalid-request', 'a session needs {"key": "<object key>"}');
  const problem = keyProblem(b.key);
  if (problem) throw new IngestError(400, 'invalid-key', KEY_PROBLEMS[problem]);
  if (b.contentType !== undefined && (typeof b.contentType !== 'string' || b.contentType.length > 1024 || !isHeaderSafe(b.contentType))) {
    // It comes back as the Content-Type header of every GET.
    throw new IngestError(400, 'invalid-request', 'contentType must be printable ASCII, at most 1024 characters');
  }
  if (b.userMetadata !== undefined) {
    if (typeof b.userMetadata !== 'object' || b.userMetadata === null || Object.values(b.userMetadata).some((v) => typeof v !== 'string')) {
      throw new IngestError(400, 'invalid-request', 'userMetadata must map names to strings');
    }
    for (const [name, value] of Object.entries(b.userMetadata)) {
      // They come back as x-amz-meta-* headers: each must be one.
      if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) || /[^\t\x20-\x7e]/.test(value as string)) {
        throw new IngestError(400, 'invalid-request', `userMetadata ${JSON.stringify(name)}: names are lower-case header tokens, values printable ASCII`);
      }
    }
    if (JSON.stringify(b.userMetadata).length > 2048) throw new IngestError(400, 'invalid-request', 'userMetadata is limited to 2 KB, as in S3');
  }
  return b as OpenSessionRequest;
}

function commitRequest(body: unknown): CommitRequest {
  const b = body as Partial<CommitRequest> | undefined;
  if (!b || !Number.isSafeInteger(b.size) || !Number.isSafeInteger(b.chunks) || b.size! < 0 || b.chunks! < 0) {
    throw new IngestError(400, 'invalid-request', 'a commit needs {"size": <bytes>, "chunks": <entries>}');
  }
  return b as CommitRequest;
}
