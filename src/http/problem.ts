import type { FastifyReply } from 'fastify';

/** An RFC 9457 problem document: what the admin and ingest APIs answer for every failure. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The problem type's own members (RFC 9457 extensions), e.g. which chunks are missing. */
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  410: 'Gone',
  413: 'Payload too large',
  415: 'Unsupported media type',
  500: 'Internal error',
  503: 'Service unavailable',
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): FastifyReply {
  const problem: Problem = { ...extensions, type: `urn:cairn:problem:${code}`, title: TITLES[status] ?? 'Error', status, detail };
  return reply.code(status).type('application/problem+json').send(problem);
}

/** A problem code from an error code: "QuotaExceeded" and "FST_ERR_BODY_TOO_LARGE" become "quota-exceeded", "body-too-large". */
export function problemCode(code: string): string {
  return code
    .replace(/^FST_ERR_/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/_/g, '-')
    .toLowerCase();
}
