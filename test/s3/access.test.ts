import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import t from 'tap';
import { pseudoRandomBytes } from '../helpers/data.js';
import { bodyOf, startS3Server, status } from '../helpers/s3.js';

/** Every operation against one bucket, each as a thunk. */
function everyOperation(s3: S3Client, Bucket: string) {
  return {
    HeadBucket: () => s3.send(new HeadBucketCommand({ Bucket })),
    GetBucketLocation: () => s3.send(new GetBucketLocationCommand({ Bucket })),
    ListObjects: () => s3.send(new ListObjectsCommand({ Bucket })),
    ListObjectsV2: () => s3.send(new ListObjectsV2Command({ Bucket })),
    ListMultipartUploads: () => s3.send(new ListMultipartUploadsCommand({ Bucket })),
    GetObject: () => s3.send(new GetObjectCommand({ Bucket, Key: 'secret' })),
    HeadObject: () => s3.send(new HeadObjectCommand({ Bucket, Key: 'secret' })),
    GetObjectTagging: () => s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'secret' })),
    PutObject: () => s3.send(new PutObjectCommand({ Bucket, Key: 'intruder', Body: 'x' })),
    PutObjectTagging: () => s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'secret', Tagging: { TagSet: [] } })),
    CopyObject: () => s3.send(new CopyObjectCommand({ Bucket, Key: 'copy', CopySource: `${Bucket}/secret` })),
    DeleteObject: () => s3.send(new DeleteObjectCommand({ Bucket, Key: 'secret' })),
    DeleteObjects: () => s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'secret' }] } })),
    CreateMultipartUpload: () => s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp' })),
    UploadPart: () => s3.send(new UploadPartCommand({ Bucket, Key: 'mp', UploadId: 'x', PartNumber: 1, Body: 'x' })),
    ListParts: () => s3.send(new ListPartsCommand({ Bucket, Key: 'mp', UploadId: 'x' })),
    AbortMultipartUpload: () => s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'mp', UploadId: 'x' })),
    DeleteBucket: () => s3.send(new DeleteBucketCommand({ Bucket })),
    CreateBucket: () => s3.send(new CreateBucketCommand({ Bucket })),
  };
}

const READS = ['HeadBucket', 'GetBucketLocation', 'ListObjects', 'ListObjectsV2', 'ListMultipartUploads', 'GetObject', 'HeadObject', 'GetObjectTagging', 'ListParts'];

t.test('keys are held to their units: other units, read-only, revoked', async (t) => {
  const s = await startS3Server(t);
  const admin = s.client();
  await admin.send(new CreateBucketCommand({ Bucket: 'unit-a' }));
  await admin.send(new CreateBucketCommand({ Bucket: 'unit-b' }));
  await admin.send(new PutObjectCommand({ Bucket: 'unit-b', Key: 'secret', Body: 'the data of b' }));
  const creds = s.server.credentials;
  const keyA = creds.issue('unit', [{ unit: 'unit-a', access: 'read-write' }]);
  const a = s.client(keyA);

  // A key of unit A on unit B: refused, every operation, and B's existence is not revealed.
  for (const [name, op] of Object.entries(everyOperation(a, 'unit-b'))) {
    await t.rejects(op(), name === 'HeadBucket' || name === 'HeadObject' ? status(403) : { name: 'AccessDenied' }, `${name} on unit B`);
  }
  for (const name of ['HeadBucket', 'ListObjectsV2', 'GetObject']) {
    await t.rejects(everyOperation(a, 'no-such-unit')[name as 'GetObject'](), name === 'HeadBucket' ? status(403) : { name: 'AccessDenied' }, `${name} on a unit that does not exist: the same answer`);
  }
  t.same((await a.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), ['unit-a'], 'ListBuckets shows only its own unit');
  await t.rejects(a.send(new CreateBucketCommand({ Bucket: 'unit-c' })), { name: 'AccessDenied' }, 'a unit key creates no units');
  await t.rejects(a.send(new CreateBucketCommand({ Bucket: 'unit-a' })), { name: 'BucketAlreadyOwnedByYou' }, 'but is told its own bucket exists (restic init)');
  await t.rejects(a.send(new DeleteBucketCommand({ Bucket: 'unit-a' })), { name: 'AccessDenied' }, 'nor deletes them');
  t.equal((await admin.send(new HeadObjectCommand({ Bucket: 'unit-b', Key: 'secret' }))).ContentLength, 13, 'unit B is untouched');

  // Read-only: every read works, every write is refused.
  await admin.send(new PutObjectCommand({ Bucket: 'unit-a', Key: 'secret', Body: 'the data of a' }));
  const ro = s.client(creds.issue('unit', [{ unit: 'unit-a', access: 'read-only' }]));
  for (const [name, op] of Object.entries(everyOperation(ro, 'unit-a'))) {
    if (READS.includes(name)) {
      const r = await op().catch((e: Error) => e);
      // By status, not name: a refused HEAD has no body, and the SDK calls it Forbidden, not AccessDenied.
      const answered = (r as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      t.ok(answered !== undefined && answered !== 403, `read-only may ${name} (${answered} ${r instanceof Error ? r.name : 'ok'})`);
      const body = (r as { Body?: unknown }).Body;
      if (body) await bodyOf(body);
    } else if (name !== 'CreateBucket') {
      await t.rejects(op(), { name: 'AccessDenied' }, `read-only may not ${name}`);
    }
  }
  t.equal((await bodyOf((await admin.send(new GetObjectCommand({ Bucket: 'unit-a', Key: 'secret' }))).Body)).toString(), 'the data of a');

  // Revoked: refused with the very next request.
  await a.send(new PutObjectCommand({ Bucket: 'unit-a', Key: 'before-revoke', Body: 'ok' }));
  creds.revoke(keyA.accessKeyId);
  await t.rejects(a.send(new PutObjectCommand({ Bucket: 'unit-a', Key: 'after-revoke', Body: 'no' })), { name: 'InvalidAccessKeyId' });
  await t.rejects(a.send(new GetObjectCommand({ Bucket: 'unit-a', Key: 'before-revoke' })), { name: 'InvalidAccessKeyId' });
});

t.test('the hard quota refuses the crossing write over S3, keeping what came before', async (t) => {
  const s = await startS3Server(t);
  const admin = s.client();
  await admin.send(new CreateBucketCommand({ Bucket: 'quota' }));
  s.server.units.setQuota('quota', { soft: null, hard: 1_000_000 });
  const first = pseudoRandomBytes('first', 700_000);
  await admin.send(new PutObjectCommand({ Bucket: 'quota', Key: 'first', Body: first }));
  await t.rejects(admin.send(new PutObjectCommand({ Bucket: 'quota', Key: 'second', Body: pseudoRandomBytes('second', 400_000) })), { name: 'QuotaExceeded', $metadata: { httpStatusCode: 403 } });
  await t.rejects(admin.send(new HeadObjectCommand({ Bucket: 'quota', Key: 'second' })), { name: 'NotFound' });
  t.ok((await bodyOf((await admin.send(new GetObjectCommand({ Bucket: 'quota', Key: 'first' }))).Body)).equals(first));
  await admin.send(new PutObjectCommand({ Bucket: 'quota', Key: 'small', Body: pseudoRandomBytes('small', 200_000) }));
  t.equal(s.server.units.info('quota').stats.logicalBytes, 900_000);
});
