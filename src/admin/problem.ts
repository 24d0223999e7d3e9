import type { FastifyReply } from 'fastify';

/** An RFC 9457 problem document: what the admin API answers for every failure. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  500: 'Internal error',
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string): FastifyReply {
  const problem: Problem = { type: `urn:cairn:problem:${code}`, title: TITLES[status] ?? 'Error', status, detail };
  return reply.code(status).type('application/problem+json').send(problem);
}
