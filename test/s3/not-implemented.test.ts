import {
  CreateBucketCommand,
  GetObjectAclCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import t from 'tap';
import { bodyOf, startS3Server } from '../helpers/s3.js';

/**
 * Object-level operations Cairn does not have must say so (501
 * NotImplemented): a PutObjectAcl routed as a PutObject would replace the
 * object with its ACL document, a GetObjectAcl answered as a GetObject would
 * hand back the object as if it were the ACL.
 */
t.test('object sub-resources Cairn lacks answer NotImplemented, and leave the object as it was', async (t) => {
  const s = await startS3Server(t);
  const s3: S3Client = s.client();
  const Bucket = 'unsupported';
  const Key = 'backups/b1/velero-backup.json';
  const data = Buffer.from('{"kind":"Backup"}');
  await s3.send(new CreateBucketCommand({ Bucket }));
  const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body: data }));

  const notImplemented = { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } };
  const until = new Date(Date.now() + 86_400_000);
  const calls: [string, () => Promise<unknown>][] = [
    ['GetObjectAcl', () => s3.send(new GetObjectAclCommand({ Bucket, Key }))],
    ['PutObjectAcl', () => s3.send(new PutObjectAclCommand({ Bucket, Key, ACL: 'public-read' }))],
    ['GetObjectRetention', () => s3.send(new GetObjectRetentionCommand({ Bucket, Key }))],
    ['PutObjectRetention', () => s3.send(new PutObjectRetentionCommand({ Bucket, Key, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: until } }))],
    ['GetObjectLegalHold', () => s3.send(new GetObjectLegalHoldCommand({ Bucket, Key }))],
    ['PutObjectLegalHold', () => s3.send(new PutObjectLegalHoldCommand({ Bucket, Key, LegalHold: { Status: 'ON' } }))],
    ['GetObjectAttributes', () => s3.send(new GetObjectAttributesCommand({ Bucket, Key, ObjectAttributes: ['ETag', 'ObjectSize'] }))],
    ['RestoreObject', () => s3.send(new RestoreObjectCommand({ Bucket, Key, RestoreRequest: { Days: 1 } }))],
  ];
  for (const [name, call] of calls) await t.rejects(call(), notImplemented, `${name} is NotImplemented`);

  const back = await s3.send(new GetObjectCommand({ Bucket, Key }));
  t.equal(back.ETag, put.ETag, 'the object is the one stored');
  t.same(await bodyOf(back.Body), data, 'byte for byte');
});
