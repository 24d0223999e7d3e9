import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticated } from '../http/request-auth.js';
import type { Credentials } from '../units/credentials.js';
import type { UnitRegistry } from '../units/unit-registry.js';
import type { PayloadMode } from './s3-auth.js';

/** What the S3 face is built from. */
export interface S3Options {
  units: UnitRegistry;
  credentials: Credentials;
  /** Reported by GetBucketLocation and HeadBucket. */
  region: string;
  maxSkewMs: number;
  /** With a domain, <bucket>.<domain> hosts address buckets (virtual-hosted style); path style always works. */
  domain: string | undefined;
  /** How long a multipart completion works before its 200 goes out and spaces keep the connection alive. */
  completePatienceMs: number;
}

/** One S3 request, parsed and authenticated, as operations see it. */
export interface S3Call {
  req: FastifyRequest;
  reply: FastifyReply;
  options: S3Options;
  bucket: string | null;
  key: string | null;
  query: URLSearchParams;
  who: Authenticated;
  payload: PayloadMode;
}

export type Action = 'read' | 'write' | 'none';

export interface Operation {
  name: string;
  /** What the key must be granted on the bucket; 'none' for operations that check themselves. */
  action: Action;
  run(call: S3Call): Promise<void>;
}
