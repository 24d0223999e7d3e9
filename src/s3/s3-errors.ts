import type { FastifyRequest } from 'fastify';
import { AuthError } from '../sigv4/verifier.js';
import { StoreError } from '../store/errors.js';
import { UnitError } from '../units/errors.js';
import { document } from './xml.js';

/** An S3 error: its code, HTTP status and message, and extra elements for the Error document. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly extra: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

const MESSAGES: Record<string, [number, string]> = {
  AccessDenied: [403, 'Access Denied'],
  BadDigest: [400, 'The Content-MD5 or checksum you specified did not match what we received.'],
  BucketAlreadyOwnedByYou: [409, 'Your previous request to create the named bucket succeeded and you already own it.'],
  BucketNotEmpty: [409, 'The bucket you tried to delete is not empty'],
  EntityTooLarge: [400, 'Your proposed upload exceeds the maximum allowed size'],
  EntityTooSmall: [400, 'Your proposed upload is smaller than the minimum allowed object size.'],
  IncompleteBody: [400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'],
  InternalError: [500, 'We encountered an internal error. Please try again.'],
  InvalidArgument: [400, 'Invalid Argument'],
  InvalidBucketName: [400, 'The specified bucket is not valid.'],
  InvalidDigest: [400, 'The Content-MD5 or checksum you specified is not valid.'],
  InvalidPart: [400, 'One or more of the specified parts could not be found.'],
  InvalidPartOrder: [400, 'The list of parts was not in ascending order.'],
  InvalidRange: [416, 'The requested range is not satisfiable'],
  InvalidRequest: [400, 'Invalid Request'],
  KeyTooLongError: [400, 'Your key is too long'],
  MalformedXML: [400, 'The XML you provided was not well-formed or did not validate against our published schema.'],
  MetadataTooLarge: [400, 'Your metadata headers exceed the maximum allowed metadata size.'],
  MethodNotAllowed: [405, 'The specified method is not allowed against this resource.'],
  MissingContentLength: [411, 'You must provide the Content-Length HTTP header.'],
  NoSuchBucket: [404, 'The specified bucket does not exist'],
  NoSuchKey: [404, 'The specified key does not exist.'],
  NoSuchUpload: [404, 'The specified multipart upload does not exist.'],
  NoSuchTagSet: [404, 'The TagSet does not exist'],
  NotImplemented: [501, 'A header or query you provided implies functionality that is not implemented.'],
  NotModified: [304, 'Not Modified'],
  PreconditionFailed: [412, 'At least one of the pre-conditions you specified did not hold'],
  QuotaExceeded: [403, 'The storage unit is at its hard quota: the write was refused and nothing was stored.'],
  RequestTimeTooSkewed: [403, 'The difference between the request time and the current time is too large.'],
  SignatureDoesNotMatch: [403, 'The request signature we calculated does not match the signature you provided.'],
  InvalidAccessKeyId: [403, 'The AWS Access Key Id you provided does not exist in our records.'],
  AuthorizationHeaderMalformed: [400, 'The authorization header is malformed.'],
  AuthorizationQueryParametersError: [400, 'The authorization query parameters are malformed.'],
  MissingSecurityHeader: [400, 'Your request is missing a required header.'],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
  InvalidTag: [400, 'The tag provided was not a valid tag.'],
  SlowDown: [503, 'Please reduce your request rate.'],
};

/** An S3Error with the standard status and message for its code; `message` adds detail. */
export function s3Error(code: keyof typeof MESSAGES | string, message?: string, extra?: Record<string, string>): S3Error {
  const [status, standard] = MESSAGES[code] ?? [400, code];
  return new S3Error(code, status, message ?? standard, extra);
}

/** The Error document of an answer: S3's elements, then the resource (the request's path) and the request id. */
export function errorDocument(e: S3Error, resource: string, requestId: string): string {
  return document(
    'Error',
    [['Code', e.code], ['Message', e.message], ...Object.entries(e.extra).map(([k, v]): [string, string] => [k, v]), ['Resource', resource], ['RequestId', requestId]],
    false,
  );
}

/** The path of a request, as an Error document's Resource. */
export function requestPath(req: FastifyRequest): string {
  return (req.raw.url ?? '/').split('?')[0]!;
}

/** Server faults are logged as errors with their cause; refusals of bad requests as information. */
export function logRefusal(req: FastifyRequest, e: S3Error, cause: unknown): void {
  if (e.status >= 500) req.log.error({ err: cause }, 's3 request failed');
  else req.log.info({ code: e.code, message: e.message }, 's3 request refused');
}

/** Turns any error into the S3 error a client should see. */
export function toS3Error(err: unknown): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof AuthError) return s3Error(err.code, err.message);
  if (err instanceof UnitError) {
    switch (err.code) {
      case 'NoSuchUnit':
        return s3Error('NoSuchBucket');
      case 'QuotaExceeded':
        return s3Error('QuotaExceeded', err.message);
      case 'InvalidUnitName':
        return s3Error('InvalidBucketName', err.message);
      case 'UnitNotEmpty':
        return s3Error('BucketNotEmpty');
      case 'UnitExists':
        return s3Error('BucketAlreadyOwnedByYou');
      default:
        return s3Error('InvalidRequest', err.message);
    }
  }
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'NoSuchKey':
      case 'InvalidRange':
      case 'PreconditionFailed':
      case 'EntityTooLarge':
      case 'EntityTooSmall':
      case 'NoSuchUpload':
      case 'InvalidPart':
      case 'InvalidPartOrder':
        return s3Error(err.code, err.message);
      case 'InvalidKey':
        return s3Error(/bytes; the limit/.test(err.message) ? 'KeyTooLongError' : 'InvalidArgument', err.message);
      case 'CorruptChunk':
      case 'MissingChunk':
        return s3Error('InternalError', 'stored data failed its checks; the object cannot be read whole');
      case 'StoreClosed':
        return s3Error('SlowDown', 'the storage unit is closing');
    }
  }
  return s3Error('InternalError');
}
