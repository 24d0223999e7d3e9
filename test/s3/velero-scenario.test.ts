import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import t from 'tap';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';
import { bodyOf, startS3Server, type Transport } from '../helpers/s3.js';

const MiB = 1024 * 1024;

/**
 * PutObject as velero-plugin-for-aws does it: the upload manager, 5 MiB parts, 5 at a time,
 * CRC32 checksums. Over http the checksum goes in a header (lib-storage sends each part as a
 * buffer); over https the plugin's SDK sends every body, PutObject and UploadPart alike, as
 * aws-chunked with the CRC32 in a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER), as the JS SDK
 * does for a stream body. `sent` collects the payload modes the requests declared.
 */
async function veleroPut(s3: S3Client, transport: Transport, Bucket: string, Key: string, Body: Buffer): Promise<void> {
  if (transport === 'http') {
    await new Upload({ client: s3, params: { Bucket, Key, Body, ChecksumAlgorithm: 'CRC32' }, partSize: 5 * MiB, queueSize: 5 }).done();
    return;
  }
  const stream = (b: Buffer) => ({ Body: Readable.from([b]), ContentLength: b.length, ChecksumAlgorithm: 'CRC32' as const });
  if (Body.length < 5 * MiB) {
    await s3.send(new PutObjectCommand({ Bucket, Key, ...stream(Body) }));
    return;
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'CRC32' }));
  const pieces = Array.from({ length: Math.ceil(Body.length / (5 * MiB)) }, (_, i) => Body.subarray(i * 5 * MiB, (i + 1) * 5 * MiB));
  const parts: { PartNumber: number; ETag?: string; ChecksumCRC32?: string }[] = [];
  for (let i = 0; i < pieces.length; i += 5) {
    const batch = pieces.slice(i, i + 5).map(async (piece, j) => {
      const PartNumber = i + j + 1;
      const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, ...stream(piece) }));
      return { PartNumber, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32 };
    });
    parts.push(...(await Promise.all(batch)));
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
}

/** Records each request's x-amz-content-sha256 as sent. */
function payloadModes(s3: S3Client): string[] {
  const modes: string[] = [];
  s3.middlewareStack.add(
    (next) => async (args) => {
      const mode = (args.request as { headers?: Record<string, string> }).headers?.['x-amz-content-sha256'];
      if (mode) modes.push(mode);
      return next(args);
    },
    { step: 'deserialize' },
  );
  return modes;
}

/** Kopia's blob writes through minio-go: single PUTs with Content-MD5. */
async function kopiaPut(s3: S3Client, Bucket: string, Key: string, Body: Buffer): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/x-kopia', ContentMD5: createHash('md5').update(Body).digest('base64') }));
}

function backupFiles(name: string, generation: number): Record<string, Buffer> {
  // The cluster changes little between daily backups: the same resources, a little added.
  const resources = Buffer.concat([textBytes('cluster-resources', 9 * MiB), textBytes(`cluster-change-${generation}`, 100_000)]);
  return {
    [`backups/${name}/velero-backup.json`]: Buffer.from(JSON.stringify({ kind: 'Backup', metadata: { name }, generation })),
    [`backups/${name}/${name}.tar.gz`]: Buffer.concat([resources, Buffer.from(`generation ${generation}`)]),
    [`backups/${name}/${name}-logs.gz`]: gzipSync(textBytes(`${name}-logs-${generation}`, 200_000)),
    [`backups/${name}/${name}-podvolumebackups.json.gz`]: gzipSync(Buffer.from(JSON.stringify([{ pod: 'db-0', volume: 'data' }]))),
    [`backups/${name}/${name}-resource-list.json.gz`]: gzipSync(Buffer.from(JSON.stringify({ 'v1/Pod': ['ns/db-0'] }))),
    [`backups/${name}/${name}-volumesnapshots.json.gz`]: gzipSync(Buffer.from('[]')),
  };
}

for (const transport of ['http', 'https'] as Transport[]) {
  t.test(`a Velero backup location, replayed over ${transport}`, async (t) => {
    const s = await startS3Server(t, transport);
    const admin = s.client();
    const Bucket = 'velero';
    await admin.send(new CreateBucketCommand({ Bucket }));
    const key = s.server.credentials.issue('unit', [{ unit: Bucket, access: 'read-write' }], 'velero');
    const s3 = s.client(key);
    const modes = payloadModes(s3);
    const stored: Record<string, Buffer> = {};

    // Velero checks for each file first (ObjectExists is HeadObject; only a clean 404 means "no").
    await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'backups/daily-1/velero-backup.json' })), { name: 'NotFound' });
    for (const [gen, name] of [[1, 'daily-1'], [2, 'daily-2']] as const) {
      for (const [k, v] of Object.entries(backupFiles(name, gen))) {
        await veleroPut(s3, transport, Bucket, k, v);
        stored[k] = v;
      }
      // Kopia (file-system backup): 20 MiB packs, index blobs, the repository format blob.
      const ns = 'kopia/app-ns';
      if (gen === 1) {
        stored[`${ns}/kopia.repository`] = Buffer.from('{"format":"kopia"}');
        await kopiaPut(s3, Bucket, `${ns}/kopia.repository`, stored[`${ns}/kopia.repository`]!);
      }
      for (let p = 0; p < 2; p++) {
        // The second generation's packs hold mostly the same content in a new order: dedup finds it.
        const pack = Buffer.concat([pseudoRandomBytes(`pack-${(p + gen) % 3}`, 16 * MiB), pseudoRandomBytes(`pack-new-${gen}-${p}`, 4 * MiB)]);
        const k = `${ns}/p${gen}${p}abcdef0123456789`;
        await kopiaPut(s3, Bucket, k, pack);
        stored[k] = pack;
      }
      const index = `${ns}/xn${gen}_0123456789abcdef`;
      stored[index] = pseudoRandomBytes(`index-${gen}`, 70_000);
      await kopiaPut(s3, Bucket, index, stored[index]!);
      // Velero lists the bucket root every minute.
      const root = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
      t.same(root.CommonPrefixes?.map((p) => p.Prefix), ['backups/', 'kopia/']);
    }

    const st = s.server.units.info(Bucket).stats;
    t.ok(st.dedupFactor > 1.3, `the second generation deduplicated against the first: ${st.dedupFactor.toFixed(2)}x`);

    // Kopia reads packs by range, and deletes superseded ones in maintenance.
    const pack = `kopia/app-ns/p10abcdef0123456789`;
    const ranged = await s3.send(new GetObjectCommand({ Bucket, Key: pack, Range: 'bytes=1000-4095' }));
    t.ok((await bodyOf(ranged.Body)).equals(stored[pack]!.subarray(1000, 4096)), 'ranged pack read');
    const tail = await s3.send(new GetObjectCommand({ Bucket, Key: pack, Range: `bytes=${20 * MiB - 100}-` }));
    t.ok((await bodyOf(tail.Body)).equals(stored[pack]!.subarray(20 * MiB - 100)), 'open-ended range');
    await s3.send(new DeleteObjectCommand({ Bucket, Key: pack }));
    delete stored[pack];

    // Velero's listing of a backup, page by page, and of all backups by common prefix.
    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'backups/', ContinuationToken: token, MaxKeys: 4 }));
      listed.push(...(page.Contents ?? []).map((c) => c.Key!));
      token = page.NextContinuationToken;
    } while (token);
    t.same(listed.sort(), Object.keys(stored).filter((k) => k.startsWith('backups/')).sort());
    const backups = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'backups/', Delimiter: '/' }));
    t.same(backups.CommonPrefixes?.map((p) => p.Prefix), ['backups/daily-1/', 'backups/daily-2/']);

    // Every object reads back whole; downloads go through a presigned URL with a 10-minute life.
    for (const [k, v] of Object.entries(stored)) {
      const got = await s3.send(new GetObjectCommand({ Bucket, Key: k, ChecksumMode: 'ENABLED' }));
      if (!(await bodyOf(got.Body)).equals(v)) t.fail(`${k} differs`);
    }
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'backups/daily-2/daily-2.tar.gz' }), { expiresIn: 600 });
    t.match(url, /X-Amz-Expires=600/);
    const download = await new Promise<Buffer>((resolve, reject) => {
      const req = (transport === 'https' ? httpsRequest : httpRequest)(url, { method: 'GET', ...(s.ca && { ca: s.ca }) }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(parts)) : reject(new Error(`download: ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    });
    t.ok(download.equals(stored['backups/daily-2/daily-2.tar.gz']!), 'the download URL works');
    if (transport === 'https') {
      // Two backups of six files, the 9 MiB tarball in two parts: 14 bodies, each with its CRC32 in a trailer.
      const trailed = modes.filter((m) => m === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER').length;
      t.ok(trailed >= 14, `the backup files went as aws-chunked bodies with trailers (${trailed} requests)`);
    }

    t.equal((await s.server.units.unit(Bucket).store.verify()).ok, true, 'and the unit verifies clean');
  });
}
