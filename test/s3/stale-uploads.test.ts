import { CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { pseudoRandomBytes } from '../helpers/data.js';
import { startS3Server } from '../helpers/s3.js';

t.test('multipart uploads left incomplete past the limit are aborted, and their parts become garbage', async (t) => {
  // Long enough for the part to be stored on a loaded host first (the reaper won at 2 s, and once at 6 s while
  // native builds shared the host's two cores), short enough to wait out.
  const s = await startS3Server(t, 'http', { CAIRN_MULTIPART_MAX_AGE_SECONDS: '15' });
  await s.server.units.create('velero');
  const s3 = s.client();
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'velero', Key: 'abandoned.tar' }));
  await s3.send(new UploadPartCommand({ Bucket: 'velero', Key: 'abandoned.tar', UploadId, PartNumber: 1, Body: pseudoRandomBytes('part', 5 * 1024 * 1024) }));
  const unit = s.server.units.unit('velero');
  t.equal((await unit.store.estimateReclaimable()).deadChunks, 0, 'the part is live while its upload is');

  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'velero' }));
  t.equal(listed.Uploads?.length, 1);
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline && unit.store.listUploads().uploads.length > 0) await new Promise((r) => setTimeout(r, 200));
  const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'velero' }));
  t.equal(after.Uploads?.length ?? 0, 0, 'the stale upload is gone');
  await t.rejects(
    s3.send(new UploadPartCommand({ Bucket: 'velero', Key: 'abandoned.tar', UploadId, PartNumber: 2, Body: Buffer.from('late') })),
    { name: 'NoSuchUpload' },
    'a part for it is refused',
  );
  const e = await unit.store.estimateReclaimable();
  t.ok(e.deadChunks > 0 && e.liveChunks === 0, `its ${e.deadChunks} chunks are garbage now`);
});
