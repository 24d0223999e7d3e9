import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import t, { type Test } from 'tap';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { socketBodies, socketReads } from '../../src/http/socket-body.js';
import { StreamChecksum } from '../../src/s3/checksums.js';
import { owedChecks } from '../../src/store/owed-digests.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { HttpConnection } from '../helpers/http-connection.js';
import { signedChunks, signedHead } from '../helpers/raw-s3.js';
import { unsignedChunked } from '../helpers/aws-chunked.js';
import { startS3Server, type S3TestServer } from '../helpers/s3.js';
import { signedFetch } from '../helpers/server.js';
import { signRequest } from '../../src/sigv4/signer.js';

// Large plain bodies are read from the socket, not through Node's HTTP parser
// (src/http/socket-body.ts). These hold that path to what the parser's path
// gives: the same bytes stored, the same refusals, and a connection that goes
// on to its next request, pipelined or not.

const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash('md5').update(b).digest();
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A signed PUT's head for a kept-alive connection. */
function putHead(s: S3TestServer, path: string, body: Buffer, headers: Record<string, string> = {}, payload = 'UNSIGNED-PAYLOAD'): string {
  const { head } = signedHead(s.url, 'PUT', path, s.admin, payload, { 'content-length': String(body.length), ...headers });
  return head.replace('connection: close\r\n', '');
}

function getHead(s: S3TestServer, path: string): string {
  return signedHead(s.url, 'GET', path, s.admin, 'UNSIGNED-PAYLOAD').head.replace('connection: close\r\n', '');
}

async function stored(s: S3TestServer, bucket: string, key: string): Promise<Buffer | null> {
  try {
    const r = await s.client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return null;
    throw err;
  }
}

const counts = () => ({ ...socketBodies });

/** Sends a PUT whose signatures fail, not waiting for its body to be taken: an answer that comes before the connection closes is SignatureDoesNotMatch. */
async function sendRefused(t: Test, conn: HttpConnection, put: { head: string; body: Buffer }, what = 'refused'): Promise<void> {
  await conn.write(put.head);
  conn.socket.write(put.body, () => undefined);
  const a = await conn.answer().catch(() => null);
  if (a) {
    t.equal(a.status, 403, what);
    t.match(a.body.toString(), /<Code>SignatureDoesNotMatch<\/Code>/);
  }
}

/** A PUT of `pieces` as minio-go sends it over plain HTTP: one signed aws-chunked chunk each, chained from the request's signature. */
function signedPutOf(s: S3TestServer, path: string, pieces: Buffer[]): { head: string; body: Buffer } {
  const mode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
  const lengths = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(pieces.reduce((n, p) => n + p.length, 0)) };
  const probe = signedHead(s.url, 'PUT', path, s.admin, mode, lengths);
  const length = signedChunks(pieces, probe.signature, probe.date, s.admin.secretAccessKey).length;
  const h = signedHead(s.url, 'PUT', path, s.admin, mode, { ...lengths, 'content-length': String(length) });
  return { head: h.head.replace('connection: close\r\n', ''), body: signedChunks(pieces, h.signature, h.date, s.admin.secretAccessKey) };
}


/** A server with one bucket, and a kept-alive raw connection to it, closed when the test ends. */
async function connected(t: Test, bucket: string): Promise<{ s: S3TestServer; conn: HttpConnection }> {
  const s = await startS3Server(t);
  await s.client().send(new CreateBucketCommand({ Bucket: bucket }));
  const conn = await HttpConnection.open(s.url);
  t.teardown(() => conn.close());
  return { s, conn };
}

t.test('large bodies come from the socket, byte for byte, and the connection goes on', async (t) => {
  const { s, conn } = await connected(t, 'sock');
  const before = counts();
  const readsBefore = { ...socketReads };

  // More than the stream's batch buffers hold (4 of 4 MiB): the socket must pause and resume.
  const big = pseudoRandomBytes('big', 40 * MiB + 12345);
  await conn.write(putHead(s, '/sock/big', big, { 'content-md5': md5(big).toString('base64') }));
  await conn.write(big);
  const a1 = await conn.answer();
  t.equal(a1.status, 200, a1.body.toString());
  t.equal(a1.headers.get('etag'), `"${md5(big).toString('hex')}"`, 'the ETag is the MD5 of the bytes');

  // Signed by its SHA-256, as the AWS SDK for Go signs over plain HTTP: hashed beside the MD5, across batches of odd lengths.
  await conn.write(putHead(s, '/sock/big-signed', big, {}, sha256(big)));
  await conn.write(big);
  const signed = await conn.answer();
  t.equal(signed.status, 200, signed.body.toString());
  t.ok((await stored(s, 'sock', 'big-signed'))!.equals(big));

  // A signed SHA-256 and a CRC32 checksum, on the same connection.
  const mid = pseudoRandomBytes('mid', 3 * MiB - 7);
  const c = new StreamChecksum('CRC32');
  c.update(mid);
  const crc32 = c.digest();
  await conn.write(putHead(s, '/sock/mid', mid, { 'x-amz-checksum-crc32': crc32 }, sha256(mid)));
  await conn.write(mid);
  const a2 = await conn.answer();
  t.equal(a2.status, 200, a2.body.toString());
  t.equal(a2.headers.get('x-amz-checksum-crc32'), crc32);

  // A small body after them goes through the parser as always.
  const small = pseudoRandomBytes('small', 1000);
  await conn.write(putHead(s, '/sock/small', small));
  await conn.write(small);
  t.equal((await conn.answer()).status, 200);

  // And a read on the same connection.
  await conn.write(getHead(s, '/sock/mid'));
  const got = await conn.answer();
  t.equal(got.status, 200);
  t.ok(got.body.equals(mid), 'a GET on the connection after the bodies reads them back');
  t.notOk(conn.closed, 'the connection is still open');

  t.ok((await stored(s, 'sock', 'big'))!.equals(big), 'the large body is stored byte for byte');
  t.ok((await stored(s, 'sock', 'small'))!.equals(small));
  const after = counts();
  t.equal(after.socket - before.socket, 3, 'the three large bodies were read from the socket');
  t.equal(after.abandoned - before.abandoned, 0);

  // Most reads land in the batch buffers themselves (no copy); the first of each body, and any
  // read while the stream waits for a buffer, land in the socket's own.
  const landed = socketReads.landed - readsBefore.landed;
  const buffered = socketReads.buffered - readsBefore.buffered;
  t.ok(landed > 0, `reads landed in the batch buffers (${landed} landed, ${buffered} buffered)`);

  const m = await signedFetch(s.url, 'GET', '/metrics', s.admin);
  t.match(m.text, /cairn_request_bodies_total\{read="socket"\} [1-9]/, 'the metrics count them');
  t.match(m.text, /cairn_request_body_reads_total\{into="landed"\} [1-9]/, 'and where their reads landed');
});

t.test('a request pipelined behind a large body is parsed as the next request', async (t) => {
  const { s, conn } = await connected(t, 'pipe');
  const before = counts();
  const body = pseudoRandomBytes('pipelined', 6 * MiB + 1);
  const next = pseudoRandomBytes('second', 5 * MiB);
  // Pipelined requests are served side by side (answered in order): the GET reads an object stored before.
  const earlier = pseudoRandomBytes('earlier', 100_000);
  await s.client().send(new PutObjectCommand({ Bucket: 'pipe', Key: 'zero', Body: earlier }));
  // Both requests in one write: the first body's last read must stop where the body does.
  await conn.write(Buffer.concat([Buffer.from(putHead(s, '/pipe/one', body)), body, Buffer.from(putHead(s, '/pipe/two', next)), next, Buffer.from(getHead(s, '/pipe/zero'))]));
  const first = await conn.answer();
  t.equal(first.status, 200, first.body.toString());
  t.equal(first.headers.get('etag'), `"${md5(body).toString('hex')}"`);
  const second = await conn.answer();
  t.equal(second.status, 200, second.body.toString());
  t.equal(second.headers.get('etag'), `"${md5(next).toString('hex')}"`);
  const third = await conn.answer();
  t.equal(third.status, 200);
  t.ok(third.body.equals(earlier), 'the pipelined GET is answered after them');
  t.ok((await stored(s, 'pipe', 'one'))!.equals(body));
  t.ok((await stored(s, 'pipe', 'two'))!.equals(next));
  t.equal(counts().socket - before.socket, 2);
});

t.test('Expect: 100-continue before a large body', async (t) => {
  const { s, conn } = await connected(t, 'cont');
  const body = pseudoRandomBytes('continue', 5 * MiB);
  await conn.write(putHead(s, '/cont/x', body, { expect: '100-continue' }));
  t.equal((await conn.answer()).status, 100, 'the server asks for the body');
  await conn.write(body);
  const a = await conn.answer();
  t.equal(a.status, 200, a.body.toString());
  t.ok((await stored(s, 'cont', 'x'))!.equals(body));
});

t.test('a large body refused after it was read stores nothing and keeps the connection', async (t) => {
  const { s, conn } = await connected(t, 'bad');
  const body = pseudoRandomBytes('bad', 5 * MiB);
  const wrong = md5(Buffer.from('something else')).toString('base64');
  await conn.write(putHead(s, '/bad/md5', body, { 'content-md5': wrong }));
  await conn.write(body);
  const a = await conn.answer();
  t.equal(a.status, 400);
  t.match(a.body.toString(), /<Code>BadDigest<\/Code>/);

  await conn.write(putHead(s, '/bad/sha', body, {}, sha256(Buffer.from('not the body'))));
  await conn.write(body);
  const b = await conn.answer();
  t.equal(b.status, 400);
  t.match(b.body.toString(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
  // One byte changed from the body its SHA-256 signed, past the first batch.
  const changed = Buffer.from(body);
  changed[4 * MiB + 3] ^= 1;
  await conn.write(putHead(s, '/bad/sha-changed', changed, {}, sha256(body)));
  await conn.write(changed);
  const c = await conn.answer();
  t.equal(c.status, 400);
  t.match(c.body.toString(), /<Code>XAmzContentSHA256Mismatch<\/Code>/);
  t.equal(await stored(s, 'bad', 'sha-changed'), null);

  // The whole body was read, so the same connection serves the next request.
  await conn.write(putHead(s, '/bad/good', body));
  await conn.write(body);
  t.equal((await conn.answer()).status, 200);
  t.equal(await stored(s, 'bad', 'md5'), null, 'nothing stored under the refused key');
  t.equal(await stored(s, 'bad', 'sha'), null);
  t.ok((await stored(s, 'bad', 'good'))!.equals(body));
});

t.test('a large body refused half-way (the hard quota) stores nothing; the connection is closed', async (t) => {
  const { s, conn } = await connected(t, 'full');
  s.server.units.setQuota('full', { soft: null, hard: 6 * MiB });
  const before = counts();
  const body = pseudoRandomBytes('too much', 24 * MiB);
  await conn.write(putHead(s, '/full/x', body));
  // The client keeps sending while the server refuses; it may see the answer or only the close.
  conn.socket.write(body, () => undefined);
  const answered = await conn.answer().catch(() => null);
  if (answered) t.equal(answered.status, 403, answered.body.toString());
  t.ok(await conn.closedBy(10_000), 'the server closes a connection whose body it stopped reading');
  await t.rejects(s.client().send(new HeadObjectCommand({ Bucket: 'full', Key: 'x' })), { name: 'NotFound' });
  t.equal(counts().abandoned - before.abandoned, 1, 'counted as abandoned');
  // The server goes on: a body within the quota on a new connection.
  const fits = pseudoRandomBytes('fits', 3 * MiB);
  await s.client().send(new PutObjectCommand({ Bucket: 'full', Key: 'y', Body: fits }));
  t.ok((await stored(s, 'full', 'y'))!.equals(fits));
});

t.test('a body abandoned half-way leaves no read aimed at the batch buffers other streams then use', async (t) => {
  // The refused stream's batch buffers go back to the pool while its client is
  // still sending; streams on other connections take them. Any read still aimed
  // at them would land in those streams' bytes.
  const { s, conn } = await connected(t, 'tight');
  await s.client().send(new CreateBucketCommand({ Bucket: 'roomy' }));
  s.server.units.setQuota('tight', { soft: null, hard: 5 * MiB });
  const others = Array.from({ length: 3 }, (_, i) => pseudoRandomBytes(`other ${i}`, 20 * MiB + i));
  const refused = pseudoRandomBytes('refused', 40 * MiB);
  for (let round = 0; round < 3; round++) {
    const c = round === 0 ? conn : await HttpConnection.open(s.url);
    if (round > 0) t.teardown(() => c.close());
    await c.write(putHead(s, `/tight/r${round}`, refused));
    c.socket.write(refused, () => undefined);
    const puts = others.map((b, i) => s.client().send(new PutObjectCommand({ Bucket: 'roomy', Key: `o${round}-${i}`, Body: b })));
    await c.answer().catch(() => null);
    t.ok(await c.closedBy(10_000), `round ${round}: the refused connection is closed`);
    const etags = await Promise.all(puts);
    etags.forEach((r, i) => t.equal(r.ETag, `"${md5(others[i]!).toString('hex')}"`, `round ${round}: stream ${i} hashed its own bytes`));
    for (const [i, b] of others.entries()) t.ok((await stored(s, 'roomy', `o${round}-${i}`))!.equals(b), `round ${round}: stream ${i} stored byte for byte`);
  }
});

t.test('a unit deleted while a body streams into it: the socket stops before the batch buffers go back', async (t) => {
  // Deleting the unit closes its store, which aborts the stream mid-body while
  // the client still sends. Its socket's next read may be aimed at a batch
  // buffer; streams into another unit take those buffers right after.
  const { s, conn } = await connected(t, 'doomed');
  await s.client().send(new CreateBucketCommand({ Bucket: 'keeps' }));
  const body = pseudoRandomBytes('doomed', 48 * MiB);
  const others = Array.from({ length: 3 }, (_, i) => pseudoRandomBytes(`keeps ${i}`, 16 * MiB + i));
  await conn.write(putHead(s, '/doomed/x', body));
  conn.socket.write(body, () => undefined);
  const traffic = s.server.units.unit('doomed').traffic;
  for (let i = 0; i < 500 && traffic.bytesIn < 8 * MiB; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(traffic.bytesIn >= 8 * MiB, 'the body was under way');
  const puts = others.map((b, i) => s.client().send(new PutObjectCommand({ Bucket: 'keeps', Key: `k${i}`, Body: b })));
  await s.server.units.delete('doomed', { force: true });
  await conn.answer().catch(() => null);
  t.ok(await conn.closedBy(10_000), 'the aborted body\'s connection is closed');
  const etags = await Promise.all(puts);
  etags.forEach((r, i) => t.equal(r.ETag, `"${md5(others[i]!).toString('hex')}"`, `stream ${i} hashed its own bytes`));
  for (const [i, b] of others.entries()) t.ok((await stored(s, 'keeps', `k${i}`))!.equals(b), `stream ${i} stored byte for byte`);
});

t.test('a client gone mid-body leaves nothing behind', async (t) => {
  const { s, conn } = await connected(t, 'gone');
  const before = counts();
  const body = pseudoRandomBytes('gone', 16 * MiB);
  await conn.write(putHead(s, '/gone/x', body));
  await conn.write(body.subarray(0, 9 * MiB));
  // Once the server has taken every byte sent, the client goes away.
  const traffic = s.server.units.unit('gone').traffic;
  for (let i = 0; i < 500 && traffic.bytesIn < 9 * MiB; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(traffic.bytesIn, 9 * MiB, 'the server read what was sent');
  conn.socket.destroy();
  for (let i = 0; i < 250 && counts().abandoned === before.abandoned; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(counts().abandoned - before.abandoned, 1, 'the body was abandoned');
  t.equal(counts().socket - before.socket, 0);
  await t.rejects(s.client().send(new HeadObjectCommand({ Bucket: 'gone', Key: 'x' })), { name: 'NotFound' });
  const again = pseudoRandomBytes('again', 4 * MiB);
  await s.client().send(new PutObjectCommand({ Bucket: 'gone', Key: 'x', Body: again }));
  t.ok((await stored(s, 'gone', 'x'))!.equals(again), 'the key takes a later body');
});

t.test('over HTTPS the parser reads a plain body, as before', async (t) => {
  const s = await startS3Server(t, 'https');
  await s.client().send(new CreateBucketCommand({ Bucket: 'tls' }));
  const before = counts();
  const body = pseudoRandomBytes('tls', 3 * MiB);
  const url = new URL('/tls/x', s.url);
  const headers = signRequest(
    { method: 'PUT', url, headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(body.length) } },
    { credentials: s.admin, region: 'us-east-1', service: 's3' },
  );
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(url, { method: 'PUT', headers, ca: s.ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
  t.equal(status, 200);
  t.ok((await stored(s, 'tls', 'x'))!.equals(body));
  const after = counts();
  t.equal(after.socket - before.socket, 0, 'a TLS socket is not taken over');
  t.equal(after.parser - before.parser, 1, 'the body went through the parser');
});

t.test('aws-chunked bodies from the socket: decoded read by read, every signature and trailer checked', async (t) => {
  const s = await startS3Server(t);
  await s.client().send(new CreateBucketCommand({ Bucket: 'chunks' }));
  const data = pseudoRandomBytes('chunked', 5 * MiB + 333);
  const pieces: Buffer[] = [];
  for (let o = 0; o < data.length; o += 64 * 1024) pieces.push(data.subarray(o, o + 64 * 1024));
  const decoded = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) };
  // minio-go's form over plain HTTP (Kopia, restic): every 64 KiB chunk signed, chained from the request's signature.
  const signedPut = (key: string, of = pieces): { head: string; body: Buffer } => signedPutOf(s, `/chunks/${key}`, of);
  const trailerPut = (key: string, crc32: string): { head: string; body: Buffer } => {
    const body = unsignedChunked(pieces, [['x-amz-checksum-crc32', crc32]]);
    const headers = { ...decoded, 'x-amz-trailer': 'x-amz-checksum-crc32', 'content-length': String(body.length) };
    const h = signedHead(s.url, 'PUT', `/chunks/${key}`, s.admin, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', headers);
    return { head: h.head.replace('connection: close\r\n', ''), body };
  };
  const c = new StreamChecksum('CRC32');
  c.update(data);
  const crc32 = c.digest();

  const before = counts();
  const conn = await HttpConnection.open(s.url);
  t.teardown(() => conn.close());
  const good = signedPut('signed');
  await conn.write(good.head);
  await conn.write(good.body);
  const a = await conn.answer();
  t.equal(a.status, 200, a.body.toString());
  t.equal(a.headers.get('etag'), `"${md5(data).toString('hex')}"`);

  // A wrong trailing checksum is known only at the end: the body was read whole, so the connection goes on.
  const wrong = trailerPut('wrong-trailer', crc32 === 'AAAAAA==' ? 'AAAAAQ==' : 'AAAAAA==');
  await conn.write(wrong.head);
  await conn.write(wrong.body);
  const b = await conn.answer();
  t.equal(b.status, 400);
  t.match(b.body.toString(), /<Code>BadDigest<\/Code>/);
  const right = trailerPut('trailer', crc32);
  await conn.write(right.head);
  await conn.write(right.body);
  const r = await conn.answer();
  t.equal(r.status, 200, r.body.toString());
  t.equal(r.headers.get('x-amz-checksum-crc32'), crc32, 'the trailer checksum is stored and echoed');
  t.equal(counts().socket - before.socket, 3, 'all three bodies were read from the socket');

  t.ok((await stored(s, 'chunks', 'signed'))!.equals(data), 'the decoded bytes are stored');
  t.ok((await stored(s, 'chunks', 'trailer'))!.equals(data));
  t.equal(await stored(s, 'chunks', 'wrong-trailer'), null);

  // A chunk signature flipped 4 MiB in: refused after part of the body went to the store; nothing stays.
  // The chunks are hashed beside the store's batches (OwedDigests), so a body this short may be read whole first.
  const flip = (body: Buffer): void => {
    const at = body.indexOf(';chunk-signature=', 4 * MiB) + 20;
    body[at] = body[at] === 0x30 ? 0x31 : 0x30;
  };
  const flipped = signedPut('flipped');
  flip(flipped.body);
  await sendRefused(t, conn, flipped);
  t.equal(await stored(s, 'chunks', 'flipped'), null, 'nothing stored for a flipped signature');

  // One far longer than the batches a stream may have in flight (four of 4 MiB) is refused with most of it unread.
  const long = pseudoRandomBytes('long', 40 * MiB);
  const longPieces: Buffer[] = [];
  for (let o = 0; o < long.length; o += 64 * 1024) longPieces.push(long.subarray(o, o + 64 * 1024));
  const cut = signedPut('flipped-long', longPieces);
  flip(cut.body);
  const abandoned = counts().abandoned;
  const other = await HttpConnection.open(s.url);
  t.teardown(() => other.close());
  await sendRefused(t, other, cut);
  t.ok(await other.closedBy(10_000), 'the half-read connection is closed');
  t.equal(await stored(s, 'chunks', 'flipped-long'), null, 'nothing stored for a flipped signature');
  t.equal(counts().abandoned - abandoned, 1);
});

t.test('signed chunks of any size are hashed beside the store\'s batches; a forged one, however it lies across them, is refused', async (t) => {
  const { s, conn } = await connected(t, 'signed');
  // Chunks under a block, across batch edges, and larger than a batch (4 MiB).
  const SIZES = [65_536, 65_536, 1, 5 * MiB + 7, 65_536, 17, 3 * MiB, 63, 9 * MiB + 1, 65_536, 640_000];
  const data = pseudoRandomBytes('signed sizes', SIZES.reduce((a, b) => a + b, 0));
  const pieces: Buffer[] = [];
  for (let i = 0, o = 0; i < SIZES.length; o += SIZES[i++]!) pieces.push(data.subarray(o, o + SIZES[i]!));
  const put = (key: string, body: Buffer[]): { head: string; body: Buffer } => signedPutOf(s, `/signed/${key}`, body);
  const before = { ...owedChecks };
  const good = put('good', pieces);
  await conn.write(good.head);
  await conn.write(good.body);
  const a = await conn.answer();
  t.equal(a.status, 200, a.body.toString());
  t.ok((await stored(s, 'signed', 'good'))!.equals(data), 'stored byte for byte');
  const large = SIZES.filter((n) => n >= 8192).length;
  t.equal(owedChecks.batch + owedChecks.spanning - before.batch - before.spanning, large, 'every chunk of 8 KiB or more checked by the store, once');
  t.ok(owedChecks.spanning > before.spanning, 'chunks across batches were hashed as the batches went by');
  t.ok(owedChecks.batch > before.batch, 'chunks whole in a batch were hashed beside its MD5');

  // The data of a chunk changed after it was signed: in one larger than a batch, in one whole in a batch, in the last.
  for (const [i, at] of [[3, 4 * MiB + 100], [6, 12], [10, 639_999]] as const) {
    const bad = put(`forged-${i}`, pieces);
    // Past each chunk before it: its header line (hex size, 81 bytes of signature and CRLF), its data, a CRLF.
    let o = 0;
    for (let j = 0; j < i; j++) o += SIZES[j]!.toString(16).length + 83 + SIZES[j]! + 2;
    o += SIZES[i]!.toString(16).length + 83;
    t.ok(bad.body.subarray(o, o + 64).equals(pieces[i]!.subarray(0, 64)), `chunk ${i}'s data found in the body`);
    bad.body[o + at] ^= 0x40;
    const c = await HttpConnection.open(s.url);
    await sendRefused(t, c, bad, `chunk ${i} forged`);
    c.close();
    t.equal(await stored(s, 'signed', `forged-${i}`), null, `nothing stored when chunk ${i} was forged`);
  }

  // Tiny chunks: 2 MiB of framing read from the socket, decoded to one small batch. Chunks under 8 KiB (S3's
  // least but the last) are checked by the decoder: ranges owed for them would pile up by the million.
  const tiny = pseudoRandomBytes('tiny chunks', 30_000);
  const tinyPieces = Array.from({ length: tiny.length }, (_, i) => tiny.subarray(i, i + 1));
  const tinyPut = (key: string): { head: string; body: Buffer } => signedPutOf(s, `/signed/${key}`, tinyPieces);
  const small = tinyPut('tiny');
  t.ok(small.body.length >= 2 * MiB, 'the framed body is read from the socket');
  const socketBefore = counts().socket;
  const checkedBefore = owedChecks.batch;
  await conn.write(small.head);
  await conn.write(small.body);
  const st = await conn.answer();
  t.equal(st.status, 200, st.body.toString());
  t.equal(counts().socket - socketBefore, 1);
  t.equal(owedChecks.batch - checkedBefore, 0, 'no tiny chunk left to the store');
  t.ok((await stored(s, 'signed', 'tiny'))!.equals(tiny));
  const forgedTiny = tinyPut('tiny-forged');
  forgedTiny.body[forgedTiny.body.length - 200] ^= 0x01;
  const c = await HttpConnection.open(s.url);
  await c.write(forgedTiny.head);
  await c.write(forgedTiny.body);
  const ft = await c.answer();
  c.close();
  t.equal(ft.status, 403, 'a forged tiny chunk is refused');
  t.equal(await stored(s, 'signed', 'tiny-forged'), null);
});
