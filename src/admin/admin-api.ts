import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../http/request-auth.js';
import { EMPTY_SHA256, sha256Hex } from '../sigv4/canonical-request.js';
import { AuthError } from '../sigv4/verifier.js';
import type { Credentials, Grant } from '../units/credentials.js';
import { InvalidParametersError, NoSuchAccessKeyError, NoSuchUnitError, UnitError } from '../units/errors.js';
import type { JobKind, JobKinds, Jobs } from '../units/jobs.js';
import type { Quota } from '../units/quota.js';
import type { CollectionPolicy } from '../store/gc-state.js';
import type { Unit } from '../units/unit.js';
import type { CreateUnitOptions, UnitRegistry } from '../units/unit-registry.js';
import { problemCode as kebab, sendProblem } from '../http/problem.js';
import {
  createKeyBody,
  createUnitBody,
  gcPolicyBody,
  gcRunBody,
  issuedKeySchema,
  jobSchema,
  keySchema,
  nameParams,
  problemSchema,
  setQuotaBody,
  systemStatsSchema,
  unitSchema,
} from './schemas.js';

export interface AdminApiOptions {
  units: UnitRegistry;
  credentials: Credentials;
  jobs: Jobs;
  maxSkewMs: number;
}

const BODY_LIMIT = 64 * 1024;

const STATUS_OF: Record<string, number> = {
  NoSuchUnit: 404,
  NoSuchAccessKey: 404,
  UnitExists: 409,
  UnitNotEmpty: 409,
  InvalidUnitName: 400,
  InvalidParameters: 400,
  QuotaExceeded: 403,
};

const errors = { 400: problemSchema, 403: problemSchema, 404: problemSchema, 409: problemSchema };

/**
 * The storage-unit admin API, JSON over HTTP under /admin/v1. Every request
 * must be signed (AWS Signature V4) with an admin key, body included; anyone
 * else gets the same 403 and learns nothing.
 */
export async function adminApi(app: FastifyInstance, o: AdminApiOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Cairn storage-unit admin API',
        version: '1',
        description: 'Requests are signed with AWS Signature V4 using an admin access key (service name: any, e.g. "s3").',
      },
      components: {
        securitySchemes: { sigv4: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'AWS4-HMAC-SHA256 with an admin key' } },
      },
      security: [{ sigv4: [] }],
    },
  });

  app.decorateRequest('adminKey', null);

  app.addHook('onRequest', async (req, reply) => {
    const claimed = req.headers['x-amz-content-sha256'];
    try {
      if (typeof claimed !== 'string' || !/^[0-9a-f]{64}$/.test(claimed)) throw new AuthError('MissingSecurityHeader', 'x-amz-content-sha256 must be the hex SHA-256 of the body');
      const who = authenticate(req, o.credentials, { payloadHash: claimed, maxSkewMs: o.maxSkewMs });
      if (!who || who.key.kind !== 'admin') throw new AuthError('AccessDenied', who ? 'not an admin key' : 'anonymous');
    } catch (err) {
      req.log.info({ reason: (err as Error).message }, 'admin request refused');
      return sendProblem(reply, 403, 'access-denied', 'access denied');
    }
  });

  // The body is read raw, held to its signed hash, then parsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    if (sha256Hex(body as Buffer) !== req.headers['x-amz-content-sha256']) {
      done(Object.assign(new Error('the body does not match x-amz-content-sha256'), { statusCode: 400, code: 'body-hash-mismatch' }));
      return;
    }
    if ((body as Buffer).length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse((body as Buffer).toString('utf8')));
    } catch (err) {
      done(Object.assign(new Error(`malformed JSON: ${(err as Error).message}`), { statusCode: 400, code: 'malformed-json' }));
    }
  });
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && !req.headers['content-type'] && req.headers['x-amz-content-sha256'] !== EMPTY_SHA256) {
      throw Object.assign(new Error('the body does not match x-amz-content-sha256'), { statusCode: 400, code: 'body-hash-mismatch' });
    }
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; validation?: unknown }, req, reply) => {
    if (err instanceof UnitError) return sendProblem(reply, STATUS_OF[err.code] ?? 400, kebab(err.code), err.message);
    if (err.validation) return sendProblem(reply, 400, 'invalid-request', err.message);
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err }, 'admin request failed');
      return sendProblem(reply, 500, 'internal', 'internal error');
    }
    return sendProblem(reply, status, kebab(err.code ?? 'invalid-request'), err.message);
  });
  // Everything else under the prefix is the admin API's, not an S3 key: a problem, after the same authentication.
  const notFound = async (req: FastifyRequest, reply: FastifyReply) => sendProblem(reply, 404, 'not-found', `no route ${req.method} ${req.url.split('?')[0]}`);
  app.setNotFoundHandler(notFound);
  app.route({ method: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'], url: '/*', schema: { hide: true }, handler: notFound });

  app.get('/units', { schema: { summary: 'List storage units', response: { 200: { type: 'object', properties: { units: { type: 'array', items: unitSchema } } } } } }, async () => ({
    units: o.units.names().map((n) => o.units.info(n)),
  }));

  app.post(
    '/units',
    { schema: { summary: 'Create a storage unit', body: createUnitBody, response: { 201: unitSchema, ...errors } } },
    async (req, reply) => {
      const b = req.body as { name: string; quota?: Partial<Quota> } & Omit<CreateUnitOptions, 'quota'>;
      const info = await o.units.create(b.name, b);
      return reply.code(201).send(info);
    },
  );

  app.get('/units/:name', { schema: { summary: 'Show a storage unit', params: nameParams, response: { 200: unitSchema, ...errors } } }, async (req) =>
    o.units.info(unitName(req)),
  );

  app.put(
    '/units/:name/quota',
    { schema: { summary: "Set a unit's quota (null lifts a limit)", params: nameParams, body: setQuotaBody, response: { 200: unitSchema, ...errors } } },
    async (req) => o.units.setQuota(unitName(req), req.body as Quota),
  );

  app.put(
    '/units/:name/gc-policy',
    {
      schema: {
        summary: "Set a unit's garbage collection policy: a schedule (off by default) and the compaction threshold",
        params: nameParams,
        body: gcPolicyBody,
        response: { 200: unitSchema, ...errors },
      },
    },
    async (req) => {
      const name = unitName(req);
      o.units.unit(name).setCollectionPolicy(req.body as Partial<CollectionPolicy>);
      return o.units.info(name);
    },
  );

  app.delete(
    '/units/:name',
    {
      schema: {
        summary: 'Delete a storage unit and everything in it',
        description: 'Refused while the unit holds objects, unless force=true.',
        params: nameParams,
        querystring: { type: 'object', additionalProperties: false, properties: { force: { type: 'boolean' } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      await o.units.delete(unitName(req), { force: (req.query as { force?: boolean }).force === true });
      o.credentials.changed();
      return reply.code(204).send();
    },
  );

  app.get('/keys', { schema: { summary: 'List access keys (never their secrets)', response: { 200: { type: 'object', properties: { keys: { type: 'array', items: keySchema } } } } } }, async () => ({
    keys: o.credentials.list(),
  }));

  app.post(
    '/keys',
    { schema: { summary: 'Issue an access key; the secret is shown only in this answer', body: createKeyBody, response: { 201: issuedKeySchema, ...errors } } },
    async (req, reply) => {
      const b = req.body as { admin?: boolean; grants?: Grant[]; description?: string };
      const grants = b.grants ?? [];
      if (b.admin && grants.length > 0) throw new InvalidParametersError('an admin key may do anything: it takes no grants');
      if (!b.admin && grants.length === 0) throw new InvalidParametersError('a unit key needs at least one grant');
      const seen = new Set<string>();
      for (const g of grants) {
        if (!o.units.has(g.unit)) throw new NoSuchUnitError(g.unit);
        if (seen.has(g.unit)) throw new InvalidParametersError(`unit ${g.unit} is granted twice`);
        seen.add(g.unit);
      }
      const key = o.credentials.issue(b.admin ? 'admin' : 'unit', grants, b.description ?? '');
      return reply.code(201).send(key);
    },
  );

  app.delete(
    '/keys/:id',
    {
      schema: {
        summary: 'Revoke an access key, at once',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!o.credentials.get(id)) throw new NoSuchAccessKeyError(id);
      o.credentials.revoke(id);
      return reply.code(204).send();
    },
  );

  app.get('/stats', { schema: { summary: 'Statistics of the system and of every unit', response: { 200: systemStatsSchema } } }, async () => ({
    system: o.units.systemStats(),
    units: o.units.names().map((n) => o.units.info(n)),
  }));

  /** POST /units/:name/<path>: starts a job of this kind on the unit and answers 202 with it, to follow at /jobs/:id. */
  const unitJob = <K extends JobKind>(
    path: string,
    kind: K,
    summary: string,
    run: (unit: Unit, onProgress: (p: JobKinds[K]['progress']) => void, body: Record<string, unknown>) => Promise<JobKinds[K]['result']>,
    options: { exclusive?: boolean; body?: object } = {},
  ): void => {
    const schema = { summary, params: nameParams, ...(options.body && { body: options.body }), response: { 202: jobSchema, ...errors } };
    app.post(`/units/:name/${path}`, { schema }, async (req, reply) => {
      const name = unitName(req);
      const unit = o.units.unit(name);
      if (options.exclusive && o.jobs.running(kind, name)) {
        return sendProblem(reply, 409, `${kind}-running`, `a ${kind} job of ${name} is already running`);
      }
      const body = (req.body ?? {}) as Record<string, unknown>;
      return reply.code(202).send(o.jobs.start(kind, name, (onProgress) => run(unit, onProgress, body)));
    });
  };
  unitJob('verify', 'verify', 'Start verifying a unit; follow the job', (unit, p) => unit.store.verify(p));
  unitJob(
    'reclaim-estimate',
    'reclaim-estimate',
    'Start measuring what a garbage collection would give back (a mark of everything live; changes nothing); follow the job',
    (unit, p) => unit.estimateReclaimable(p),
  );
  unitJob(
    'gc',
    'gc',
    'Start a garbage collection of a unit (mark everything live, delete containers holding nothing live, compact sparse ones); follow the job',
    (unit, p, body) => unit.collectGarbage({ onProgress: p, ...(typeof body.compactBelow === 'number' && { compactBelow: body.compactBelow }) }),
    { exclusive: true, body: gcRunBody },
  );

  app.get('/jobs', { schema: { summary: 'List jobs', response: { 200: { type: 'object', properties: { jobs: { type: 'array', items: jobSchema } } } } } }, async () => ({
    jobs: o.jobs.list(),
  }));

  app.get(
    '/jobs/:id',
    { schema: { summary: 'Follow a job', params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } }, response: { 200: jobSchema, ...errors } } },
    async (req, reply) => {
      const job = o.jobs.get((req.params as { id: string }).id);
      if (!job) return sendProblem(reply, 404, 'no-such-job', 'no such job');
      return job;
    },
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}

function unitName(req: FastifyRequest): string {
  return (req.params as { name: string }).name;
}

