import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { adminApi } from './admin/admin-api.js';
import type { ServerConfig } from './config.js';
import { widenHeapHeadroom } from './http/heap-headroom.js';
import { Metrics } from './http/metrics.js';
import { ingestApi } from './ingest/ingest-api.js';
import { s3Api } from './s3/s3-api.js';
import { authenticate } from './http/request-auth.js';
import { EMPTY_SHA256 } from './sigv4/canonical-request.js';
import { Credentials, type IssuedKey } from './units/credentials.js';
import { Jobs } from './units/jobs.js';
import { loadMasterKey } from './units/master-key.js';
import { SecretBox } from './units/secret-box.js';
import { SystemDb } from './units/system-db.js';
import { GcScheduler } from './units/gc-scheduler.js';
import { StaleUploadReaper } from './units/stale-uploads.js';
import { UnitRegistry } from './units/unit-registry.js';

/**
 * Request ids: 16 hex digits, as S3's, unique within a process and unlikely to
 * repeat across restarts (a random prefix and a counter from a random start).
 * randomBytes for each request took 9 us here, a counter under one.
 */
const REQUEST_ID_PREFIX = randomBytes(3).toString('hex').toUpperCase();
let requestCounter = randomBytes(4).readUInt32BE(0);
function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x100_0000_0000;
  return REQUEST_ID_PREFIX + requestCounter.toString(16).toUpperCase().padStart(10, '0');
}

export interface RunningServer {
  url: string;
  app: FastifyInstance;
  units: UnitRegistry;
  credentials: Credentials;
  /** Starts the collections units' policies schedule (tick() is what its timer calls). */
  gcScheduler: GcScheduler;
  /** Issued at the first start only (also written to <data dir>/admin-credentials). */
  firstAdminKey: IssuedKey | null;
  close(): Promise<void>;
}

export interface StartOptions {
  /** pino options, or false for silence (tests). */
  logger?: boolean | Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The operation name for logs and metrics (S3 faces set their own). */
    operation?: string;
  }
}

/** Opens the data directory and starts the HTTP server: the composition of every layer. */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  widenHeapHeadroom();
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const box = new SecretBox(loadMasterKey(config.dataDir));
  const db = new SystemDb(join(config.dataDir, 'system.db'));
  const credentials = new Credentials(db, box);
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    genReqId: nextRequestId,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    forceCloseConnections: true,
    // What the HTTP parser refuses (a body cut short, a malformed request) still gets an S3-shaped answer.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const id = randomBytes(8).toString('hex').toUpperCase();
      const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${status === 431 ? 'RequestHeaderSectionTooLarge' : 'IncompleteBody'}</Code><Message>the request could not be read: ${err.code ?? 'malformed'}</Message><RequestId>${id}</RequestId></Error>`;
      socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\ncontent-type: application/xml\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-amz-request-id: ${id}\r\nconnection: close\r\n\r\n${body}`);
    },
    // A backup PUT may stream for hours: no limit on a request's total time, only on silence.
    requestTimeout: 0,
    connectionTimeout: config.idleTimeoutSeconds * 1000,
    ...(config.tlsCert && config.tlsKey && { https: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }),
  });
  const units = await UnitRegistry.open(db, config.dataDir, {
    log: (level, message, fields) => app.log[level](fields ?? {}, message),
  });

  let firstAdminKey: IssuedKey | null = null;
  if (!credentials.hasAdminKey()) {
    firstAdminKey = credentials.issue('admin', [], 'created at first start');
  }

  const reaper = new StaleUploadReaper(units, config.multipartMaxAgeSeconds * 1000, (message, fields) => app.log.info(fields, message));
  const metrics = new Metrics(units);
  const jobs = new Jobs();
  const gcScheduler = new GcScheduler(units, jobs, (message, fields) => app.log.info(fields, message), config.gcCheckSeconds * 1000);
  const maxSkewMs = config.maxSkewSeconds * 1000;

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-amz-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const face = faceOf(req);
    const operation = req.operation ?? `${req.method} ${req.routeOptions.url ?? 'unmatched'}`;
    metrics.requests.inc({ face, operation, status: String(reply.statusCode) });
    metrics.latency.observe({ face, operation }, reply.elapsedTime / 1000);
  });

  await app.register(adminApi, { prefix: '/admin/v1', units, credentials, jobs, maxSkewMs });
  await app.register(ingestApi, { prefix: '/ingest', units, credentials, maxSkewMs, sessionIdleSeconds: config.ingestSessionIdleSeconds });
  await app.register(s3Api, { units, credentials, region: config.region, maxSkewMs, domain: config.domain, completePatienceMs: config.completePatienceSeconds * 1000 });

  app.get('/metrics', async (req, reply) => {
    const bearer = req.headers.authorization?.match(/^Bearer (.+)$/)?.[1];
    let allowed = config.metricsToken !== undefined && bearer === config.metricsToken;
    if (!allowed && !bearer) {
      try {
        allowed = authenticate(req, credentials, { payloadHash: String(req.headers['x-amz-content-sha256'] ?? EMPTY_SHA256), maxSkewMs })?.key.kind === 'admin';
      } catch {
        allowed = false;
      }
    }
    if (!allowed) return reply.code(403).type('text/plain').send('access denied\n');
    return reply.type(metrics.registry.contentType).send(await metrics.scrape());
  });

  const address = await app.listen({ host: config.host, port: config.port });
  const url = address.replace('[::1]', '127.0.0.1');
  app.log.info({ url, tls: Boolean(config.tlsCert) }, 'listening');
  if (firstAdminKey) {
    writeFileSync(
      join(config.dataDir, 'admin-credentials'),
      `# Cairn admin key, created ${new Date(firstAdminKey.createdMs).toISOString()}. Shown once; keep it secret.\n` +
        `CAIRN_ENDPOINT=${url}\nCAIRN_ACCESS_KEY_ID=${firstAdminKey.accessKeyId}\nCAIRN_SECRET_ACCESS_KEY=${firstAdminKey.secretAccessKey}\n`,
      { mode: 0o600, flag: 'w' },
    );
  }

  let closed = false;
  return {
    url,
    app,
    units,
    credentials,
    gcScheduler,
    firstAdminKey,
    async close() {
      if (closed) return;
      closed = true;
      reaper.close();
      gcScheduler.close();
      await app.close();
      await units.close();
      db.close();
    },
  };
}

function faceOf(req: FastifyRequest): string {
  const path = req.url;
  if (path.startsWith('/admin/')) return 'admin';
  if (path.startsWith('/ingest/')) return 'ingest';
  if (path === '/metrics') return 'metrics';
  return 's3';
}
