import { validateHeaderValue } from 'node:http';
import { PARTS_METADATA, partRange } from '../../store/multipart.js';
import type { ObjectInfo } from '../../store/object-info.js';
import { mayAccess } from '../../units/credentials.js';
import { checksumHeader } from '../checksums.js';
import { checkConditions } from '../conditions.js';
import {
  checksumMetadata,
  metadataFromRequest,
  objectHeaders,
  storedChecksum,
  TAGGING,
  normalizeTagging,
} from '../object-metadata.js';
import { requestPayload } from '../payload.js';
import { parseRange } from '../range.js';
import type { Operation, S3Call } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { checkKey } from '../s3-target.js';
import { document, isoTime } from '../xml.js';
import { sendXml } from './responses.js';

/** The largest object size S3 allows (a single PUT there stops at 5 GiB; a backup target need not). */
const MAX_PUT = 5 * 1024 ** 4;

export const putObject: Operation = {
  name: 'PutObject',
  action: 'write',
  async run(call) {
    const key = call.key!;
    checkKey(key);
    const unit = call.options.units.unit(call.bucket!);
    const meta = metadataFromRequest(call.req);
    const ifNoneMatch = call.req.headers['if-none-match'];
    if (ifNoneMatch !== undefined && ifNoneMatch !== '*') throw s3Error('NotImplemented', 'If-None-Match on PUT takes only *');
    const ifMatch = call.req.headers['if-match'];
    if (typeof ifMatch === 'string') {
      const existing = await unit.store.head(key).catch(() => null);
      if (!existing) throw s3Error('NoSuchKey');
      checkConditions(call.req, { etag: existing.etag, modified: existing.modified });
    }
    const body = requestPayload(call);
    let checksum: ReturnType<typeof body.finish>;
    const info = await unit.put(key, body.source, {
      contentType: meta.contentType,
      userMetadata: meta.userMetadata,
      systemMetadata: meta.systemMetadata,
      onlyIfAbsent: ifNoneMatch === '*',
      sizeLimit: MAX_PUT,
      sha256: body.needsSha256,
      beforeCommit: (written) => {
        checksum = body.finish(written);
        return checksum ? { systemMetadata: checksumMetadata(checksum.algorithm, checksum.value, 'FULL_OBJECT') } : undefined;
      },
    });
    call.reply.header('etag', `"${info.etag}"`);
    if (checksum) call.reply.header(checksumHeader(checksum.algorithm), checksum.value).header('x-amz-checksum-type', 'FULL_OBJECT');
    call.reply.code(200).send();
  },
};

/** What a GET or HEAD returns: the whole object, a range, or a part. */
async function objectAnswer(call: S3Call, head: boolean): Promise<void> {
  const unit = call.options.units.unit(call.bucket!);
  const key = call.key!;
  const info = await unit.store.head(key);
  const headers = objectHeaders(info, { checksums: false });
  if (checkConditions(call.req, { etag: info.etag, modified: info.modified }) === 'not-modified') {
    call.reply.code(304).header('etag', headers.etag!).header('last-modified', headers['last-modified']!).send();
    return;
  }
  const rangeHeader = typeof call.req.headers.range === 'string' ? call.req.headers.range : undefined;
  const partNumber = call.query.get('partNumber');
  let range: { start: number; end: number } | null = null;
  if (partNumber !== null) {
    if (rangeHeader !== undefined) throw s3Error('InvalidRequest', 'a Range and a partNumber cannot go together');
    const n = Number(partNumber);
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw s3Error('InvalidArgument', 'partNumber must be 1 to 10000');
    const runs = info.systemMetadata[PARTS_METADATA];
    if (runs) {
      const part = partRange(JSON.parse(runs) as [number, number][], n);
      if (!part) throw s3Error('InvalidPart', `the object has no part ${n}`);
      range = { start: part.start, end: part.end };
      call.reply.header('x-amz-mp-parts-count', String(part.count));
    } else if (n !== 1) {
      throw s3Error('InvalidPart', `the object has no part ${n}`);
    }
  } else {
    range = parseRange(rangeHeader, info.size);
  }
  const wantChecksums = call.req.headers['x-amz-checksum-mode'] === 'ENABLED' || call.query.get('x-amz-checksum-mode') === 'ENABLED';
  // A whole-object checksum on a partial answer would fail the client's own check of it.
  Object.assign(headers, objectHeaders(info, { checksums: wantChecksums && (range === null || (range.start === 0 && range.end === info.size)) }));
  for (const [param, header] of OVERRIDES) {
    const v = call.query.get(param);
    if (v === null) continue;
    // Checked now: a value Node refuses would otherwise throw after the body has begun, cutting the connection.
    try {
      validateHeaderValue(header, v);
    } catch {
      throw s3Error('InvalidArgument', `${param} holds characters a header cannot carry`);
    }
    headers[header] = v;
  }
  call.reply.headers(headers);
  const status = range && partNumber === null ? 206 : range ? 206 : 200;
  const start = range?.start ?? 0;
  const end = range?.end ?? info.size;
  if (range) call.reply.header('content-range', `bytes ${start}-${end - 1}/${info.size}`);
  call.reply.header('content-length', String(end - start));
  if (head || end === start) {
    call.reply.code(status).send();
    return;
  }
  const opened = await unit.open(key, { start, end });
  await sendBody(call, status, opened.pump);
}

/**
 * Writes the body straight to the socket from the read path's pooled buffers:
 * each piece goes back to the pool once the kernel has taken it. A failure
 * after the headers (stored bytes that fail their checks) cuts the
 * connection: the client sees a short body, never wrong bytes.
 */
async function sendBody(call: S3Call, status: number, pump: (sink: (view: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
  const { reply } = call;
  const res = reply.raw;
  reply.hijack();
  res.writeHead(status, reply.getHeaders() as Record<string, string>);
  try {
    await pump(
      (view) =>
        new Promise<void>((resolve, reject) => {
          if (res.destroyed) return reject(new Error('the client went away'));
          res.write(view, (err) => (err ? reject(err) : resolve()));
        }),
    );
    res.end();
  } catch (err) {
    call.req.log.warn({ err }, 'a GET failed after its headers were sent');
    res.destroy(err as Error);
  }
}

const OVERRIDES: [string, string][] = [
  ['response-content-type', 'content-type'],
  ['response-content-language', 'content-language'],
  ['response-expires', 'expires'],
  ['response-cache-control', 'cache-control'],
  ['response-content-disposition', 'content-disposition'],
  ['response-content-encoding', 'content-encoding'],
];

export const getObject: Operation = {
  name: 'GetObject',
  action: 'read',
  run: (call) => objectAnswer(call, false),
};

export const headObject: Operation = {
  name: 'HeadObject',
  action: 'read',
  run: (call) => objectAnswer(call, true),
};

export const deleteObject: Operation = {
  name: 'DeleteObject',
  action: 'write',
  async run(call) {
    // S3 answers 204 whether or not the key existed.
    await call.options.units.unit(call.bucket!).delete(call.key!);
    call.reply.code(204).send();
  },
};

/** Reads x-amz-copy-source: "bucket/key" or "/bucket/key", URL-encoded, maybe with ?versionId. */
export function copySource(call: S3Call): { bucket: string; key: string } {
  const raw = call.req.headers['x-amz-copy-source'];
  if (typeof raw !== 'string' || raw === '') throw s3Error('InvalidArgument', 'x-amz-copy-source is missing');
  const [path, query] = raw.split('?', 2) as [string, string | undefined];
  // A unit keeps one version of each key, S3's "null" version: any other is not there to copy.
  const version = query === undefined ? null : new URLSearchParams(query).get('versionId');
  if (version !== null && version !== 'null') throw s3Error('NotImplemented', 'copying a version other than "null" is not implemented');
  let text: string;
  try {
    text = decodeURIComponent(path.replace(/^\//, ''));
  } catch {
    throw s3Error('InvalidArgument', 'x-amz-copy-source is not valid percent-encoding');
  }
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) throw s3Error('InvalidArgument', 'x-amz-copy-source must be bucket/key');
  const source = { bucket: text.slice(0, slash), key: text.slice(slash + 1) };
  if (!call.options.units.has(source.bucket) || !mayAccess(call.who.key, source.bucket, 'read')) {
    throw call.who.key.kind === 'admin' && !call.options.units.has(source.bucket) ? s3Error('NoSuchBucket') : s3Error('AccessDenied');
  }
  return source;
}

export async function sourceObject(call: S3Call, source: { bucket: string; key: string }): Promise<ObjectInfo> {
  const info = await call.options.units.unit(source.bucket).store.head(source.key);
  checkConditions(call.req, { etag: info.etag, modified: info.modified }, 'x-amz-copy-source-');
  return info;
}

export const copyObject: Operation = {
  name: 'CopyObject',
  action: 'write',
  async run(call) {
    const key = call.key!;
    checkKey(key);
    const source = copySource(call);
    const src = await sourceObject(call, source);
    const directive = (call.req.headers['x-amz-metadata-directive'] ?? 'COPY').toString().toUpperCase();
    if (directive !== 'COPY' && directive !== 'REPLACE') throw s3Error('InvalidArgument', 'x-amz-metadata-directive is COPY or REPLACE');
    const tagging = (call.req.headers['x-amz-tagging-directive'] ?? 'COPY').toString().toUpperCase();
    if (source.bucket === call.bucket && source.key === key && directive === 'COPY') {
      throw s3Error(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    }
    let replace: { contentType?: string; userMetadata: Record<string, string>; systemMetadata: Record<string, string> } | undefined;
    if (directive === 'REPLACE' || tagging === 'REPLACE') {
      const fresh = directive === 'REPLACE' ? metadataFromRequest(call.req) : { contentType: src.contentType, userMetadata: src.userMetadata, systemMetadata: { ...src.systemMetadata } };
      // The data's own facts (its checksum, its parts) travel with it whatever the directive.
      const kept = Object.fromEntries(Object.entries(src.systemMetadata).filter(([k]) => k.startsWith('checksum-') || k === PARTS_METADATA));
      const systemMetadata = { ...fresh.systemMetadata, ...kept };
      if (tagging === 'REPLACE') {
        const t = call.req.headers['x-amz-tagging'];
        if (typeof t === 'string' && t !== '') systemMetadata[TAGGING] = normalizeTagging(t);
        else delete systemMetadata[TAGGING];
      } else if (src.systemMetadata[TAGGING]) {
        systemMetadata[TAGGING] = src.systemMetadata[TAGGING]!;
      }
      replace = { ...(fresh.contentType !== undefined && { contentType: fresh.contentType }), userMetadata: fresh.userMetadata, systemMetadata };
    }
    const target = call.options.units.unit(call.bucket!);
    let info: ObjectInfo;
    if (source.bucket === call.bucket) {
      info = await target.copy(source.key, key, replace ? { replaceMetadata: replace } : {});
    } else {
      // Another unit is another dedup domain: the bytes travel (and dedup against the target's own).
      const got = await call.options.units.unit(source.bucket).get(source.key);
      const m = replace ?? { contentType: src.contentType, userMetadata: src.userMetadata, systemMetadata: src.systemMetadata };
      info = await target.put(key, got.body, { contentType: m.contentType, userMetadata: m.userMetadata, systemMetadata: m.systemMetadata });
    }
    const c = storedChecksum(info);
    sendXml(
      call,
      200,
      document('CopyObjectResult', [
        ['LastModified', isoTime(info.modified)],
        ['ETag', `"${info.etag}"`],
        c !== undefined && [`Checksum${c.algorithm}`, c.value],
      ]),
    );
  },
};
