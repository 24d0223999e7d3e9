import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { crc32 } from 'node:zlib';
import t from 'tap';
import { pseudoRandomBytes } from '../helpers/data.js';
import { bodyOf, startS3Server, type Transport } from '../helpers/s3.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();

for (const transport of ['http', 'https'] as Transport[]) {
  t.test(`over ${transport}`, async (t) => {
    const s = await startS3Server(t, transport);
    const s3 = s.client();
    const Bucket = 'kopia-repo';
    await s3.send(new CreateBucketCommand({ Bucket }));

    t.test('lib-storage Upload: parts in flight, ETag md5-of-md5s-N, bytes round trip', async (t) => {
      const data = pseudoRandomBytes(`upload-${transport}`, 23 * MiB + 12345);
      const upload = new Upload({ client: s3, params: { Bucket, Key: 'backups/b2/b2.tar.gz', Body: Readable.from([data]) }, partSize: 5 * MiB, queueSize: 4 });
      const done = await upload.done();
      const parts = [0, 1, 2, 3, 4].map((i) => data.subarray(i * 5 * MiB, (i + 1) * 5 * MiB));
      t.equal(done.ETag, `"${md5(Buffer.concat(parts.map(md5))).toString('hex')}-5"`);
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'backups/b2/b2.tar.gz' }));
      t.ok((await bodyOf(got.Body)).equals(data), 'byte for byte');
      const part3 = await s3.send(new GetObjectCommand({ Bucket, Key: 'backups/b2/b2.tar.gz', PartNumber: 3 }));
      t.equal(part3.PartsCount, 5);
      t.equal(part3.ContentRange, `bytes ${10 * MiB}-${15 * MiB - 1}/${data.length}`);
      t.ok((await bodyOf(part3.Body)).equals(parts[2]!), 'GET with partNumber returns that part');
      await t.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'backups/b2/b2.tar.gz', PartNumber: 9 })), { name: 'InvalidPart' });
    });

    t.test('every multipart call by hand, with composite CRC32 checksums', async (t) => {
      const Key = 'manual/object';
      const create = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ContentType: 'application/x-kopia', Metadata: { m: '1' }, ChecksumAlgorithm: 'CRC32' }));
      const UploadId = create.UploadId!;
      t.equal(create.ChecksumAlgorithm, 'CRC32');
      const p1 = pseudoRandomBytes('part-1', 5 * MiB);
      const p2 = pseudoRandomBytes('part-2', 5 * MiB);
      const p3 = pseudoRandomBytes('part-3', 1234);
      const up = async (PartNumber: number, Body: Buffer) => s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body, ChecksumAlgorithm: 'CRC32' }));
      const r3 = await up(3, p3);
      const r1 = await up(1, p1);
      const r2 = await up(2, pseudoRandomBytes('stale', 5 * MiB));
      // Sent as a stream, the SDK moves the part's checksum into a trailer of an aws-chunked body (as Velero's plugin does).
      let sent: Record<string, string> = {};
      const streaming = s.client();
      streaming.middlewareStack.add(
        (next) => async (args) => {
          sent = (args.request as { headers: Record<string, string> }).headers;
          return next(args);
        },
        { step: 'deserialize' },
      );
      const r2b = await streaming.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: Readable.from([p2]), ContentLength: p2.length, ChecksumAlgorithm: 'CRC32' }));
      t.match(sent['x-amz-content-sha256'], /^STREAMING-.*TRAILER$/, `the part came with a trailer (${sent['x-amz-content-sha256']})`);
      t.equal(sent['x-amz-trailer'], 'x-amz-checksum-crc32');
      t.not(r2.ETag, r2b.ETag, 'a part uploaded again replaces the first');
      t.ok(r1.ChecksumCRC32, 'part checksums are echoed');
      const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
      t.same(listed.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MiB], [2, 5 * MiB], [3, 1234]]);
      t.equal(listed.Parts?.[0]?.ChecksumCRC32, r1.ChecksumCRC32);
      const page = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId, MaxParts: 1, PartNumberMarker: '1' }));
      t.same(page.Parts?.map((p) => p.PartNumber), [2]);
      t.equal(page.IsTruncated, true);
      const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket }));
      t.same(uploads.Uploads?.map((u) => [u.Key, u.UploadId]), [[Key, UploadId]]);

      await t.rejects(
        s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 2, ETag: r2b.ETag }, { PartNumber: 1, ETag: r1.ETag }] } })),
        { name: 'InvalidPartOrder' },
      );
      await t.rejects(
        s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: r2.ETag }] } })),
        { name: 'InvalidPart' },
        'an ETag that is not the part uploaded',
      );
      await t.rejects(
        s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 3, ETag: r3.ETag }, { PartNumber: 4, ETag: r3.ETag }] } })),
        { name: 'InvalidPart' },
      );
      const done = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: r1.ETag, ChecksumCRC32: r1.ChecksumCRC32 },
              { PartNumber: 2, ETag: r2b.ETag, ChecksumCRC32: r2b.ChecksumCRC32 },
              { PartNumber: 3, ETag: r3.ETag, ChecksumCRC32: r3.ChecksumCRC32 },
            ],
          },
        }),
      );
      t.match(done.ChecksumCRC32, /^[A-Za-z0-9+/]{6}==-3$/, 'a composite checksum, dash, part count');
      // S3's composite: the CRC32 of the parts' CRC32s end to end (worked out here with zlib, not ours).
      const crc = (b: Buffer): Buffer => {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(crc32(b));
        return out;
      };
      t.equal(done.ChecksumCRC32, `${crc(Buffer.concat([p1, p2, p3].map(crc))).toString('base64')}-3`, 'and its value is right');
      const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      t.ok((await bodyOf(got.Body)).equals(Buffer.concat([p1, p2, p3])));
      t.equal(got.ChecksumCRC32, done.ChecksumCRC32, 'returned on GET; the SDK does not check a composite against the bytes');
      t.same(got.Metadata, { m: '1' });
      t.equal(got.ContentType, 'application/x-kopia');
      t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket }))).Uploads, undefined, 'the upload is gone');
    });

    t.test('ListMultipartUploads pages by key and upload id, and groups by prefix and delimiter', async (t) => {
      // A bucket of its own: the other subtests' uploads would land in these pages.
      const B = 'uploads-listing';
      await s3.send(new CreateBucketCommand({ Bucket: B }));
      const keys = ['c', 'a/2', 'b/x', 'a/1', 'a/2', 'd'];
      const made: [string, string][] = [];
      for (const Key of keys) made.push([Key, (await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key }))).UploadId!]);
      const seen: [string, string][] = [];
      let pages = 0;
      let marker: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, MaxUploads: 2, ...marker }));
        pages++;
        seen.push(...(page.Uploads ?? []).map((u): [string, string] => [u.Key!, u.UploadId!]));
        if (!page.IsTruncated) break;
        t.ok(page.NextKeyMarker && page.NextUploadIdMarker, 'a truncated page says where the next begins');
        marker = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
      t.equal(pages, 3, 'six uploads, two a page');
      t.same(seen.map(([k]) => k), [...keys].sort(), 'every upload once, in key order, across pages (two on one key split between them)');
      t.same(new Set(seen.map(([, id]) => id)), new Set(made.map(([, id]) => id)));
      const grouped = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Delimiter: '/' }));
      t.same(grouped.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/']);
      t.same(grouped.Uploads?.map((u) => u.Key), ['c', 'd']);
      const prefixed = await s3.send(new ListMultipartUploadsCommand({ Bucket: B, Prefix: 'a/' }));
      t.same(prefixed.Uploads?.map((u) => u.Key), ['a/1', 'a/2', 'a/2']);
      for (const [Key, UploadId] of made) await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key, UploadId }));
      t.equal((await s3.send(new ListMultipartUploadsCommand({ Bucket: B }))).Uploads, undefined, 'none once aborted');
    });

    t.test('full-object CRC64NVME, EntityTooSmall, abort, UploadPartCopy', async (t) => {
      const Key = 'full/object';
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'CRC64NVME', ChecksumType: 'FULL_OBJECT' }));
      const a = pseudoRandomBytes('full-a', 5 * MiB);
      const b = pseudoRandomBytes('full-b', 777);
      const ra = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: a, ChecksumAlgorithm: 'CRC64NVME' }));
      const rb = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: b, ChecksumAlgorithm: 'CRC64NVME' }));
      const parts = { Parts: [{ PartNumber: 1, ETag: ra.ETag }, { PartNumber: 2, ETag: rb.ETag }] };
      // A whole-object checksum that does not match what the parts combine to: refused, and the upload stays to be completed.
      await t.rejects(s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: parts, ChecksumCRC64NVME: 'AAAAAAAAAAA=' })), { name: 'BadDigest' });
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key })), { name: 'NotFound' }, 'nothing stored');
      const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: parts }));
      const whole = await s3.send(new PutObjectCommand({ Bucket, Key: 'full/single', Body: Buffer.concat([a, b]), ChecksumAlgorithm: 'CRC64NVME' }));
      t.equal(done.ChecksumCRC64NVME, whole.ChecksumCRC64NVME, 'the full-object CRC combined from the parts equals the CRC of the whole');
      const got = await s3.send(new GetObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
      t.ok((await bodyOf(got.Body)).equals(Buffer.concat([a, b])), 'and the SDK checked the bytes against it');

      const small = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'small-parts' }));
      const s1 = await s3.send(new UploadPartCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId, PartNumber: 1, Body: 'tiny' }));
      const s2 = await s3.send(new UploadPartCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId, PartNumber: 2, Body: 'also tiny' }));
      await t.rejects(
        s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] } })),
        { name: 'EntityTooSmall' },
      );
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId }));
      await t.rejects(s3.send(new ListPartsCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId })), { name: 'NoSuchUpload' });
      await t.rejects(s3.send(new AbortMultipartUploadCommand({ Bucket, Key: 'small-parts', UploadId: small.UploadId })), { name: 'NoSuchUpload' });
      await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'small-parts' })), { name: 'NotFound' });

      // UploadPartCopy: a whole object (shared, no data) and a range of one (streamed).
      const source = pseudoRandomBytes('copy-src', 6 * MiB);
      await s3.send(new PutObjectCommand({ Bucket, Key: 'copy/source', Body: source }));
      const c = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'copy/assembled' }));
      const c1 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/assembled', UploadId: c.UploadId, PartNumber: 1, CopySource: `${Bucket}/copy/source` }));
      const c2 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/assembled', UploadId: c.UploadId, PartNumber: 2, CopySource: `${Bucket}/copy/source`, CopySourceRange: 'bytes=100-199' }));
      t.equal(c1.CopyPartResult?.ETag, `"${md5(source).toString('hex')}"`);
      t.equal(c2.CopyPartResult?.ETag, `"${md5(source.subarray(100, 200)).toString('hex')}"`);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'copy/assembled',
          UploadId: c.UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: c1.CopyPartResult?.ETag }, { PartNumber: 2, ETag: c2.CopyPartResult?.ETag }] },
        }),
      );
      const assembled = await bodyOf((await s3.send(new GetObjectCommand({ Bucket, Key: 'copy/assembled' }))).Body);
      t.ok(assembled.equals(Buffer.concat([source, source.subarray(100, 200)])));

      // Copied parts of an upload created with a checksum carry theirs (the completion needs every part's).
      const crcOf = (b: Buffer): string => {
        const v = Buffer.alloc(4);
        v.writeUInt32BE(crc32(b));
        return v.toString('base64');
      };
      const k = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'copy/checksummed', ChecksumAlgorithm: 'CRC32' }));
      const k1 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/checksummed', UploadId: k.UploadId, PartNumber: 1, CopySource: `${Bucket}/copy/source` }));
      const k2 = await s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/checksummed', UploadId: k.UploadId, PartNumber: 2, CopySource: `${Bucket}/copy/source`, CopySourceRange: 'bytes=5-4000' }));
      t.equal(k1.CopyPartResult?.ChecksumCRC32, crcOf(source), 'a whole object copied: its CRC32');
      t.equal(k2.CopyPartResult?.ChecksumCRC32, crcOf(source.subarray(5, 4001)), 'a range copied: the range\'s');
      await t.rejects(
        s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/checksummed', UploadId: k.UploadId, PartNumber: 3, CopySource: `${Bucket}/copy/source`, CopySourceRange: `bytes=0-${6 * MiB}` })),
        { name: 'InvalidRange' },
        'a range past the source\'s end',
      );
      await t.rejects(
        s3.send(new UploadPartCopyCommand({ Bucket, Key: 'copy/checksummed', UploadId: k.UploadId, PartNumber: 3, CopySource: `${Bucket}/copy/source`, CopySourceRange: 'bytes=10-' })),
        { name: 'InvalidArgument' },
        'a range that is not first-last',
      );
      const kDone = await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'copy/checksummed',
          UploadId: k.UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: k1.CopyPartResult?.ETag, ChecksumCRC32: k1.CopyPartResult?.ChecksumCRC32 },
              { PartNumber: 2, ETag: k2.CopyPartResult?.ETag, ChecksumCRC32: k2.CopyPartResult?.ChecksumCRC32 },
            ],
          },
        }),
      );
      const composite = Buffer.alloc(4);
      composite.writeUInt32BE(crc32(Buffer.concat([Buffer.from(crcOf(source), 'base64'), Buffer.from(crcOf(source.subarray(5, 4001)), 'base64')])));
      t.equal(kDone.ChecksumCRC32, `${composite.toString('base64')}-2`, 'the composite of the copied parts\' checksums');
      const checked = await s3.send(new GetObjectCommand({ Bucket, Key: 'copy/checksummed' }));
      t.ok((await bodyOf(checked.Body)).equals(Buffer.concat([source, source.subarray(5, 4001)])), 'byte for byte');
    });
  });
}
