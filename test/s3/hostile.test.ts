import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { sha256Hex } from '../../src/sigv4/canonical-request.js';
import { unsignedChunked } from '../helpers/aws-chunked.js';
import { pseudoRandomBytes } from '../helpers/data.js';
import { rawRequest, signedChunks, signedHead, signedTrailerChunks, type RawAnswer } from '../helpers/raw-s3.js';
import { startS3Server } from '../helpers/s3.js';

const crcB64 = (b: Buffer) => {
  const x = Buffer.alloc(4);
  x.writeUInt32BE(crc32(b));
  return x.toString('base64');
};

t.test('bad input never stores anything', async (t) => {
  const s = await startS3Server(t);
  const s3 = s.client();
  const Bucket = 'hostile';
  await s3.send(new CreateBucketCommand({ Bucket }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'keep', Body: 'kept' }));
  // The raw requests below give the server 3 s to answer. A worker's first job waits for it to
  // load its modules: about 0.1 s, but seconds under the test runner's loader hooks. A small
  // put like the one above runs no job on a worker (see HERE_BYTES); this one does.
  await s3.send(new PutObjectCommand({ Bucket, Key: 'warm', Body: pseudoRandomBytes('warm', 300_000) }));
  const unit = s.server.units.unit(Bucket);
  const before = unit.store.stats();
  const data = pseudoRandomBytes('hostile', 200_000);
  const cred = s.admin;
  const stored: string[] = [];

  /** A PUT as STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: every chunk signed, a CRC32 trailer, the trailer signed too. */
  const signedTrailerPut = (key: string, body: Buffer, crc: string, forge: boolean): Promise<RawAnswer> => {
    const mode = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(body.length), 'x-amz-trailer': 'x-amz-checksum-crc32' };
    const pieces = [body.subarray(0, 65_536), body.subarray(65_536)];
    const probe = signedHead(s.url, 'PUT', `/${Bucket}/${key}`, cred, mode, headers);
    const length = signedTrailerChunks(pieces, probe.signature, probe.date, cred.secretAccessKey, [['x-amz-checksum-crc32', crc]]).length;
    const h = signedHead(s.url, 'PUT', `/${Bucket}/${key}`, cred, mode, { ...headers, 'content-length': String(length) });
    return rawRequest(s.url, h.head, signedTrailerChunks(pieces, h.signature, h.date, cred.secretAccessKey, [['x-amz-checksum-crc32', crc]], forge));
  };
  const cases: { name: string; key: string; send: () => Promise<RawAnswer>; status: number | number[]; code?: RegExp }[] = [
    {
      name: 'a body shorter than its Content-Length (connection closed)',
      key: 'truncated',
      send: () => {
        const h = signedHead(s.url, 'PUT', `/${Bucket}/truncated`, cred, 'UNSIGNED-PAYLOAD', { 'content-length': String(data.length) });
        return rawRequest(s.url, h.head, data.subarray(0, 50_000), { endAfterBody: true });
      },
      status: [0, 400],
    },
    {
      name: 'a payload hash that does not match the body',
      key: 'sha-mismatch',
      send: () => rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/sha-mismatch`, cred, sha256Hex(Buffer.from('other')), { 'content-length': String(data.length) }).head, data),
      status: 400,
      code: /XAmzContentSHA256Mismatch/,
    },
    {
      // The server reads Content-Length bytes and no more; what follows is not this body. Either the
      // parser refuses the bytes after a request that said "connection: close" (IncompleteBody) before
      // the body is committed, or the hash of everything sent fails against what was read: nothing is stored.
      name: 'a body longer than its Content-Length, with the hash of all of it',
      key: 'longer-sha',
      send: () =>
        rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/longer-sha`, cred, sha256Hex(data), { 'content-length': String(data.length - 1000) }).head, data, { endAfterBody: true }),
      status: 400,
      code: /XAmzContentSHA256Mismatch|IncompleteBody/,
    },
    {
      name: 'a body longer than its Content-Length, with the Content-MD5 of all of it',
      key: 'longer-md5',
      send: () =>
        rawRequest(
          s.url,
          signedHead(s.url, 'PUT', `/${Bucket}/longer-md5`, cred, 'UNSIGNED-PAYLOAD', {
            'content-length': String(data.length - 1000),
            'content-md5': createHash('md5').update(data).digest('base64'),
          }).head,
          data,
          { endAfterBody: true },
        ),
      status: 400,
      code: /BadDigest|IncompleteBody/,
    },
    {
      name: 'a decoded length that lies',
      key: 'decoded-lie',
      send: () => {
        const body = unsignedChunked([data], [['x-amz-checksum-crc32', crcB64(data)]]);
        const h = signedHead(s.url, 'PUT', `/${Bucket}/decoded-lie`, cred, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', {
          'content-length': String(body.length),
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': String(data.length + 1),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        });
        return rawRequest(s.url, h.head, body);
      },
      status: 400,
      code: /IncompleteBody/,
    },
    {
      name: 'a trailer checksum that does not match',
      key: 'bad-trailer',
      send: () => {
        const body = unsignedChunked([data], [['x-amz-checksum-crc32', 'AAAAAA==']]);
        const h = signedHead(s.url, 'PUT', `/${Bucket}/bad-trailer`, cred, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', {
          'content-length': String(body.length),
          'x-amz-trailer': 'x-amz-checksum-crc32',
        });
        return rawRequest(s.url, h.head, body);
      },
      status: 400,
      code: /BadDigest/,
    },
    {
      name: 'broken chunk framing',
      key: 'bad-framing',
      send: () => {
        const body = Buffer.concat([Buffer.from('zz\r\n'), data.subarray(0, 100), Buffer.from('\r\n0\r\n\r\n')]);
        const h = signedHead(s.url, 'PUT', `/${Bucket}/bad-framing`, cred, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', { 'content-length': String(body.length) });
        return rawRequest(s.url, h.head, body);
      },
      status: 400,
      code: /IncompleteBody/,
    },
    {
      name: 'a flipped chunk signature',
      key: 'bad-chunk-sig',
      send: () => {
        const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) };
        const pieces = [data.subarray(0, 65536), data.subarray(65536)];
        const probe = signedHead(s.url, 'PUT', `/${Bucket}/bad-chunk-sig`, cred, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', headers);
        const body = signedChunks(pieces, probe.signature, probe.date, cred.secretAccessKey);
        const h = signedHead(s.url, 'PUT', `/${Bucket}/bad-chunk-sig`, cred, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { ...headers, 'content-length': String(body.length) });
        const good = signedChunks(pieces, h.signature, h.date, cred.secretAccessKey);
        const at = good.indexOf(';chunk-signature=', 70_000) + 20;
        good[at] = good[at] === 0x30 ? 0x31 : 0x30;
        return rawRequest(s.url, h.head, good);
      },
      status: 403,
      code: /SignatureDoesNotMatch/,
    },
    {
      name: 'a signed chunked body cut short',
      key: 'chunks-cut',
      send: () => {
        const headers = { 'content-encoding': 'aws-chunked', 'x-amz-decoded-content-length': String(data.length) };
        const probe = signedHead(s.url, 'PUT', `/${Bucket}/chunks-cut`, cred, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', headers);
        const full = signedChunks([data], probe.signature, probe.date, cred.secretAccessKey);
        const h = signedHead(s.url, 'PUT', `/${Bucket}/chunks-cut`, cred, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', { ...headers, 'content-length': String(full.length) });
        const body = signedChunks([data], h.signature, h.date, cred.secretAccessKey);
        return rawRequest(s.url, h.head, body.subarray(0, body.length - 200), { endAfterBody: true });
      },
      status: [0, 400],
    },
    ...[
      { name: 'a signed trailer whose checksum does not match', key: 'signed-trailer-crc', crc: 'AAAAAA==', forge: false, status: 400, code: /BadDigest/ },
      { name: 'a signed trailer whose signature does not match', key: 'signed-trailer-sig', crc: crcB64(data), forge: true, status: 403, code: /SignatureDoesNotMatch/ },
    ].map((c) => ({
      name: c.name,
      key: c.key,
      send: () => signedTrailerPut(c.key, data, c.crc, c.forge),
      status: c.status,
      code: c.code,
    })),
    {
      name: 'a key with ".." segments',
      key: 'a/../escape',
      send: () => rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/a/%2E%2E/escape`, cred, sha256Hex(data), { 'content-length': String(data.length) }).head, data),
      status: 400,
      code: /InvalidArgument/,
    },
    {
      name: 'a key with NUL',
      key: 'nul\u0000key',
      send: () => rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/nul%00key`, cred, sha256Hex(data), { 'content-length': String(data.length) }).head, data),
      status: 400,
      code: /InvalidArgument/,
    },
    {
      name: 'a key of 1025 bytes',
      key: 'k'.repeat(1025),
      send: () => rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/${'k'.repeat(1025)}`, cred, sha256Hex(data), { 'content-length': String(data.length) }).head, data),
      status: 400,
      code: /KeyTooLongError/,
    },
    {
      name: 'oversized headers',
      key: 'big-headers',
      send: () =>
        rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/big-headers`, cred, sha256Hex(data), { 'content-length': String(data.length), 'x-amz-meta-pad': 'p'.repeat(40_000) }).head, data),
      status: 431,
    },
    {
      name: 'user metadata over 2 KiB',
      key: 'big-meta',
      send: () =>
        rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/big-meta`, cred, sha256Hex(data), { 'content-length': String(data.length), 'x-amz-meta-pad': 'p'.repeat(3000) }).head, data),
      status: 400,
      code: /MetadataTooLarge/,
    },
    {
      name: 'a request signed 20 minutes ago',
      key: 'skewed',
      send: () =>
        rawRequest(s.url, signedHead(s.url, 'PUT', `/${Bucket}/skewed`, cred, sha256Hex(data), { 'content-length': String(data.length) }, new Date(Date.now() - 20 * 60_000)).head, data),
      status: 403,
      code: /RequestTimeTooSkewed/,
    },
    {
      name: 'an anonymous PUT',
      key: 'anonymous',
      send: () => rawRequest(s.url, `PUT /${Bucket}/anonymous HTTP/1.1\r\nhost: x\r\ncontent-length: ${data.length}\r\nconnection: close\r\n\r\n`, data),
      status: 403,
      code: /AccessDenied/,
    },
  ];
  for (const c of cases) {
    const r = await c.send();
    const want = Array.isArray(c.status) ? c.status : [c.status];
    t.ok(want.includes(r.status), `${c.name}: answered ${r.status} (want ${want.join(' or ')})`);
    if (c.code) t.match(r.body, c.code, `${c.name}: S3 error code`);
    if (r.status !== 0) {
      // The 431 comes from the server's client-error handler, before any route: it must carry one as well.
      const id = /\r\nx-amz-request-id: ([0-9A-F]+)\r?$/im.exec(r.head)?.[1];
      t.ok(id, `${c.name}: an x-amz-request-id header`);
      t.match(r.body, new RegExp(`<RequestId>${id}</RequestId>`), `${c.name}: the same request id in the body`);
    }
    const exists = await s3.send(new HeadObjectCommand({ Bucket, Key: c.key })).then(() => true, () => false);
    if (exists) stored.push(c.key);
  }
  t.same(stored, [], 'no bad request stored an object');
  await new Promise((r) => setTimeout(r, 200));
  const after = unit.store.stats();
  t.equal(after.logicalBytes, before.logicalBytes, 'logical bytes unchanged');
  t.equal(after.dataChunks, before.dataChunks, 'no chunk joined the index');
  t.equal(after.objects, before.objects);

  // The same form, honest: stored byte for byte, its checksum kept (and proof the refusals above were not the helper's fault).
  const honest = await signedTrailerPut('signed-trailer-ok', data, crcB64(data), false);
  t.equal(honest.status, 200, `an honest signed-trailer PUT is stored: ${honest.body.slice(0, 200)}`);
  const back = await s3.send(new GetObjectCommand({ Bucket, Key: 'signed-trailer-ok', ChecksumMode: 'ENABLED' }));
  t.equal(back.ChecksumCRC32, crcB64(data), 'with its trailer checksum');
  t.ok(Buffer.from(await back.Body!.transformToByteArray()).equals(data), 'byte for byte');

  // Bad request documents.
  const xml = async (path: string, body: string, method = 'POST') => {
    const b = Buffer.from(body);
    return rawRequest(s.url, signedHead(s.url, method, path, cred, sha256Hex(b), { 'content-length': String(b.length), 'content-type': 'application/xml' }).head, b);
  };
  t.match((await xml(`/${Bucket}?delete`, '<Delete><Object><Key>keep')).body, /MalformedXML/, 'malformed XML');
  t.match((await xml(`/${Bucket}?delete`, '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&e;</Key></Object></Delete>')).body, /MalformedXML/, 'entities are refused');
  t.match((await xml(`/${Bucket}?delete`, `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`)).body, /MalformedXML/, 'more than 1000 keys');
  t.match((await xml(`/${Bucket}?delete`, `<Delete><Object><Key>${'x'.repeat(3 * 1024 * 1024)}</Key></Object></Delete>`)).body, /InvalidRequest/, 'an oversized document');
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'doc-upload' }));
  t.match((await xml(`/${Bucket}/doc-upload?uploadId=${encodeURIComponent(upload.UploadId!)}`, '<CompleteMultipartUpload><Part><PartNumber>1')).body, /MalformedXML/, 'a malformed completion');
  t.match((await xml(`/${Bucket}/keep?tagging`, '<Tagging><TagSet><Tag><Key>k</Key>', 'PUT')).body, /MalformedXML/, 'malformed tags');
  t.equal((await s3.send(new HeadObjectCommand({ Bucket, Key: 'keep' }))).ContentLength, 4, 'and the object they named survives');
  await t.rejects(s3.send(new HeadObjectCommand({ Bucket, Key: 'doc-upload' })), { name: 'NotFound' }, 'and the upload made nothing');
});

t.test('HEAD errors carry no body, and every answer carries a request id', async (t) => {
  const s = await startS3Server(t);
  const s3 = s.client();
  const Bucket = 'heads';
  await s3.send(new CreateBucketCommand({ Bucket }));
  const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'here', Body: 'present' }));
  const ask = (method: string, path: string, headers: Record<string, string> = {}) =>
    rawRequest(s.url, signedHead(s.url, method, path, s.admin, 'UNSIGNED-PAYLOAD', headers).head, Buffer.alloc(0), { endAfterBody: true });
  const requestId = (head: string) => /\r\nx-amz-request-id: ([0-9A-F]+)\r\n/i.exec(head)?.[1];

  const missing = await ask('HEAD', `/${Bucket}/absent`);
  t.equal(missing.status, 404);
  t.equal(missing.body, '', 'a HEAD error has no body');
  t.ok(requestId(missing.head), 'but has a request id');
  const noBucket = await ask('HEAD', '/no-such-bucket');
  t.equal(noBucket.status, 404);
  t.equal(noBucket.body, '');
  const anonymous = await rawRequest(s.url, `HEAD /${Bucket}/here HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\nconnection: close\r\n\r\n`, Buffer.alloc(0), { endAfterBody: true });
  t.equal(anonymous.status, 403, 'an anonymous HEAD is refused');
  t.equal(anonymous.body, '');
  t.ok(requestId(anonymous.head));
  const notModified = await ask('GET', `/${Bucket}/here`, { 'if-none-match': put.ETag! });
  t.equal(notModified.status, 304);
  t.equal(notModified.body, '');
  t.ok(requestId(notModified.head), 'a 304 has a request id');
  const found = await ask('HEAD', `/${Bucket}/here`);
  t.equal(found.status, 200);
  t.match(found.head, /\r\ncontent-length: 7\r\n/i, 'a HEAD tells the length it does not send');
  t.equal(found.body, '');
  t.ok(requestId(found.head));
});
