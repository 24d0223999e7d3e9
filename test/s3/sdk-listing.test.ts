import { CreateBucketCommand, ListObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { startS3Server } from '../helpers/s3.js';
import { streamOf } from '../helpers/data.js';

t.test('ListObjects V1 and V2 page through everything, in UTF-8 order, with delimiters and url encoding', async (t) => {
  const s = await startS3Server(t);
  const s3 = s.client();
  const Bucket = 'listing';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const unit = s.server.units.unit(Bucket);
  const keys: string[] = [];
  for (let b = 0; b < 12; b++) for (let f = 0; f < 200; f++) keys.push(`backups/b${String(b).padStart(2, '0')}/file ${f}+x.gz`);
  // U+E000 sorts before an emoji in UTF-8 (EE.. < F0..) but after it in UTF-16 (E000 > D83D): JavaScript's own sort would fail here.
  keys.push('kopia/ns1/p0001', 'kopia/ns2/q0001', 'top-level', 'ünïcode/ключ', '\u{1F600}', '\u{E000}private');
  for (const k of keys) await unit.store.put(k, streamOf([Buffer.from('x')]));
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

  // V2, continuation tokens, 1000 a page (the S3 maximum).
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token, FetchOwner: true }));
    seen.push(...(r.Contents ?? []).map((c) => c.Key!));
    t.equal(r.KeyCount, r.Contents?.length);
    if (pages === 0) t.ok(r.Contents?.[0]?.Owner?.ID, 'fetch-owner adds the owner');
    token = r.NextContinuationToken;
    pages++;
  } while (token);
  t.equal(pages, Math.ceil(keys.length / 1000));
  t.same(seen, sorted, 'every key once, in UTF-8 byte order');

  const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: '/' }));
  t.same(top.CommonPrefixes?.map((p) => p.Prefix), ['backups/', 'kopia/', 'ünïcode/']);
  t.same(top.Contents?.map((c) => c.Key), ['top-level', '\u{E000}private', '\u{1F600}']);
  const backups = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'backups/', Delimiter: '/', MaxKeys: 5 }));
  t.same(backups.CommonPrefixes?.map((p) => p.Prefix), ['backups/b00/', 'backups/b01/', 'backups/b02/', 'backups/b03/', 'backups/b04/']);
  t.equal(backups.IsTruncated, true);
  const next = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'backups/', Delimiter: '/', ContinuationToken: backups.NextContinuationToken }));
  t.equal(next.CommonPrefixes?.[0]?.Prefix, 'backups/b05/', 'continuation after a common prefix resumes after all its keys');
  const after = await s3.send(new ListObjectsV2Command({ Bucket, StartAfter: 'kopia/ns1/p0001', MaxKeys: 2 }));
  t.same(after.Contents?.map((c) => c.Key), ['kopia/ns2/q0001', 'top-level']);
  const encoded = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'backups/b00/file 1+', EncodingType: 'url', MaxKeys: 1 }));
  t.equal(encoded.EncodingType, 'url');
  t.equal(encoded.Contents?.[0]?.Key, 'backups/b00/file%201%2Bx.gz', 'keys come back percent-encoded: space %20, plus %2B');
  // Common prefixes, the prefix and the delimiter echoed are encoded the same way (minio-go decodes all of them).
  const encodedPrefixes = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'ü', Delimiter: '/', EncodingType: 'url' }));
  t.equal(encodedPrefixes.Prefix, '%C3%BC');
  t.equal(encodedPrefixes.Delimiter, '/');
  t.same(encodedPrefixes.CommonPrefixes?.map((p) => p.Prefix), ['%C3%BCn%C3%AFcode/'], 'a common prefix comes back percent-encoded');

  // V1: marker and NextMarker, as rclone pages.
  const v1seen: string[] = [];
  let marker: string | undefined;
  do {
    const r = await s3.send(new ListObjectsCommand({ Bucket, Marker: marker, MaxKeys: 700 }));
    v1seen.push(...(r.Contents ?? []).map((c) => c.Key!));
    marker = r.IsTruncated ? (r.NextMarker ?? r.Contents?.[r.Contents.length - 1]?.Key) : undefined;
  } while (marker);
  t.same(v1seen, sorted);
  // With a delimiter S3 sends NextMarker (it may be a common prefix); clients page by it.
  const v1page = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Prefix: 'backups/', MaxKeys: 3 }));
  t.equal(v1page.IsTruncated, true);
  t.equal(v1page.NextMarker, 'backups/b02/', 'NextMarker names the last common prefix');
  const v1next = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Prefix: 'backups/', MaxKeys: 3, Marker: v1page.NextMarker }));
  t.same(v1next.CommonPrefixes?.map((p) => p.Prefix), ['backups/b03/', 'backups/b04/', 'backups/b05/'], 'and the next page starts after every key under it');
  const v1delim = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', Prefix: 'kopia/' }));
  t.same(v1delim.CommonPrefixes?.map((p) => p.Prefix), ['kopia/ns1/', 'kopia/ns2/']);
  // V1 with url encoding: keys, common prefixes, the marker and NextMarker.
  const v1encoded = await s3.send(new ListObjectsCommand({ Bucket, Prefix: 'backups/b00/file 1', Marker: 'backups/b00/file 1+x.gz', MaxKeys: 1, EncodingType: 'url' }));
  t.equal(v1encoded.EncodingType, 'url');
  t.equal(v1encoded.Marker, 'backups/b00/file%201%2Bx.gz', 'the marker is echoed encoded');
  t.equal(v1encoded.Contents?.[0]?.Key, 'backups/b00/file%2010%2Bx.gz', 'V1 keys come back percent-encoded');
  t.equal(v1encoded.NextMarker, 'backups/b00/file%2010%2Bx.gz', 'and NextMarker with them');
  const v1prefixes = await s3.send(new ListObjectsCommand({ Bucket, Delimiter: '/', EncodingType: 'url' }));
  t.same(v1prefixes.CommonPrefixes?.map((p) => p.Prefix), ['backups/', 'kopia/', '%C3%BCn%C3%AFcode/']);
  t.same(v1prefixes.Contents?.map((c) => c.Key), ['top-level', '%EE%80%80private', '%F0%9F%98%80']);
  await t.rejects(s3.send(new ListObjectsCommand({ Bucket, EncodingType: 'base64' as 'url' })), { name: 'InvalidArgument' }, 'an encoding other than url is refused');
  await t.rejects(s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: 'garbage' })), { name: 'InvalidArgument' });
});
