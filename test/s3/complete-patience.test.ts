import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import t from 'tap';
import { pseudoRandomBytes } from '../helpers/data.js';
import { bodyOf, startS3Server } from '../helpers/s3.js';
import { signedFetch } from '../helpers/server.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();

/** An upload of two parts (5 MiB and the rest), not yet completed. */
async function twoParts(s3: S3Client, Bucket: string, Key: string, data: Buffer): Promise<{ UploadId: string; parts: { PartNumber: number; ETag: string }[] }> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
  const parts = [];
  for (const [i, body] of [data.subarray(0, 5 * MiB), data.subarray(5 * MiB)].entries()) {
    const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body: body }));
    parts.push({ PartNumber: i + 1, ETag: r.ETag! });
  }
  return { UploadId: UploadId!, parts };
}

const completionXml = (parts: { PartNumber: number; ETag: string }[]): string =>
  `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.PartNumber}</PartNumber><ETag>${p.ETag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;

// With no patience at all, every completion answers 200 before it has done its work, as S3 does for long ones.
t.test('a completion that answers before it is done: the 200, then the result or an Error in its body', async (t) => {
  const s = await startS3Server(t, 'http', { CAIRN_COMPLETE_PATIENCE_SECONDS: '0' });
  const s3 = s.client();
  const Bucket = 'patient';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const data = pseudoRandomBytes('patience', 7 * MiB + 333);

  t.test('the SDK reads the result from the streamed 200', async (t) => {
    const { UploadId, parts } = await twoParts(s3, Bucket, 'sdk', data);
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'sdk', UploadId, MultipartUpload: { Parts: parts } }));
    t.equal(done.ETag, `"${md5(Buffer.concat([md5(data.subarray(0, 5 * MiB)), md5(data.subarray(5 * MiB))])).toString('hex')}-2"`);
    t.ok((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'sdk' }))).Body)).equals(data));
  });

  t.test('on the wire: the XML declaration first, the result after it, a request id', async (t) => {
    const { UploadId, parts } = await twoParts(s3, Bucket, 'wire', data);
    const r = await signedFetch(s.url, 'POST', `/${Bucket}/wire?uploadId=${encodeURIComponent(UploadId)}`, s.admin, { body: completionXml(parts) });
    t.equal(r.status, 200);
    t.equal(r.headers.get('content-type'), 'application/xml');
    t.match(r.headers.get('x-amz-request-id'), /^[0-9A-F]{16}$/);
    t.match(r.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n *<CompleteMultipartUploadResult xmlns="[^"]+"><Location>\/patient\/wire<\/Location>/);
  });

  t.test('a refusal found once the 200 is out goes in its body; the SDK throws it, and nothing changed', async (t) => {
    const kept = pseudoRandomBytes('kept', 1000);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'taken', Body: kept }));
    const { UploadId, parts } = await twoParts(s3, Bucket, 'taken', data);
    // If-None-Match is checked when the object is committed: after the seams were stitched.
    const r = await signedFetch(s.url, 'POST', `/${Bucket}/taken?uploadId=${encodeURIComponent(UploadId)}`, s.admin, {
      body: completionXml(parts),
      headers: { 'if-none-match': '*' },
    });
    t.equal(r.status, 200, 'the status went out before the refusal');
    t.match(r.text, /^<\?xml version="1.0" encoding="UTF-8"\?>\n *<Error><Code>PreconditionFailed<\/Code><Message>[^<]+<\/Message><Resource>\/patient\/taken<\/Resource><RequestId>[0-9A-F]{16}<\/RequestId><\/Error>$/);
    await t.rejects(
      s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'taken', UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: '*' })),
      { name: 'PreconditionFailed' },
      'the SDK finds the Error in the 200',
    );
    t.ok((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'taken' }))).Body)).equals(kept), 'the object is the one that was there');
    t.equal((await s3.send(new ListPartsCommand({ Bucket, Key: 'taken', UploadId }))).Parts?.length, 2, 'and the upload can still be completed');
  });

  t.test('completions answered early are counted and timed in the metrics like any request', async (t) => {
    const count = async (): Promise<number> => {
      const m = await signedFetch(s.url, 'GET', '/metrics', s.admin);
      const line = m.text.split('\n').find((l) => l.startsWith('cairn_requests_total{') && l.includes('operation="CompleteMultipartUpload"') && l.includes('status="200"'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const before = await count();
    const { UploadId, parts } = await twoParts(s3, Bucket, 'counted', data);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'counted', UploadId, MultipartUpload: { Parts: parts } }));
    t.equal(await count(), before + 1);
  });

  t.test('a refusal found before any work keeps its own status', async (t) => {
    const { UploadId, parts } = await twoParts(s3, Bucket, 'order', data);
    const r = await signedFetch(s.url, 'POST', `/${Bucket}/order?uploadId=${encodeURIComponent(UploadId)}`, s.admin, {
      body: completionXml([...parts].reverse()),
    });
    t.equal(r.status, 400);
    t.match(r.text, /<Code>InvalidPartOrder<\/Code>/);
  });
});
