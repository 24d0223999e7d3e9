import {
  createBucket,
  deleteBucket,
  getBucketLocation,
  getBucketVersioning,
  headBucket,
  listBuckets,
} from './operations/buckets.js';
import { deleteObjects } from './operations/delete-objects.js';
import { listObjectsV1, listObjectsV2 } from './operations/listing.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
  uploadPartCopy,
} from './operations/multipart.js';
import { copyObject, deleteObject, getObject, headObject, putObject } from './operations/objects.js';
import { deleteObjectTagging, getObjectTagging, putObjectTagging } from './operations/tagging.js';
import type { Operation } from './s3-context.js';
import { s3Error } from './s3-errors.js';

/** Sub-resources we know S3 has and do not implement: named, so the answer is NotImplemented rather than a wrong 200. */
const UNSUPPORTED = [
  'acl',
  'policy',
  'policyStatus',
  'lifecycle',
  'cors',
  'encryption',
  'object-lock',
  'retention',
  'legal-hold',
  'replication',
  'website',
  'logging',
  'notification',
  'ownershipControls',
  'publicAccessBlock',
  'accelerate',
  'requestPayment',
  'inventory',
  'analytics',
  'metrics',
  'intelligent-tiering',
  'versions',
  'versionId',
  'restore',
  'select',
  'torrent',
  'attributes',
  'session',
];

function notImplemented(what: string): Operation {
  return {
    name: `Unsupported:${what}`,
    action: 'none',
    async run() {
      throw s3Error('NotImplemented', `${what} is not implemented`);
    },
  };
}

/** Which operation a request is: its method, whether it names a bucket and a key, and its sub-resources. */
export function route(method: string, bucket: string | null, key: string | null, query: URLSearchParams, headers: Record<string, unknown>): Operation {
  const has = (name: string) => query.has(name);
  // A unit keeps one version of each key, S3's "null" version: naming it is naming the object (as a copy source may).
  const unsupported = UNSUPPORTED.find((s) => has(s) && !(s === 'versionId' && key && query.get('versionId') === 'null'));
  if (!bucket) {
    if (method === 'GET') return listBuckets;
    return notImplemented(`${method} on the service`);
  }
  if (!key) {
    if (unsupported) return notImplemented(`bucket ${unsupported}`);
    switch (method) {
      case 'GET':
        if (has('location')) return getBucketLocation;
        if (has('versioning')) return getBucketVersioning;
        if (has('uploads')) return listMultipartUploads;
        if (has('tagging')) return notImplemented('bucket tagging');
        if (query.get('list-type') === '2') return listObjectsV2;
        return listObjectsV1;
      case 'HEAD':
        return headBucket;
      case 'PUT':
        if (has('versioning') || has('tagging')) return notImplemented(`bucket ${has('versioning') ? 'versioning' : 'tagging'}`);
        return createBucket;
      case 'DELETE':
        if (has('tagging')) return notImplemented('bucket tagging');
        return deleteBucket;
      case 'POST':
        if (has('delete')) return deleteObjects;
        return notImplemented('POST on a bucket');
    }
    return notImplemented(`${method} on a bucket`);
  }
  if (unsupported) return notImplemented(`object ${unsupported}`);
  switch (method) {
    case 'GET':
      if (has('uploadId')) return listParts;
      if (has('tagging')) return getObjectTagging;
      return getObject;
    case 'HEAD':
      return headObject;
    case 'PUT':
      if (has('tagging')) return putObjectTagging;
      if (has('uploadId') || has('partNumber')) return headers['x-amz-copy-source'] !== undefined ? uploadPartCopy : uploadPart;
      if (headers['x-amz-copy-source'] !== undefined) return copyObject;
      return putObject;
    case 'DELETE':
      if (has('uploadId')) return abortMultipartUpload;
      if (has('tagging')) return deleteObjectTagging;
      return deleteObject;
    case 'POST':
      if (has('uploads')) return createMultipartUpload;
      if (has('uploadId')) return completeMultipartUpload;
      return notImplemented('POST on an object');
  }
  return notImplemented(`${method} on an object`);
}
