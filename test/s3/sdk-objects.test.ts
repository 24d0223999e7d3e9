import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type ChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import t from 'tap';
import { signRequest } from '../../src/sigv4/signer.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';
import { bodyOf, startS3Server, status, type Transport } from '../helpers/s3.js';

const md5hex = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

for (const transport of ['http', 'https'] as Transport[]) {
  t.test(`over ${transport}`, async (t) => {
    const s = await startS3Server(t, transport);
    const s3 = s.client();
    const Bucket = 'velero-backups';

    t.test('buckets', async (t) => {
      await s3.send(new CreateBucketCommand({ Bucket }));
      await t.rejects(s3.send(new CreateBucketCommand({ Bucket })), { name: 'BucketAlreadyOwnedByYou' });
      await t.rejects(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })), { name: 'InvalidBucketName' });
      t.same((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name), [Bucket]);
      const head = await s3.send(new HeadBucketCommand({ Bucket }));
      t.equal(head.$metadata.httpStatusCode, 200);
      t.equal((await s3.send(new GetBucketLocationCommand({ Bucket }))).LocationConstraint, undefined, 'us-east-1 is the empty constraint');
      t.equal((await s3.send(new GetBucketVersioningCommand({ Bucket }))).Status, undefined, 'never versioned');
      await t.rejects(s3.send(new HeadBucketCommand({ Bucket: 'no-such-bucket' })), status(404));
      await t.rejects(s3.send(new GetBucketAclCommand({ Bucket })), { name: 'NotImplemented', $metadata: { httpStatusCode: 501 } }, 'unsupported is NotImplemented, not a misleading 200');
      await s3.send(new CreateBucketCommand({ Bucket: 'scratch-unit' }));
      await s3.send(new PutObjectCommand({ Bucket: 'scratch-unit', Key: 'x', Body: 'x' }));
      await t.rejects(s3.send(new DeleteBucketCommand({ Bucket: 'scratch-unit' })), { name: 'BucketNotEmpty' });
      await s3.send(new DeleteObjectCommand({ Bucket: 'scratch-unit', Key: 'x' }));
      await s3.send(new DeleteBucketCommand({ Bucket: 'scratch-unit' }));
      await t.rejects(s3.send(new HeadBucketCommand({ Bucket: 'scratch-unit' })), status(404));
    });

    t.test('put and get, buffer and stream bodies, metadata', async (t) => {
      const small = textBytes('velero-json', 4000);
      const put = await s3.send(
        new PutObjectCommand({
          Bucket,
          Key: 'backups/b1/velero-backup.json',
          Body: small,
          ContentType: 'application/json',
          ContentEncoding: 'identity',
          CacheControl: 'no-cache',
          ContentDisposition: 'attachment',
          Metadata: { 'velero-backup': 'b1', note: 'x y' },
        }),
      );
      t.equal(put.ETag, `"${md5hex(small)}"`, 'ETag is the MD5, quoted');
      t.ok(put.ChecksumCRC32, 'the SDK sent a CRC32 by default and it is echoed');
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'backups/b1/velero-backup.json' }));
      t.ok((await bodyOf(got.Body)).equals(small));
      t.equal(got.ContentType, 'application/json');
      t.equal(got.ContentEncoding, 'identity');
      t.equal(got.CacheControl, 'no-cache');
      t.equal(got.ContentDisposition, 'attachment');
      t.same(got.Metadata, { 'velero-backup': 'b1', note: 'x y' });
      t.ok(got.$metadata.requestId, 'a request id on every answer');

      // A stream body of known length: aws-chunked with a CRC32 trailer.
      const big = pseudoRandomBytes('stream-body', 3_000_000);
      const streamed = await s3.send(
        new PutObjectCommand({ Bucket, Key: 'stream.bin', Body: Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]), ContentLength: big.length }),
      );
      t.equal(streamed.ETag, `"${md5hex(big)}"`);
      const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'stream.bin' }));
      t.equal(head.ContentLength, big.length);
      t.equal(head.ContentEncoding, undefined, 'aws-chunked is not stored as the content encoding');
      t.ok((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'stream.bin' }))).Body)).equals(big));
      // A body of unknown length (the SDK itself refuses one; lib-storage cuts it into parts): HTTP chunked
      // transfer with no Content-Length, UNSIGNED-PAYLOAD in a header-signed request, as minio-go sends over HTTPS.
      const unknown = await new Promise<{ status: number; etag: string | undefined }>((resolve, reject) => {
        const url = new URL(`/${Bucket}/unknown-length.bin`, s.url);
        const headers = signRequest({ method: 'PUT', url, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, { credentials: s.admin, region: 'us-east-1', service: 's3' });
        const req = (s.transport === 'https' ? httpsRequest : httpRequest)(url, { method: 'PUT', headers, ...(s.ca && { ca: s.ca }) }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, etag: res.headers.etag }));
        });
        req.on('error', reject);
        req.write(big.subarray(0, 700_000));
        req.end(big.subarray(700_000, 1_500_000));
      });
      t.same(unknown, { status: 200, etag: `"${md5hex(big.subarray(0, 1_500_000))}"` });
      t.ok((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'unknown-length.bin' }))).Body)).equals(big.subarray(0, 1_500_000)));
      // Only aws-chunked is the transport's: an encoding of the content itself is kept.
      await s3.send(new PutObjectCommand({ Bucket, Key: 'gzipped', Body: Readable.from([big.subarray(0, 10_000)]), ContentLength: 10_000, ContentEncoding: 'gzip' }));
      t.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'gzipped' }))).ContentEncoding, 'gzip');
      const empty = await s3.send(new PutObjectCommand({ Bucket, Key: 'empty', Body: '' }));
      t.equal(empty.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
      t.equal((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'empty' }))).Body)).length, 0);
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'missing' })), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'HEAD of a missing key is a clean 404');
      await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'missing' })), { name: 'NoSuchKey' });
      await t.rejects(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })), { name: 'NoSuchBucket' });
    });

    t.test('every checksum algorithm is verified, stored and returned for whole objects only', async (t) => {
      const data = pseudoRandomBytes('checksums', 200_000);
      for (const algorithm of ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as ChecksumAlgorithm[]) {
        const Key = `ck/${algorithm}`;
        const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body: data, ChecksumAlgorithm: algorithm }));
        const field = `Checksum${algorithm}` as 'ChecksumCRC32';
        t.ok(put[field], `${algorithm}: echoed on PUT`);
        const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        t.equal(got[field], put[field], `${algorithm}: returned on GET`);
        t.ok((await bodyOf(got.Body)).equals(data));
        const ranged = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED', Range: 'bytes=0-99' }));
        t.equal(ranged[field], undefined, `${algorithm}: not on a ranged GET`);
        t.equal((await bodyOf(ranged.Body)).length, 100);
        // A stream body: the SDK sends it aws-chunked, the checksum in a trailer, worked out as it streams.
        const trailed = await s3.send(new PutObjectCommand({ Bucket, Key: `${Key}-trailer`, Body: Readable.from([data]), ContentLength: data.length, ChecksumAlgorithm: algorithm }));
        t.equal(trailed[field], put[field], `${algorithm}: the same value from a trailer`);
        t.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: `${Key}-trailer`, ChecksumMode: 'ENABLED' })))[field], put[field], `${algorithm}: stored from the trailer`);
      }
      await t.rejects(
        s3.send(new PutObjectCommand({ Bucket, Key: 'ck/wrong', Body: data, ChecksumCRC32: 'AAAAAA==' })),
        { name: 'BadDigest' },
        'a wrong checksum is refused',
      );
      await t.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'ck/wrong-md5', Body: data, ContentMD5: Buffer.alloc(16).toString('base64') })), { name: 'BadDigest' });
      await t.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'ck/bad-md5', Body: data, ContentMD5: 'not-base64!' })), { name: 'InvalidDigest' });
      for (const k of ['ck/wrong', 'ck/wrong-md5', 'ck/bad-md5']) await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: k })), { name: 'NotFound' }, `${k}: nothing stored`);
      const ok = await s3.send(new PutObjectCommand({ Bucket, Key: 'ck/md5', Body: data, ContentMD5: createHash('md5').update(data).digest('base64') }));
      t.equal(ok.ETag, `"${md5hex(data)}"`);
    });

    t.test('ranges, conditions, overrides', async (t) => {
      const data = pseudoRandomBytes('ranges', 500_000);
      const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'ranged', Body: data }));
      const range = async (Range: string) => s3.send(new GetObjectCommand({ Bucket, Key: 'ranged', Range }));
      const a = await range('bytes=100-199');
      t.equal(a.ContentRange, 'bytes 100-199/500000');
      t.ok((await bodyOf(a.Body)).equals(data.subarray(100, 200)));
      t.ok((await bodyOf((await range('bytes=499990-')).Body)).equals(data.subarray(499_990)), 'open-ended');
      t.ok((await bodyOf((await range('bytes=-10')).Body)).equals(data.subarray(-10)), 'suffix');
      t.ok((await bodyOf((await range('bytes=400000-9999999')).Body)).equals(data.subarray(400_000)), 'end clamped');
      await t.rejects(range('bytes=500000-'), { name: 'InvalidRange', $metadata: { httpStatusCode: 416 } });
      const multi = await range('bytes=0-1,5-6');
      t.equal((await bodyOf(multi.Body)).length, data.length, 'several ranges: S3 answers the whole object');

      const etag = put.ETag!;
      const matched = await s3.send(new GetObjectCommand({ Bucket, Key: 'ranged', IfMatch: etag }));
      t.equal(matched.$metadata.httpStatusCode, 200);
      await bodyOf(matched.Body);
      await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'ranged', IfMatch: '"nope"' })), status(412));
      await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'ranged', IfNoneMatch: etag })), status(304));
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'ranged', IfModifiedSince: new Date(Date.now() + 60_000) })), status(304));
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'ranged', IfUnmodifiedSince: new Date(Date.now() - 3600_000) })), status(412));
      await t.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'ranged', Body: 'new', IfNoneMatch: '*' })), status(412), 'If-None-Match: * refuses to overwrite');
      t.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'ranged' }))).ContentLength, data.length, 'and the object is unchanged');
      const expires = new Date('2030-01-02T03:04:05Z');
      const overridden = await s3.send(
        new GetObjectCommand({
          Bucket,
          Key: 'ranged',
          ResponseContentType: 'text/x-test',
          ResponseContentDisposition: 'inline',
          ResponseCacheControl: 'max-age=5',
          ResponseContentLanguage: 'de-CH',
          ResponseExpires: expires,
          ResponseContentEncoding: 'identity',
        }),
      );
      t.equal(overridden.ContentType, 'text/x-test');
      t.equal(overridden.ContentDisposition, 'inline');
      t.equal(overridden.CacheControl, 'max-age=5');
      t.equal(overridden.ContentLanguage, 'de-CH');
      t.equal(overridden.Expires?.getTime(), expires.getTime());
      t.equal(overridden.ContentEncoding, 'identity');
      await bodyOf(overridden.Body);
      // Values a header cannot carry are refused before the answer starts, not by a cut connection.
      for (const bad of ['text/plain\r\nx-injected: 1', 'price in \u20ac']) {
        await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'ranged', ResponseContentType: bad })), { name: 'InvalidArgument' }, JSON.stringify(bad));
      }

      await s3.send(new PutObjectCommand({ Bucket, Key: 'only-once', Body: 'first', IfNoneMatch: '*' }));
      t.equal((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'only-once' }))).Body)).toString(), 'first', 'If-None-Match: * stores a new key');
      await t.rejects(s3.send(new PutObjectCommand({ Bucket, Key: 'only-once', Body: 'second', IfNoneMatch: '*' })), status(412), 'and refuses it the second time');
    });

    t.test('delete, batch delete, copy, tagging', async (t) => {
      t.equal((await s3.send(new DeleteObjectCommand({ Bucket, Key: 'never-existed' }))).$metadata.httpStatusCode, 204, 'deleting a missing key is still 204');
      for (const k of ['del/1', 'del/2', 'del/3']) await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
      const verbose = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'del/1' }, { Key: 'del/2' }, { Key: 'del/none' }] } }));
      t.same(verbose.Deleted?.map((d) => d.Key).sort(), ['del/1', 'del/2', 'del/none']);
      const quiet = await s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: [{ Key: 'del/3' }], Quiet: true } }));
      t.equal(quiet.Deleted, undefined, 'quiet mode lists only errors');
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'del/3' })), { name: 'NotFound' });

      const source = pseudoRandomBytes('copy-source', 700_000);
      await s3.send(new PutObjectCommand({ Bucket, Key: 'copy/src', Body: source, ContentType: 'application/x-src', Metadata: { a: '1' }, Tagging: 'team=backup' }));
      const unit = s.server.units.unit(Bucket);
      const before = unit.store.stats();
      const copied = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/dst', CopySource: `${Bucket}/copy/src` }));
      t.equal(copied.CopyObjectResult?.ETag, `"${md5hex(source)}"`);
      t.equal(unit.store.stats().storedBytes, before.storedBytes, 'a copy writes no data (no chunk, no recipe node)');
      const dst = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/dst' }));
      t.same(dst.Metadata, { a: '1' }, 'COPY keeps the metadata');
      t.equal(dst.ContentType, 'application/x-src');
      const replaced = await s3.send(
        new CopyObjectCommand({ Bucket, Key: 'copy/src', CopySource: encodeURIComponent(`${Bucket}/copy/src`), MetadataDirective: 'REPLACE', Metadata: { mtime: '1700000000.5' }, ContentType: 'text/plain' }),
      );
      t.ok(replaced.CopyObjectResult?.ETag, 'a copy onto itself with REPLACE is allowed (rclone sets mtimes so)');
      const src = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/src' }));
      t.same(src.Metadata, { mtime: '1700000000.5' });
      t.equal(src.ContentType, 'text/plain');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/src', CopySource: `${Bucket}/copy/src` })), { name: 'InvalidRequest' }, 'onto itself without REPLACE');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/src`, CopySourceIfMatch: '"nope"' })), status(412));
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/src`, CopySourceIfNoneMatch: replaced.CopyObjectResult!.ETag })), status(412), 'copy-source-if-none-match');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/src`, CopySourceIfModifiedSince: new Date(Date.now() + 60_000) })), status(412), 'copy-source-if-modified-since');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/src`, CopySourceIfUnmodifiedSince: new Date(Date.now() - 3600_000) })), status(412), 'copy-source-if-unmodified-since');
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/x' })), { name: 'NotFound' }, 'no failed copy stored anything');
      const passing = await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/src`, CopySourceIfNoneMatch: '"other"', CopySourceIfModifiedSince: new Date(Date.now() - 3600_000) }));
      t.ok(passing.CopyObjectResult?.ETag, 'conditions that hold let the copy through');
      // A unit keeps S3's "null" version of each key and no other.
      t.ok((await s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/v', CopySource: `${Bucket}/copy/src?versionId=null` }))).CopyObjectResult?.ETag, 'versionId=null copies');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/v2', CopySource: `${Bucket}/copy/src?versionId=3HL4kqtJlcpXroDTDmJ` })), { name: 'NotImplemented' }, 'any other version is not there to copy');
      // The same "null" version named on the object itself: read, headed and deleted like the object.
      t.ok((await s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/v', VersionId: 'null' }))).ETag, 'HEAD with versionId=null');
      t.ok(await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'copy/v', VersionId: 'null' }))).Body), 'GET with versionId=null');
      await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'copy/v', VersionId: '3HL4kqtJlcpXroDTDmJ' })), { name: 'NotImplemented' }, 'another version is not there');
      await s3.send(new DeleteObjectCommand({ Bucket, Key: 'copy/v', VersionId: 'null' }));
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'copy/v' })), { name: 'NotFound' }, 'DELETE with versionId=null deletes it');
      await t.rejects(s3.send(new CopyObjectCommand({ Bucket, Key: 'copy/x', CopySource: `${Bucket}/copy/none` })), { name: 'NoSuchKey' });
      t.ok((await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'copy/dst' }))).Body)).equals(source));

      t.same((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'copy/dst' }))).TagSet, [{ Key: 'team', Value: 'backup' }]);
      await s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'copy/dst', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }, { Key: 'tier', Value: 'cold' }] } }));
      t.same((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'copy/dst' }))).TagSet, [{ Key: 'k', Value: 'v' }, { Key: 'tier', Value: 'cold' }]);
      await s3.send(new DeleteObjectTaggingCommand({ Bucket, Key: 'copy/dst' }));
      t.same((await s3.send(new GetObjectTaggingCommand({ Bucket, Key: 'copy/dst' }))).TagSet ?? [], []);
      await t.rejects(s3.send(new PutObjectTaggingCommand({ Bucket, Key: 'copy/dst', Tagging: { TagSet: Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: '' })) } })), { name: 'InvalidTag' });
    });

    t.test('presigned GET, and its expiry', async (t) => {
      const data = pseudoRandomBytes('presigned', 50_000);
      await s3.send(new PutObjectCommand({ Bucket, Key: 'presigned/obj', Body: data }));
      const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'presigned/obj' }), { expiresIn: 600 });
      // Fetched without credentials, over the run's transport (trusting the test's own certificate over https).
      const fetchUrl = (u: string): Promise<{ status: number; body: Buffer }> =>
        new Promise((resolve, reject) => {
          const req = (s.transport === 'https' ? httpsRequest : httpRequest)(u, { method: 'GET', ...(s.ca && { ca: s.ca }) }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (d: Buffer) => parts.push(d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
          });
          req.on('error', reject);
          req.end();
        });
      t.ok(url.startsWith(`${transport}://`), `presigned for ${transport}`);
      const res = await fetchUrl(url);
      t.equal(res.status, 200);
      t.ok(res.body.equals(data), 'a presigned GET works without credentials');
      const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'presigned/obj' }), { expiresIn: 1, signingDate: new Date(Date.now() - 3600_000) });
      const late = await fetchUrl(expired);
      t.equal(late.status, 403, 'an expired URL is refused');
      t.match(late.body.toString(), /<Code>AccessDenied<\/Code>.*expired/s);
      const tampered = url.replace('presigned%2Fobj', 'presigned%2Fother').replace('presigned/obj', 'presigned/other');
      t.equal((await fetchUrl(tampered)).status, 403, 'a URL changed after signing is refused');
      const anonymous = await fetchUrl(`${s.url}/${Bucket}/presigned/obj`);
      t.equal(anonymous.status, 403, 'anonymous requests are refused');
      t.match(anonymous.body.toString(), /<Code>AccessDenied<\/Code>/);
    });
  });
}
