import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { ChunkKind, RECORD_HEADER_BYTES } from '../../src/store/container-format.js';
import { sealedContainers } from '../helpers/containers.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { bodyOf } from '../helpers/s3.js';
import { startTestServer } from '../helpers/server.js';
import { testDir } from '../helpers/test-dir.js';

t.test('a damaged chunk in the middle of a GET cuts the answer short: never wrong bytes', async (t) => {
  const dir = testDir(t);
  const first = await startTestServer(t, {}, dir);
  const client = (url: string) => new S3Client({ endpoint: url, region: 'us-east-1', forcePathStyle: true, credentials: first.admin, maxAttempts: 1 });
  const s3 = client(first.url);
  await s3.send(new CreateBucketCommand({ Bucket: 'damaged' }));
  const data = pseudoRandomBytes('damage-over-s3', 12 * 1024 * 1024);
  await s3.send(new PutObjectCommand({ Bucket: 'damaged', Key: 'obj', Body: data }));
  s3.destroy();
  await first.server.close();

  // One byte of a chunk about two thirds into the object, in a sealed container.
  const records = sealedContainers(join(dir, 'units', 'damaged')).flatMap((c) => c.entries.filter((e) => e.kind === ChunkKind.Data).map((e) => ({ c, e })));
  const victim = records[Math.floor(records.length * 0.66)]!;
  const fd = openSync(victim.c.path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, victim.e.offset + RECORD_HEADER_BYTES + 5);
  b[0]! ^= 0xff;
  writeSync(fd, b, 0, 1, victim.e.offset + RECORD_HEADER_BYTES + 5);
  closeSync(fd);

  const second = await startTestServer(t, {}, dir);
  const s3b = client(second.url);
  t.teardown(() => s3b.destroy());
  const whole = await s3b.send(new GetObjectCommand({ Bucket: 'damaged', Key: 'obj' }));
  t.equal(whole.$metadata.httpStatusCode, 200, 'the answer starts (the damage is further in)');
  const outcome = await bodyOf(whole.Body).then(
    (bytes) => (bytes.equals(data) ? 'whole and right' : `wrong bytes (${bytes.length})`),
    (err: Error) => `cut short: ${err.message}`,
  );
  t.match(outcome, /^cut short/, `the client sees the body cut short (${outcome})`);
  const before = await s3b.send(new GetObjectCommand({ Bucket: 'damaged', Key: 'obj', Range: 'bytes=0-1048575' }));
  t.ok((await bodyOf(before.Body)).equals(data.subarray(0, 1048576)), 'a range before the damage still reads');
});
