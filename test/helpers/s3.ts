import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Test } from 'tap';
import type { SigningCredentials } from '../../src/sigv4/signer.js';
import { startTestServer, type TestServer } from './server.js';
import { freshSubdir } from './test-dir.js';

export type Transport = 'http' | 'https';

export interface S3TestServer extends TestServer {
  transport: Transport;
  /** The SDK with its default settings (checksums included), path style. */
  client(credentials?: SigningCredentials): S3Client;
  /** The CA to trust for HTTPS (the server's own self-signed certificate). */
  ca: Buffer | undefined;
}

/** A self-signed certificate for 127.0.0.1, made by openssl for this test. */
export function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert, key };
}

export async function startS3Server(t: Test, transport: Transport = 'http', env: Record<string, string> = {}): Promise<S3TestServer> {
  const dir = freshSubdir(t, 's3-server');
  let ca: Buffer | undefined;
  const tls: Record<string, string> = {};
  if (transport === 'https') {
    const { cert, key } = selfSignedCertificate(dir);
    ca = readFileSync(cert);
    tls.CAIRN_TLS_CERT = cert;
    tls.CAIRN_TLS_KEY = key;
  }
  const s = await startTestServer(t, { ...tls, ...env }, join(dir, 'data'));
  const clients: S3Client[] = [];
  t.teardown(() => clients.forEach((c) => c.destroy()));
  const url = transport === 'https' ? s.url.replace(/^http:/, 'https:') : s.url;
  return {
    ...s,
    url,
    transport,
    ca,
    client(credentials = s.admin) {
      const c = new S3Client({
        endpoint: url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
        maxAttempts: 1,
        ...(ca && { requestHandler: new NodeHttpHandler({ httpsAgent: new HttpsAgent({ ca }) }) }),
      });
      clients.push(c);
      return c;
    },
  };
}

export async function bodyOf(body: unknown): Promise<Buffer> {
  return Buffer.from(await (body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
}

/** Matches an SDK error by its HTTP status (for answers without an error code, such as 304 and HEAD errors). */
export function status(code: number): Error {
  return { $metadata: { httpStatusCode: code } } as unknown as Error;
}
