import type { IncomingMessage } from 'node:http';
import { decodeAwsChunked, pushedAwsChunked, type ChunkedResult } from './aws-chunked.js';
import {
  ALGORITHMS,
  checksumHeader,
  parseAlgorithm,
  StreamChecksum,
  validChecksumValue,
  type ChecksumAlgorithm,
} from './checksums.js';
import type { S3Call } from './s3-context.js';
import { s3Error } from './s3-errors.js';
import { scopeString } from '../sigv4/signing-key.js';
import { socketBody } from '../http/socket-body.js';
import { observed, type ByteSource } from '../store/push-source.js';

/** A verified checksum of a body: what to store with it and echo back. */
export interface BodyChecksum {
  algorithm: ChecksumAlgorithm;
  value: string;
}

export interface RequestPayload {
  /** The body as the object's bytes: aws-chunked framing removed, checksums computed on the way. */
  source: ByteSource;
  /** The signed SHA-256 of the body must be checked: the store computes it on a worker. */
  needsSha256: boolean;
  /**
   * After the store has read the whole body, before it commits: checks every
   * digest, length and checksum the client declared, and throws the S3 error
   * for the first that fails (so nothing is stored).
   */
  finish(written: { md5: Buffer; size: number; sha256?: Buffer }): BodyChecksum | undefined;
}

/**
 * The body of a PUT (object or part) with everything the request says about
 * it held against it: x-amz-content-sha256, aws-chunked signatures and
 * trailers, x-amz-decoded-content-length, Content-MD5, x-amz-checksum-*.
 * `algorithm` asks for a checksum even if the client sent none (the parts of
 * an upload created with one).
 */
export function requestPayload(call: S3Call, algorithm?: ChecksumAlgorithm): RequestPayload {
  const { req, payload, who } = call;
  const headers = req.headers;

  const contentMd5 = single(headers['content-md5']);
  if (contentMd5 !== undefined && (!/^[A-Za-z0-9+/]{22}==$/.test(contentMd5) || Buffer.from(contentMd5, 'base64').length !== 16)) {
    throw s3Error('InvalidDigest', 'Content-MD5 must be the base64 of 16 bytes');
  }

  // The checksum: a header with its value, a trailer announced in x-amz-trailer, or just the algorithm.
  const given = ALGORITHMS.filter((a) => headers[checksumHeader(a)] !== undefined);
  if (given.length > 1) throw s3Error('InvalidRequest', 'expecting a single x-amz-checksum- header');
  let expected: { algorithm: ChecksumAlgorithm; value: string | null } | undefined;
  if (given.length === 1) {
    const a = given[0]!;
    const value = single(headers[checksumHeader(a)])!;
    if (!validChecksumValue(a, value)) throw s3Error('InvalidRequest', `the ${a} checksum is not a valid value`);
    expected = { algorithm: a, value };
  }
  const trailerName = single(headers['x-amz-trailer'])?.trim().toLowerCase();
  let trailerAlgorithm: ChecksumAlgorithm | undefined;
  if (trailerName) {
    if (payload.kind !== 'chunked' || !payload.chunked.trailer) throw s3Error('InvalidRequest', 'x-amz-trailer needs a STREAMING-...-TRAILER body');
    trailerAlgorithm = ALGORITHMS.find((a) => checksumHeader(a) === trailerName);
    if (!trailerAlgorithm) throw s3Error('InvalidRequest', `unsupported trailer ${trailerName}`);
    if (expected) throw s3Error('InvalidRequest', 'a checksum in both a header and a trailer');
  }
  const declared = parseAlgorithm(single(headers['x-amz-sdk-checksum-algorithm']));
  const computeFor = expected?.algorithm ?? trailerAlgorithm ?? declared ?? algorithm;
  if (algorithm && computeFor !== algorithm) {
    throw s3Error('InvalidRequest', `this upload was created with ${algorithm} checksums; the part sent ${computeFor}`);
  }
  const checksum = computeFor ? new StreamChecksum(computeFor) : null;

  let chunked: ChunkedResult | null = null;
  // A large body with a Content-Length is read from the socket and offered to the store read by read.
  const pushed = socketBody(req.raw);
  const raw = pushed ? null : requestBody(req.raw);
  let body: ByteSource = pushed ?? raw!;
  if (payload.kind === 'chunked') {
    chunked = { trailers: new Map(), decodedLength: 0 };
    const auth = who.auth;
    const signing = payload.chunked.signed
      ? { key: auth.signingKey, amzDate: auth.claim.amzDate, scope: scopeString(auth.claim.scope), seedSignature: auth.claim.signature }
      : null;
    body = pushed ? pushedAwsChunked(pushed, payload.chunked, signing, chunked) : decodeAwsChunked(raw!, payload.chunked, signing, chunked);
  }
  const decodedLength = single(headers['x-amz-decoded-content-length']);
  if (decodedLength !== undefined && !/^\d{1,16}$/.test(decodedLength)) throw s3Error('InvalidArgument', 'x-amz-decoded-content-length must be a number');

  return {
    // Without a checksum the body goes to the store as it comes: one step less per piece.
    source: checksum ? observed(body, (bytes) => checksum.update(bytes)) : body,
    needsSha256: payload.kind === 'sha256',
    finish(written) {
      if (payload.kind === 'sha256' && written.sha256?.toString('hex') !== payload.hex) throw s3Error('XAmzContentSHA256Mismatch');
      if (decodedLength !== undefined && Number(decodedLength) !== written.size) {
        throw s3Error('IncompleteBody', `x-amz-decoded-content-length said ${decodedLength} bytes; the body decoded to ${written.size}`);
      }
      if (contentMd5 !== undefined && Buffer.from(contentMd5, 'base64').toString('hex') !== written.md5.toString('hex')) {
        throw s3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
      }
      if (trailerAlgorithm) {
        const value = chunked!.trailers.get(trailerName!);
        if (value === undefined) throw s3Error('InvalidRequest', `the trailer ${trailerName} was announced but not sent`);
        if (!validChecksumValue(trailerAlgorithm, value)) throw s3Error('InvalidRequest', `the ${trailerAlgorithm} trailer is not a valid value`);
        expected = { algorithm: trailerAlgorithm, value };
      }
      if (!checksum) return undefined;
      const value = checksum.digest();
      if (expected && expected.value !== value) {
        throw s3Error('BadDigest', `The ${expected.algorithm} you specified did not match the calculated checksum.`);
      }
      return { algorithm: checksum.algorithm, value };
    },
  };
}

/**
 * The request body, read without destroying the request when the reader stops
 * early (a refusal): the answer must still reach the client, and the server
 * then closes the connection rather than reuse it half-read.
 */
export function requestBody(raw: IncomingMessage): AsyncIterable<Buffer> {
  return raw.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
