import { sha256Hex } from '../sigv4/canonical-request.js';
import { signRequest, type SigningCredentials } from '../sigv4/signer.js';
import { CliError, EXIT } from './cli-errors.js';

export interface Connection {
  endpoint: URL;
  credentials: SigningCredentials;
  region: string;
}

/** Signed JSON requests to the admin API. Failures become CliErrors with the right exit code. */
export async function adminRequest<T>(c: Connection, method: string, path: string, body?: unknown, query?: Record<string, string>): Promise<T> {
  const url = new URL(`/admin/v1${path}`, c.endpoint);
  for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  headers['x-amz-content-sha256'] = sha256Hex(payload);
  const signed = signRequest({ method, url, headers, body: payload }, { credentials: c.credentials, region: c.region, service: 's3' });
  delete signed.host; // fetch sets it, from the same URL
  let res: Response;
  try {
    res = await fetch(url, { method, headers: signed, ...(body !== undefined && { body: payload }), signal: AbortSignal.timeout(120_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new CliError(`cannot reach ${c.endpoint.origin}: ${cause}`, EXIT.unavailable);
  }
  const text = await res.text();
  if (res.ok) return (text === '' ? undefined : JSON.parse(text)) as T;
  let detail = text;
  try {
    detail = (JSON.parse(text) as { detail?: string }).detail ?? text;
  } catch {
    // Not a problem document: show it as it came.
  }
  throw new CliError(`${res.status}: ${detail.trim()}`, res.status >= 500 ? EXIT.unavailable : EXIT.refused);
}
