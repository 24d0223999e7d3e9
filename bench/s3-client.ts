import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash } from 'node:crypto';
import { EMPTY_SHA256 } from '../src/sigv4/canonical-request.js';
import { scopeString, signature, signingKey } from '../src/sigv4/signing-key.js';
import { presignUrl, signRequest, type SigningCredentials } from '../src/sigv4/signer.js';
import { uploadParts } from './multipart-shape.js';
import { inMemory, mapForKernel, streamOf, type InMemorySource } from './source.js';

export interface S3Target {
  url: string;
  credentials: SigningCredentials;
}

function signed(t: S3Target, method: string, path: string, headers: Record<string, string>): Record<string, string> {
  const h = signRequest({ method, url: new URL(path, t.url), headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers } }, { credentials: t.credentials, region: 'us-east-1', service: 's3' });
  delete h.host;
  return h;
}

const objectPath = (bucket: string, key: string): string => `/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One signed request (UNSIGNED-PAYLOAD) with an optional body; resolves to the whole reply. */
function send(t: S3Target, method: string, path: string, headers: Record<string, string>, body?: Readable | Buffer, sign = true): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.url), { method, headers: sign ? signed(t, method, path, headers) : headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body instanceof Readable) body.pipe(req);
    else req.end(body);
  });
}

function expectOk(what: string, r: Reply): Reply {
  if (r.status !== 200) throw new Error(`${what} ${r.status}: ${r.text.slice(0, 300)}`);
  return r;
}

/** One PutObject streaming a source with UNSIGNED-PAYLOAD: the least a client can add (minio-go over HTTPS does this). */
export async function rawPut(t: S3Target, bucket: string, key: string, source: Readable, length: number): Promise<void> {
  expectOk('PUT', await send(t, 'PUT', objectPath(bucket, key), { 'content-length': String(length) }, source));
}

/**
 * One PutObject signed with its body's SHA-256, as the AWS SDK for Go (Velero's
 * plugin) signs PutObject and UploadPart over plain HTTP; the hash is the
 * caller's, worked out before the clock starts.
 */
export async function hashSignedPut(t: S3Target, bucket: string, key: string, source: Readable, length: number, sha256hex: string): Promise<void> {
  expectOk('PUT', await send(t, 'PUT', objectPath(bucket, key), { 'content-length': String(length), 'x-amz-content-sha256': sha256hex }, source));
}

/** minio-go's chunk size for STREAMING-AWS4-HMAC-SHA256-PAYLOAD. */
const SIGNED_CHUNK = 64 * 1024;

/**
 * One buffer for every framed body, rather than a gigabyte a generation left to
 * the collector in the process that measures the clients. Grown with room to
 * spare, since generations differ by a few percent: each new buffer must be
 * mapped for the kernel first (see mapForKernel), which takes seconds.
 */
let frames: Buffer = Buffer.alloc(0);
function frameBuffer(length: number): Buffer {
  if (frames.length < length) {
    frames = Buffer.allocUnsafeSlow(length + Math.ceil(length / 16));
    mapForKernel(frames);
  }
  return frames.subarray(0, length);
}

/**
 * A PutObject as Kopia and restic send one over plain HTTP (minio-go):
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD, a signature on every 64 KiB chunk,
 * chained from the request's. The body is framed and signed before it is
 * sent: a client on another machine pays for its SHA-256s there, and here
 * they would take the server's cores. Signed when called, so the clock-skew
 * window starts now; resolves to the send, which streams the framed body.
 */
export function signedStreamingPut(t: S3Target, bucket: string, key: string, source: InMemorySource): () => Promise<void> {
  const path = objectPath(bucket, key);
  const chunks = Math.ceil(source.bytes / SIGNED_CHUNK);
  // Every chunk's header is the same length but the last two (the final one is empty).
  const header = (n: number): number => n.toString(16).length + ';chunk-signature='.length + 64 + 2;
  const full = Math.floor(source.bytes / SIGNED_CHUNK);
  const rest = source.bytes - full * SIGNED_CHUNK;
  const encodedLength = full * (header(SIGNED_CHUNK) + SIGNED_CHUNK + 2) + (rest > 0 ? header(rest) + rest + 2 : 0) + header(0) + 2;
  const headers = signRequest(
    {
      method: 'PUT',
      url: new URL(path, t.url),
      headers: {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(source.bytes),
        'content-length': String(encodedLength),
      },
    },
    { credentials: t.credentials, region: 'us-east-1', service: 's3' },
  );
  delete headers.host;
  const date = headers['x-amz-date']!;
  const scope = { date: date.slice(0, 8), region: 'us-east-1', service: 's3' };
  const key_ = signingKey(t.credentials.secretAccessKey, scope);
  const prefix = `AWS4-HMAC-SHA256-PAYLOAD\n${date}\n${scopeString(scope)}\n`;
  let previous = /Signature=([0-9a-f]{64})/.exec(headers.authorization!)![1]!;
  const body = frameBuffer(encodedLength);
  let at = 0;
  for (let i = 0; i <= chunks; i++) {
    const data = source.data.subarray(i * SIGNED_CHUNK, Math.min(source.bytes, (i + 1) * SIGNED_CHUNK));
    previous = signature(key_, `${prefix}${previous}\n${EMPTY_SHA256}\n${createHash('sha256').update(data).digest('hex')}`);
    at += body.write(`${data.length.toString(16)};chunk-signature=${previous}\r\n`, at, 'latin1');
    at += data.copy(body, at);
    at += body.write('\r\n', at, 'latin1');
  }
  if (at !== encodedLength) throw new Error(`framed ${at} bytes, expected ${encodedLength}`);
  const framed = inMemory(body);
  return async () => {
    expectOk('signed PUT', await send(t, 'PUT', path, headers, streamOf(framed), false));
  };
}

/**
 * A multipart upload the least a client can make it: UNSIGNED-PAYLOAD parts
 * with no checksums, `inFlight` at a time. Beside the SDK's, it shows what the
 * server's multipart path costs apart from the client's hashing.
 */
export async function rawMultipart(t: S3Target, bucket: string, key: string, source: InMemorySource, partSize: number, inFlight: number): Promise<void> {
  const path = objectPath(bucket, key);
  const created = expectOk('CreateMultipartUpload', await send(t, 'POST', `${path}?uploads=`, {}));
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)![1]!;
  const etags = await uploadParts(source, partSize, inFlight, async (n, part) => {
    const query = `?partNumber=${n}&uploadId=${encodeURIComponent(uploadId)}`;
    const r = expectOk('UploadPart', await send(t, 'PUT', path + query, { 'content-length': String(part.bytes) }, part.data));
    return String(r.headers.etag);
  });
  const xml = `<CompleteMultipartUpload>${etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${e}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
  const done = expectOk('CompleteMultipartUpload', await send(t, 'POST', `${path}?uploadId=${encodeURIComponent(uploadId)}`, {}, Buffer.from(xml)));
  if (!done.text.includes('<CompleteMultipartUploadResult')) throw new Error(`CompleteMultipartUpload: ${done.text.slice(0, 300)}`);
}

/** One GetObject, read to the end and thrown away; resolves to the bytes read. */
export function rawGet(t: S3Target, bucket: string, key: string): Promise<number> {
  const path = objectPath(bucket, key);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.url), { method: 'GET', headers: signed(t, 'GET', path, {}) }, (res) => {
      let n = 0;
      res.on('data', (d: Buffer) => (n += d.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * One GetObject by curl through a presigned URL, written to /dev/null: a client
 * far lighter than Node's, so that on two shared cores the figure is the server's.
 * Resolves to [bytes, curl's CPU seconds].
 */
export function curlGet(t: S3Target, bucket: string, key: string): Promise<[number, number]> {
  const url = presignUrl('GET', new URL(objectPath(bucket, key), t.url), 300, {
    credentials: t.credentials,
    region: 'us-east-1',
    service: 's3',
  });
  // bash's `times` reports the CPU its children used: curl's own cost.
  const script = 'curl -sS --fail -o /dev/null -w "%{size_download}\\n" "$1" && times';
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script, 'curl-get', url.toString()], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`curl exited with ${code}`));
      const [size, , children] = out.trim().split('\n');
      const seconds = (children ?? '').split(' ').reduce((sum, t) => {
        const m = /(\d+)m([\d.]+)s/.exec(t);
        return sum + (m ? Number(m[1]) * 60 + Number(m[2]) : 0);
      }, 0);
      resolve([Number(size), seconds]);
    });
  });
}

export function sdkClient(t: S3Target): S3Client {
  return new S3Client({ endpoint: t.url, region: 'us-east-1', forcePathStyle: true, credentials: t.credentials, maxAttempts: 1 });
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

/** The SDK's managed upload of a stream: multipart, `inFlight` parts at a time, its default checksums on. */
export async function sdkMultipart(client: S3Client, bucket: string, key: string, source: InMemorySource, partSize: number, inFlight: number): Promise<void> {
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: streamOf(source) }, partSize, queueSize: inFlight }).done();
}

/** Lists with ListObjectsV2 until the end; resolves to [pages, keys, common prefixes]. */
export async function listAll(t: S3Target, bucket: string, query: Record<string, string>): Promise<[number, number, number]> {
  let token: string | undefined;
  let pages = 0;
  let keys = 0;
  let prefixes = 0;
  do {
    const params = new URLSearchParams({ 'list-type': '2', ...query, ...(token && { 'continuation-token': token }) });
    const path = `/${bucket}?${params.toString().replace(/\+/g, '%20')}`;
    const body = expectOk('LIST', await send(t, 'GET', path, {})).text;
    pages++;
    keys += (body.match(/<Contents>/g) ?? []).length;
    prefixes += (body.match(/<CommonPrefixes>/g) ?? []).length;
    token = /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(body)?.[1];
  } while (token);
  return [pages, keys, prefixes];
}
