import { createHash } from 'node:crypto';
import t from 'tap';
import { partRange, PARTS_METADATA, runLengths } from '../../src/store/multipart.js';
import { collect, pseudoRandomBytes, streamOf } from '../helpers/data.js';
import { openTestStore } from '../helpers/store.js';

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest();

t.test('parts upload in any order, dedup, and compose into one object, re-cutting only the seams', async (t) => {
  const { store } = await openTestStore(t);
  const parts = [pseudoRandomBytes('p1', 600_000), pseudoRandomBytes('p2', 600_000), pseudoRandomBytes('p3', 123_457)];
  const up = store.createUpload('big/object', { contentType: 'application/x-tar', userMetadata: { a: 'b' } });
  // Out of order and concurrently, with part 2 uploaded twice (the second wins).
  await Promise.all([
    store.putPart(up.uploadId, 3, streamOf([parts[2]!])),
    store.putPart(up.uploadId, 1, streamOf([parts[0]!])),
    store.putPart(up.uploadId, 2, streamOf([pseudoRandomBytes('stale', 600_000)])),
  ]);
  const p2 = await store.putPart(up.uploadId, 2, streamOf([parts[1]!]));
  t.equal(p2.etag, md5(parts[1]!).toString('hex'));
  const listed = store.listParts(up.uploadId);
  t.same(listed.parts.map((p) => [p.partNumber, p.size]), [[1, 600_000], [2, 600_000], [3, 123_457]]);
  t.same(store.listParts(up.uploadId, 1, 1).parts.map((p) => p.partNumber), [2]);
  t.equal(store.listParts(up.uploadId, 1, 1).isTruncated, true);

  const before = store.stats();
  const info = await store.completeUpload(up.uploadId, [1, 2, 3].map((n) => ({ partNumber: n, etag: `"${md5(parts[n - 1]!).toString('hex')}"` })), { minPartSize: 500_000 });
  const whole = Buffer.concat(parts);
  t.equal(info.size, whole.length);
  t.equal(info.etag, `${md5(Buffer.concat(parts.map(md5))).toString('hex')}-3`, 'ETag is the MD5 of the part MD5s, dash, count');
  const seams = store.stats().uniqueBytes - before.uniqueBytes;
  t.ok(seams > 0 && seams < 2 * 64 * 1024, `completing stored only the two seams re-cut (${seams} bytes), not the parts`);
  t.ok((await collect((await store.get('big/object')).body)).equals(whole));
  const head = await store.head('big/object');
  t.same(head.userMetadata, { a: 'b' });
  t.equal(head.contentType, 'application/x-tar');
  const runs = JSON.parse(head.systemMetadata[PARTS_METADATA]!) as [number, number][];
  t.same(runs, [[600_000, 2], [123_457, 1]]);
  t.same(partRange(runs, 2), { start: 600_000, end: 1_200_000, count: 3 });
  t.same(partRange(runs, 3), { start: 1_200_000, end: 1_323_457, count: 3 });
  t.equal(partRange(runs, 4), undefined);
  t.throws(() => store.listParts(up.uploadId), { code: 'NoSuchUpload' }, 'the upload is gone once complete');
  t.equal((await store.verify()).ok, true);
});

t.test('completion rules', async (t) => {
  const { store } = await openTestStore(t);
  const up = store.createUpload('k');
  await store.putPart(up.uploadId, 1, streamOf([pseudoRandomBytes('r1', 10_000)]));
  await store.putPart(up.uploadId, 2, streamOf([pseudoRandomBytes('r2', 10_000)]));
  await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 2 }, { partNumber: 1 }]), { code: 'InvalidPartOrder' });
  await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 1 }, { partNumber: 1 }]), { code: 'InvalidPartOrder' });
  await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 1 }, { partNumber: 3 }]), { code: 'InvalidPart' });
  await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 1, etag: '"00000000000000000000000000000000"' }]), { code: 'InvalidPart' });
  await t.rejects(store.completeUpload(up.uploadId, [{ partNumber: 1 }, { partNumber: 2 }], { minPartSize: 5 * 1024 * 1024 }), { code: 'EntityTooSmall' });
  await t.rejects(store.completeUpload(up.uploadId, []), { code: 'InvalidPart' });
  await t.rejects(store.completeUpload('no-such-upload', [{ partNumber: 1 }]), { code: 'NoSuchUpload' });
  await t.rejects(store.head('k'), { code: 'NoSuchKey' }, 'no refused completion made an object');
  // A subset of the parts is a valid object.
  const info = await store.completeUpload(up.uploadId, [{ partNumber: 2 }]);
  t.equal(info.size, 10_000);
  t.ok(info.etag.endsWith('-1'));
});

t.test('abort, list uploads, and a part that shares a whole object', async (t) => {
  const { store } = await openTestStore(t);
  const ids = ['a/1', 'a/2', 'a/2', 'b/x', 'c'].map((k) => store.createUpload(k));
  t.same(store.listUploads().uploads.map((u) => u.key), ['a/1', 'a/2', 'a/2', 'b/x', 'c']);
  const grouped = store.listUploads({ delimiter: '/' });
  t.same(grouped.commonPrefixes, ['a/', 'b/']);
  t.same(grouped.uploads.map((u) => u.key), ['c']);
  t.same(store.listUploads({ prefix: 'a/' }).uploads.map((u) => u.key), ['a/1', 'a/2', 'a/2']);
  const page = store.listUploads({ limit: 2 });
  t.equal(page.isTruncated, true);
  const rest = store.listUploads({ keyMarker: page.nextKeyMarker, uploadIdMarker: page.nextUploadIdMarker });
  t.same([...page.uploads, ...rest.uploads].map((u) => u.uploadId).sort(), ids.map((u) => u.uploadId).sort(), 'paging covers every upload once');

  store.abortUpload(ids[0]!.uploadId);
  t.throws(() => store.abortUpload(ids[0]!.uploadId), { code: 'NoSuchUpload' });
  await t.rejects(store.putPart(ids[0]!.uploadId, 1, streamOf([Buffer.from('late')])), { code: 'NoSuchUpload' });

  const source = pseudoRandomBytes('share', 400_000);
  await store.put('source', streamOf([source]));
  const before = store.stats();
  const shared = store.sharePart(ids[3]!.uploadId, 1, 'source');
  t.equal(shared.etag, md5(source).toString('hex'));
  await store.putPart(ids[3]!.uploadId, 2, streamOf([Buffer.from('tail')]));
  await store.completeUpload(ids[3]!.uploadId, [{ partNumber: 1 }, { partNumber: 2 }]);
  const whole = Buffer.concat([source, Buffer.from('tail')]);
  t.ok((await collect((await store.get('b/x')).body)).equals(whole));
  const added = store.stats().uniqueBytes - before.uniqueBytes;
  t.ok(added > 4 && added <= 16 * 1024 + 4, `only the tail and the shared object's last chunk, re-cut with it, were stored (${added} bytes)`);
  const settled = store.stats().uniqueBytes;
  await store.put('same-bytes', streamOf([whole]));
  t.equal(store.stats().uniqueBytes, settled, 'one stream of the same bytes adds nothing: the seam is cut where it would cut it');
});

t.test('runLengths', async (t) => {
  t.same(runLengths([5, 5, 5, 2]), [[5, 3], [2, 1]]);
  t.same(runLengths([]), []);
});
