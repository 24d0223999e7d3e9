import { decodeMissing, encodeFingerprints, encodeRecipe, FINGERPRINT_BYTES, FRAME_MEDIA_TYPE } from '../wire/frames.js';
import {
  ingestPaths,
  type ChunksAccepted,
  type Committed,
  type OpenSessionRequest,
  type RecipeAccepted,
  type SessionOpened,
  type UnitDescription,
} from '../wire/messages.js';
import type { MoverConnection } from './connection.js';

/* One function per call of the ingest protocol (docs/ingest-protocol.md). */

function json<T>(body: Buffer): T {
  return JSON.parse(body.toString('utf8')) as T;
}

function jsonBody(value: unknown): { body: Buffer; contentType: string } {
  return { body: Buffer.from(JSON.stringify(value)), contentType: 'application/json' };
}

export async function describeUnit(c: MoverConnection, unit: string, signal?: AbortSignal): Promise<UnitDescription> {
  return json<UnitDescription>((await c.request('GET', ingestPaths.unit(unit), { ...(signal && { signal }) })).body);
}

export async function openSession(c: MoverConnection, unit: string, request: OpenSessionRequest, signal?: AbortSignal): Promise<SessionOpened> {
  return json<SessionOpened>((await c.request('POST', ingestPaths.sessions(unit), { ...jsonBody(request), ...(signal && { signal }) })).body);
}

/** Which of these fingerprints (32 bytes each) the unit lacks. */
export async function queryMissing(c: MoverConnection, session: string, fingerprints: Buffer, signal?: AbortSignal): Promise<boolean[]> {
  const r = await c.request('POST', ingestPaths.query(session), { body: encodeFingerprints(fingerprints), contentType: FRAME_MEDIA_TYPE, ...(signal && { signal }) });
  return decodeMissing(r.body, fingerprints.length / FINGERPRINT_BYTES);
}

export async function sendChunks(c: MoverConnection, session: string, frame: Buffer, signal?: AbortSignal): Promise<ChunksAccepted> {
  const r = await c.request('POST', ingestPaths.chunks(session), { body: frame, contentType: FRAME_MEDIA_TYPE, unsigned: true, ...(signal && { signal }) });
  return json<ChunksAccepted>(r.body);
}

export async function sendRecipe(
  c: MoverConnection,
  session: string,
  sequence: number,
  fingerprints: Buffer,
  rawLengths: ArrayLike<number>,
  signal?: AbortSignal,
): Promise<RecipeAccepted> {
  const r = await c.request('POST', ingestPaths.recipe(session), {
    body: encodeRecipe(sequence, fingerprints, rawLengths),
    contentType: FRAME_MEDIA_TYPE,
    ...(signal && { signal }),
  });
  return json<RecipeAccepted>(r.body);
}

export async function commitSession(c: MoverConnection, session: string, size: number, chunks: number, signal?: AbortSignal): Promise<Committed> {
  return json<Committed>((await c.request('POST', ingestPaths.commit(session), { ...jsonBody({ size, chunks }), ...(signal && { signal }) })).body);
}

/** Ends a session without an object; never throws (the session may be gone already). */
export async function abortSession(c: MoverConnection, session: string): Promise<void> {
  await c.request('DELETE', ingestPaths.session(session)).catch(() => undefined);
}
