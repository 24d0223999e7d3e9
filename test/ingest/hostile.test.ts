import { HeadObjectCommand } from '@aws-sdk/client-s3';
import t, { type Test } from 'tap';
import { fingerprint } from '../../src/chunking/fingerprint.js';
import type { ChunkingParameters } from '../../src/chunking/parameters.js';
import { encodeFingerprints, encodeRecipe, FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../src/wire/frames.js';
import { ingestPaths } from '../../src/wire/messages.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';
import { chunkFrame, cutChunks, ingest, zstd } from '../helpers/ingest.js';
import { startS3Server, type S3TestServer } from '../helpers/s3.js';

/**
 * A client that lies, speaks the protocol badly or not at all: every case is
 * refused with a clear 4xx, and nothing it sent is stored or becomes visible.
 */

interface Ctx {
  s: S3TestServer;
  session: string;
  chunking: ChunkingParameters;
  chunks: () => number;
}

async function open(t: Test, env: Record<string, string> = {}): Promise<Ctx> {
  const s = await startS3Server(t, 'http', env);
  await s.server.units.create('movers');
  const described = await ingest(s.url, s.admin, 'GET', ingestPaths.unit('movers'));
  const opened = await ingest(s.url, s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'victim.img' } });
  t.equal(opened.status, 201);
  const store = s.server.units.unit('movers').store;
  return {
    s,
    session: (opened.json as { session: string }).session,
    chunking: (described.json as { chunking: ChunkingParameters }).chunking,
    chunks: () => store.stats().dataChunks,
  };
}

function problem(a: { status: number; json: unknown }): { status: number; type: string; detail: string } & Record<string, unknown> {
  return { ...(a.json as { type: string; detail: string }), status: a.status, type: String((a.json as { type?: string }).type).replace('urn:cairn:problem:', '') };
}

t.test('chunk frames that lie are refused whole, nothing stored', async (t) => {
  const c = await open(t);
  const good = textBytes('good', 20_000);
  const other = pseudoRandomBytes('other', 20_000);
  const send = (frame: Buffer) => ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame, unsigned: true });
  const cases: [string, Buffer, number, string][] = [
    ['a payload that does not hash to its fingerprint', chunkFrame([{ data: good, codec: 'zstd' }, { data: other, fingerprint: fingerprint(good) }]), 400, 'bad-chunk'],
    ['a zstd payload that decodes to more than its claimed length', chunkFrame([{ data: good, codec: 'zstd', rawLength: 10_000 }]), 400, 'bad-chunk'],
    ['a zstd payload that decodes to less than its claimed length', chunkFrame([{ data: good, codec: 'zstd', rawLength: 30_000 }]), 400, 'bad-chunk'],
    ['garbage claiming to be zstd', chunkFrame([{ data: good, codec: 'zstd', payload: pseudoRandomBytes('junk', 5000) }]), 400, 'bad-chunk'],
    [
      'a decompression bomb: a tiny frame claiming more than the largest chunk',
      chunkFrame([{ data: Buffer.alloc(64 << 20), codec: 'zstd', rawLength: 64 << 20 }]),
      400,
      'malformed',
    ],
    ['a raw chunk whose stored length is not its raw length', chunkFrame([{ data: good, rawLength: 19_000 }]), 400, 'malformed'],
  ];
  for (const [what, frame, status, type] of cases) {
    const a = await send(frame);
    t.equal(a.status, status, `${what}: ${status}`);
    t.equal(problem(a).type, type, `${what}: ${type} (${problem(a).detail})`);
    t.equal(c.chunks(), 0, `${what}: nothing stored`);
  }
  // The bad chunk came second: the good one before it is not stored either.
  t.equal(c.chunks(), 0);
  // An honest frame on the same session still works.
  const ok = await send(chunkFrame([{ data: good, codec: 'zstd' }, { data: other }]));
  t.equal(ok.status, 200);
  t.same(ok.json, { received: 2, stored: 2, duplicates: 0, storedBytes: zstd(good).length + other.length });
  const again = await send(chunkFrame([{ data: good, codec: 'zstd' }]));
  t.same(again.json, { received: 1, stored: 0, duplicates: 1, storedBytes: 0 }, 'a chunk sent twice is checked and not stored twice');
});

t.test('malformed, truncated and oversized frames get a clear 4xx', async (t) => {
  const c = await open(t);
  const good = chunkFrame([{ data: textBytes('g', 10_000), codec: 'zstd' }]);
  const badMagic = Buffer.from(good);
  badMagic.write('XXXX', 0);
  const badVersion = Buffer.from(good);
  badVersion.writeUInt16LE(9, 4);
  const reserved = Buffer.from(good);
  reserved.writeUInt32LE(1, 12);
  const wrongKind = encodeFingerprints(fingerprint(Buffer.from('x')));
  const cases: [string, string, Buffer, number, string][] = [
    ['a frame cut short', ingestPaths.chunks(c.session), good.subarray(0, good.length - 10), 400, 'truncated'],
    ['bytes after the last chunk', ingestPaths.chunks(c.session), Buffer.concat([good, Buffer.alloc(5)]), 400, 'malformed'],
    ['a header cut short', ingestPaths.chunks(c.session), good.subarray(0, 10), 400, 'truncated'],
    ['descriptors cut short', ingestPaths.chunks(c.session), good.subarray(0, FRAME_HEADER_BYTES + 20), 400, 'truncated'],
    ['bad magic', ingestPaths.chunks(c.session), badMagic, 400, 'bad-magic'],
    ['an unknown frame version', ingestPaths.chunks(c.session), badVersion, 400, 'unsupported-version'],
    ['reserved bytes set', ingestPaths.chunks(c.session), reserved, 400, 'malformed'],
    ['a query frame sent as chunks', ingestPaths.chunks(c.session), wrongKind, 400, 'wrong-kind'],
    ['a query cut short', ingestPaths.query(c.session), wrongKind.subarray(0, wrongKind.length - 1), 400, 'truncated'],
    ['a recipe cut short', ingestPaths.recipe(c.session), encodeRecipe(0, fingerprint(Buffer.from('x')), [1]).subarray(0, 40), 400, 'truncated'],
  ];
  for (const [what, path, frame, status, type] of cases) {
    const a = await ingest(c.s.url, c.s.admin, 'POST', path, { frame, unsigned: path.endsWith('/chunks') });
    t.equal(a.status, status, `${what}: ${status}`);
    t.equal(problem(a).type, type, `${what}: ${type} (${problem(a).detail})`);
  }
  const huge = Buffer.alloc(17 * 1024 * 1024);
  writeFrameHeader(huge, { kind: FrameKind.Chunks, count: 1, sequence: 0 });
  const tooBig = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: huge, unsigned: true });
  t.equal(tooBig.status, 413, 'a frame past the size limit: 413');
  const justOver = Buffer.alloc(16 * 1024 * 1024 + 100);
  writeFrameHeader(justOver, { kind: FrameKind.Chunks, count: 1, sequence: 0 });
  const overUnit = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: justOver, unsigned: true });
  t.equal(overUnit.status, 413, "a frame past this unit's limit (its chunks are small): 413");
  t.equal(problem(overUnit).type, 'too-large');
  const manyFps = Buffer.alloc(FRAME_HEADER_BYTES + 70_000 * 32);
  writeFrameHeader(manyFps, { kind: FrameKind.Fingerprints, count: 70_000, sequence: 0 });
  const tooMany = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.query(c.session), { frame: manyFps });
  t.equal(tooMany.status, 413, 'a query past the fingerprint limit: 413');
  const noType = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: good, unsigned: true, headers: { 'content-type': 'text/plain' } });
  t.equal(noType.status, 415, 'a frame of another media type: 415');
  t.equal(c.chunks(), 0, 'nothing stored by any of them');
});

t.test('payload hashes are held to what was signed', async (t) => {
  const c = await open(t);
  const frame = encodeFingerprints(fingerprint(Buffer.from('x')));
  const unsigned = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.query(c.session), { frame, unsigned: true });
  t.equal(unsigned.status, 400, 'UNSIGNED-PAYLOAD is for chunk frames only');
  t.equal(problem(unsigned).type, 'unsigned-payload');
  const lied = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.query(c.session), { frame, payloadHash: 'a'.repeat(64) });
  t.equal(lied.status, 400, 'a body other than the one whose hash was signed');
  t.equal(problem(lied).type, 'body-hash-mismatch');
  const anonymous = await ingest(c.s.url, null, 'GET', ingestPaths.unit('movers'));
  t.equal(anonymous.status, 403);
});

t.test('recipes naming chunks the unit lacks, with wrong lengths or out of order, are refused and the commit with them', async (t) => {
  const c = await open(t);
  const data = textBytes('recipe', 300_000);
  const chunks = cutChunks(data, c.chunking);
  t.ok(chunks.length >= 3, `${chunks.length} chunks`);
  const fps = Buffer.concat(chunks.map((x) => fingerprint(x)));
  const lengths = chunks.map((x) => x.length);
  const recipe = (seq: number, f: Buffer, l: number[]) => ingest(c.s.url, c.s.admin, 'POST', ingestPaths.recipe(c.session), { frame: encodeRecipe(seq, f, l) });

  const missing = await recipe(0, fps, lengths);
  t.equal(missing.status, 409);
  t.equal(problem(missing).type, 'missing-chunks');
  t.same((missing.json as { missing: string[] }).missing, chunks.map((x) => fingerprint(x).toString('hex')), 'the answer names the missing chunks');

  // Upload all but the last chunk: the frame naming the last is still refused whole.
  const up = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: chunkFrame(chunks.slice(0, -1).map((d) => ({ data: d, codec: 'zstd' }))), unsigned: true });
  t.equal(up.status, 200);
  const stillMissing = await recipe(0, fps, lengths);
  t.equal(stillMissing.status, 409);
  t.same((stillMissing.json as { missing: string[] }).missing, [fingerprint(chunks.at(-1)!).toString('hex')]);
  const wrongLength = await recipe(0, fps.subarray(0, 32), [lengths[0]! + 1]);
  t.equal(wrongLength.status, 400);
  t.equal(problem(wrongLength).type, 'chunk-length-mismatch');

  const first = await recipe(0, fps.subarray(0, 64), lengths.slice(0, 2));
  t.equal(first.status, 200);
  t.same(first.json, { entries: 2, bytes: lengths[0]! + lengths[1]! });
  const repeated = await recipe(0, fps.subarray(0, 64), lengths.slice(0, 2));
  t.equal(repeated.status, 409, 'a frame sent twice is out of sequence');
  t.equal((repeated.json as { expectedSequence: number }).expectedSequence, 2);

  const early = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(c.session), { json: { size: data.length, chunks: chunks.length } });
  t.equal(early.status, 409, 'a commit claiming more than the recipe received is refused');
  t.equal(problem(early).type, 'composition-mismatch');
  const notJson = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(c.session), { json: { size: 'big' } });
  t.equal(notJson.status, 400);
  await t.rejects(c.s.client().send(new HeadObjectCommand({ Bucket: 'movers', Key: 'victim.img' })), 'no object appeared');

  // The session survived every refusal: finish it honestly.
  await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: chunkFrame([{ data: chunks.at(-1)! }]), unsigned: true });
  const rest = await recipe(2, fps.subarray(64), lengths.slice(2));
  t.equal(rest.status, 200);
  const done = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(c.session), { json: { size: data.length, chunks: chunks.length } });
  t.equal(done.status, 200);
  t.equal((done.json as { size: number }).size, data.length);
  const after = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(c.session), { json: { size: data.length, chunks: chunks.length } });
  t.equal(after.status, 404, 'a committed session is gone');
});

t.test('an abandoned session leaves no object: aborted by the client, or expired', async (t) => {
  const c = await open(t, { CAIRN_INGEST_SESSION_IDLE_SECONDS: '1' });
  const data = textBytes('abandon', 50_000);
  const chunks = cutChunks(data, c.chunking);
  await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: chunkFrame(chunks.map((d) => ({ data: d }))), unsigned: true });
  await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.recipe(c.session), { frame: encodeRecipe(0, Buffer.concat(chunks.map((x) => fingerprint(x))), chunks.map((x) => x.length)) });
  const aborted = await ingest(c.s.url, c.s.admin, 'DELETE', ingestPaths.session(c.session));
  t.equal(aborted.status, 204);
  const gone = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(c.session), { json: { size: data.length, chunks: chunks.length } });
  t.equal(gone.status, 404);
  t.equal(problem(gone).type, 'no-such-session');

  const second = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'victim.img' } });
  const id = (second.json as { session: string }).session;
  await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.recipe(id), { frame: encodeRecipe(0, Buffer.concat(chunks.map((x) => fingerprint(x))), chunks.map((x) => x.length)) });
  await new Promise((r) => setTimeout(r, 2600));
  const expired = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.commit(id), { json: { size: data.length, chunks: chunks.length } });
  t.equal(expired.status, 404, 'an idle session expires');
  await t.rejects(c.s.client().send(new HeadObjectCommand({ Bucket: 'movers', Key: 'victim.img' })), 'no object from either');
  t.ok(c.chunks() > 0, 'the chunks stay for the next push to find');
});

t.test('an unknown protocol version, or a path the protocol does not have, gets a clear answer', async (t) => {
  const c = await open(t);
  const v2 = await ingest(c.s.url, c.s.admin, 'GET', '/ingest/v2/units/movers');
  t.equal(v2.status, 400);
  t.equal(problem(v2).type, 'unsupported-version');
  t.same((v2.json as { supported: number[] }).supported, [1]);
  const nothing = await ingest(c.s.url, c.s.admin, 'GET', '/ingest/v1/nothing');
  t.equal(nothing.status, 404);
  const badKey = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'a'.repeat(2000) } });
  t.equal(badKey.status, 400, 'a key S3 would refuse');
  const badMeta = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'k', userMetadata: { 'Bad Name': 'v' } } });
  t.equal(badMeta.status, 400);
  const noBody = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'));
  t.equal(noBody.status, 400);
});

t.test('keys and content types S3 would refuse are refused here too', async (t) => {
  const c = await open(t);
  for (const key of ['a/../b', './x', 'line\nbreak', 'nul\u0000', 'tab\there']) {
    const a = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key } });
    t.equal(a.status, 400, `key ${JSON.stringify(key)}: 400`);
    t.equal(problem(a).type, 'invalid-key');
  }
  for (const contentType of ['text/plain\r\nX-Injected: 1', 'caf\u00e9', 'x'.repeat(1025)]) {
    const a = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'k', contentType } });
    t.equal(a.status, 400, `content type ${JSON.stringify(contentType.slice(0, 30))}: 400`);
  }
  const fine = await ingest(c.s.url, c.s.admin, 'POST', ingestPaths.sessions('movers'), { json: { key: 'ns/ünïcode..name', contentType: 'application/x-tar; charset=binary' } });
  t.equal(fine.status, 201, 'dots inside a segment and non-ASCII keys are fine');
});

t.test('uploads without commits cannot take a unit past its hard quota', async (t) => {
  const c = await open(t);
  c.s.server.units.setQuota('movers', { soft: null, hard: 1_000_000 });
  const send = (seed: string) => {
    const chunks = cutChunks(pseudoRandomBytes(seed, 600_000), c.chunking);
    return ingest(c.s.url, c.s.admin, 'POST', ingestPaths.chunks(c.session), { frame: chunkFrame(chunks.map((d) => ({ data: d }))), unsigned: true });
  };
  t.equal((await send('first')).status, 200, 'within the quota');
  const before = c.chunks();
  const over = await send('second');
  t.equal(over.status, 403, 'the frame that would pass the hard quota is refused');
  t.equal(problem(over).type, 'quota-exceeded');
  t.equal(c.chunks(), before, 'and nothing of it stored');
});
