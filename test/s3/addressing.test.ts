import { CreateBucketCommand, GetBucketLocationCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { bodyOf, startS3Server } from '../helpers/s3.js';
import { signedFetch } from '../helpers/server.js';

t.test('virtual-hosted style with a configured domain, and the configured region', async (t) => {
  const s = await startS3Server(t, 'http', { CAIRN_DOMAIN: 's3.cairn.test', CAIRN_REGION: 'eu-central-1' });
  const path = s.client();
  await path.send(new CreateBucketCommand({ Bucket: 'hosted' }));
  t.equal((await path.send(new GetBucketLocationCommand({ Bucket: 'hosted' }))).LocationConstraint, 'eu-central-1');
  // The SDK in virtual-hosted mode puts the bucket in the host name; it resolves hosted.s3.cairn.test itself,
  // so the request goes to 127.0.0.1 with that Host header through a custom endpoint resolver.
  const port = new URL(s.url).port;
  const hosted = new S3Client({
    endpoint: `http://s3.cairn.test:${port}`,
    region: 'eu-central-1',
    forcePathStyle: false,
    credentials: s.admin,
    maxAttempts: 1,
  });
  hosted.middlewareStack.add(
    (next) => async (args) => {
      const request = (args as { request: { hostname: string; headers: Record<string, string> } }).request;
      request.headers.host = `${request.hostname}:${port}`;
      request.hostname = '127.0.0.1';
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'toLoopback' },
  );
  t.teardown(() => hosted.destroy());
  await hosted.send(new PutObjectCommand({ Bucket: 'hosted', Key: 'dir/obj', Body: 'by host name' }));
  t.equal((await bodyOf((await path.send(new GetObjectCommand({ Bucket: 'hosted', Key: 'dir/obj' }))).Body)).toString(), 'by host name', 'written by host name, read by path');
  t.equal((await bodyOf((await hosted.send(new GetObjectCommand({ Bucket: 'hosted', Key: 'dir/obj' }))).Body)).toString(), 'by host name');
  const raw = await signedFetch(s.url, 'GET', '/hosted?location', s.admin);
  t.match(raw.text, /<LocationConstraint xmlns="[^"]+">eu-central-1<\/LocationConstraint>/);
});
