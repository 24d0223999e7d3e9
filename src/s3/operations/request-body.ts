import { createHash } from 'node:crypto';
import { decodeAwsChunked, type ChunkedResult } from '../aws-chunked.js';
import { ALGORITHMS, checksumHeader, StreamChecksum } from '../checksums.js';
import { requestBody } from '../payload.js';
import type { S3Call } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { scopeString } from '../../sigv4/signing-key.js';

/**
 * Reads a small request document (XML) whole, up to `limit` bytes, held to
 * the same checks as object bodies: the signed SHA-256, aws-chunked framing,
 * Content-MD5 and any x-amz-checksum-* (DeleteObjects sends a CRC32 today).
 */
export async function readBody(call: S3Call, limit: number): Promise<Buffer> {
  const declared = Number(call.req.headers['content-length'] ?? '0');
  if (declared > limit) throw s3Error('InvalidRequest', `the request document is larger than ${limit} bytes`);
  const raw = requestBody(call.req.raw);
  let source: AsyncIterable<Buffer> = raw;
  let chunked: ChunkedResult | null = null;
  if (call.payload.kind === 'chunked') {
    chunked = { trailers: new Map(), decodedLength: 0 };
    const a = call.who.auth;
    source = decodeAwsChunked(
      raw,
      call.payload.chunked,
      call.payload.chunked.signed ? { key: a.signingKey, amzDate: a.claim.amzDate, scope: scopeString(a.claim.scope), seedSignature: a.claim.signature } : null,
      chunked,
    );
  }
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of source) {
    total += piece.length;
    if (total > limit) throw s3Error('InvalidRequest', `the request document is larger than ${limit} bytes`);
    parts.push(piece);
  }
  const body = Buffer.concat(parts);
  if (call.payload.kind === 'sha256' && createHash('sha256').update(body).digest('hex') !== call.payload.hex) throw s3Error('XAmzContentSHA256Mismatch');
  const md5 = call.req.headers['content-md5'];
  if (typeof md5 === 'string' && createHash('md5').update(body).digest('base64') !== md5) throw s3Error('BadDigest');
  for (const a of ALGORITHMS) {
    const given = call.req.headers[checksumHeader(a)] ?? chunked?.trailers.get(checksumHeader(a));
    if (typeof given !== 'string') continue;
    const c = new StreamChecksum(a);
    c.update(body);
    if (c.digest() !== given) throw s3Error('BadDigest', `The ${a} you specified did not match the calculated checksum.`);
  }
  return body;
}
