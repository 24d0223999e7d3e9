import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mayAccess } from '../units/credentials.js';
import { NoSuchUnitError } from '../units/errors.js';
import { route } from './router.js';
import { authenticateS3 } from './s3-auth.js';
import type { S3Call, S3Options } from './s3-context.js';
import { errorDocument, logRefusal, requestPath, s3Error, toS3Error, type S3Error } from './s3-errors.js';
import { parseTarget } from './s3-target.js';

/**
 * The S3 face: every path that is not the server's own. Requests are routed
 * by method, bucket, key and sub-resource; authenticated (SigV4 header or
 * presigned URL, every payload mode); held to the key's grants; and answered
 * with S3's XML and error codes. Bodies are never parsed by the framework:
 * each operation streams its own.
 */
export async function s3Api(app: FastifyInstance, options: S3Options): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));

  // Returns the reply: an async handler that has sent a stream must, or fastify ends the answer when it resolves.
  const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const rawUrl = req.raw.url ?? '/';
    const q = rawUrl.indexOf('?');
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    try {
      const { bucket, key } = parseTarget(q < 0 ? rawUrl : rawUrl.slice(0, q), req.headers.host, options.domain);
      const op = route(req.method, bucket, key, query, req.headers);
      req.operation = op.name;
      const { who, payload } = authenticateS3(req, options);
      const call: S3Call = { req, reply, options, bucket, key, query, who, payload };
      if (bucket && op.action !== 'none') {
        // A key that may not see a bucket learns nothing about it, not even whether it exists.
        if (!mayAccess(who.key, bucket, op.action)) throw s3Error('AccessDenied');
        if (!options.units.has(bucket)) throw new NoSuchUnitError(bucket);
      }
      await op.run(call);
    } catch (err) {
      sendError(req, reply, toS3Error(err), err);
    }
    return reply;
  };

  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/', handler: handle });
  app.route({ method: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'], url: '/*', handler: handle });
  app.setNotFoundHandler((req, reply) => sendError(req, reply, s3Error('MethodNotAllowed', `${req.method} is not an S3 method`), null));
}

function sendError(req: FastifyRequest, reply: FastifyReply, e: S3Error, cause: unknown): void {
  logRefusal(req, e, cause);
  if (reply.sent) {
    // The body was under way (a read failed its checks): cut the connection rather than end the stream cleanly.
    reply.raw.destroy(e);
    return;
  }
  // A body left unread cannot be skipped safely on a kept-alive connection: answer, then close it.
  if (!req.raw.complete) reply.header('connection', 'close');
  if (e.code === 'InvalidRange' && e.extra.ActualObjectSize) reply.header('content-range', `bytes */${e.extra.ActualObjectSize}`);
  reply.removeHeader('content-length');
  if (req.method === 'HEAD' || e.status === 304) {
    reply.code(e.status).send();
    return;
  }
  reply.code(e.status).type('application/xml').send(errorDocument(e, requestPath(req), req.id));
}
