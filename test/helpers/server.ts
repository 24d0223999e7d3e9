import type { Test } from 'tap';
import { startServer, type RunningServer } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { sha256Hex } from '../../src/sigv4/canonical-request.js';
import { signRequest, type SigningCredentials } from '../../src/sigv4/signer.js';
import { freshSubdir } from './test-dir.js';

export interface TestServer {
  server: RunningServer;
  url: string;
  dataDir: string;
  admin: SigningCredentials;
}

/** A real server on 127.0.0.1 (a free port), its data in the test's own directory. */
export async function startTestServer(t: Test, env: Record<string, string> = {}, dataDir: string = freshSubdir(t, 'server')): Promise<TestServer> {
  const config = loadConfig([], { CAIRN_DATA_DIR: dataDir, CAIRN_PORT: '0', CAIRN_HOST: '127.0.0.1', ...env });
  const server = await startServer(config, { logger: process.env.CAIRN_TEST_LOG ? { level: 'error' } : false });
  t.teardown(() => server.close());
  // A restarted server has no first key: tests that restart issue one.
  const key = server.firstAdminKey ?? server.credentials.issue('admin', [], 'test restart');
  return { server, url: server.url, dataDir, admin: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** A request signed with SigV4 (or not, when credentials is null); body hash as a client computes it unless overridden. */
export async function signedFetch(
  base: string,
  method: string,
  path: string,
  credentials: SigningCredentials | null,
  options: { body?: string | Buffer; headers?: Record<string, string>; payloadHash?: string } = {},
): Promise<Answer> {
  const url = new URL(path, base);
  const body = options.body ?? '';
  let headers: Record<string, string> = { ...options.headers };
  if (credentials) {
    headers['x-amz-content-sha256'] = options.payloadHash ?? sha256Hex(body);
    headers = signRequest({ method, url, headers, body }, { credentials, region: 'us-east-1', service: 's3' });
    delete headers.host;
  }
  const res = await fetch(url, { method, headers, ...(body.length > 0 && { body }) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}
