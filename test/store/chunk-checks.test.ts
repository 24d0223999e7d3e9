import t from 'tap';
import { FINGERPRINT_BYTES, fingerprint } from '../../src/chunking/fingerprint.js';
import { ChunkCodec, Codec } from '../../src/compute/codec.js';
import { ChunkKind, RECORD_HEADER_BYTES, readRecordHeader } from '../../src/store/container-format.js';
import { ADMIT_FIELDS } from '../../src/store/store-jobs.js';
import { CorruptRecordError, StoreCompute } from '../../src/store/store-compute.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';

// Workers check chunk fingerprints a batch at a time, side by side. Whatever
// the batching, the chunk reported is the first bad one by position, and a
// bad chunk is never let through.

const compute = StoreCompute.create(2);
t.teardown(() => compute.pool.close());

interface Offered {
  data: Buffer;
  /** Stored zstd-compressed (else raw). */
  zstd?: boolean;
  /** The fingerprint the sender claims, if not the data's own. */
  claimed?: Buffer;
  /** A payload that does not decode. */
  garbage?: boolean;
  keep?: boolean;
}

const codec = new ChunkCodec(1);

/** A frame of fingerprints then payloads, and the admit fields the server would derive from it. */
function offer(chunks: Offered[]): { frame: Buffer; fields: Uint32Array } {
  const payloads = chunks.map((c) => {
    if (c.garbage) return { codec: Codec.Zstd, bytes: pseudoRandomBytes('garbage', 3_000) };
    if (!c.zstd) return { codec: Codec.Raw, bytes: c.data };
    const out = Buffer.alloc(c.data.length + 1024);
    const r = codec.encodeInto(c.data, out, 0);
    return { codec: r.codec, bytes: out.subarray(0, r.length) };
  });
  const frame = Buffer.alloc(chunks.length * FINGERPRINT_BYTES + payloads.reduce((a, p) => a + p.bytes.length, 0));
  const fields = new Uint32Array(chunks.length * ADMIT_FIELDS);
  let at = chunks.length * FINGERPRINT_BYTES;
  chunks.forEach((c, i) => {
    (c.claimed ?? fingerprint(c.data)).copy(frame, i * FINGERPRINT_BYTES);
    payloads[i]!.bytes.copy(frame, at);
    fields.set([i * FINGERPRINT_BYTES, c.data.length, payloads[i]!.bytes.length, payloads[i]!.codec, at, c.keep === false ? 0 : 1], i * ADMIT_FIELDS);
    at += payloads[i]!.bytes.length;
  });
  return { frame, fields };
}

const chunk = (i: number, size = 20_000 + 977 * i): Buffer => (i % 2 ? textBytes(`c${i}`, size) : pseudoRandomBytes(`c${i}`, size));

async function refusal(p: Promise<unknown>): Promise<CorruptRecordError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof CorruptRecordError) return err;
    throw err;
  }
  throw new Error('the job was accepted');
}

t.test('admit: good chunks become records of the kept ones only', async (t) => {
  const chunks: Offered[] = Array.from({ length: 9 }, (_, i) => ({ data: chunk(i), zstd: i % 3 !== 0, keep: i !== 4 }));
  const { frame, fields } = offer(chunks);
  const records = Buffer.from(await compute.admit(frame, fields));
  let o = 0;
  for (const c of chunks.filter((c) => c.keep !== false)) {
    const h = readRecordHeader(records, o);
    t.same(h.fingerprint, fingerprint(c.data));
    t.equal(h.rawLength, c.data.length);
    t.equal(h.kind, ChunkKind.Data);
    o += RECORD_HEADER_BYTES + h.storedLength;
  }
  t.equal(o, records.length, 'nothing else in the records');
});

t.test('admit: the first bad chunk by position is reported, whichever check finds it', async (t) => {
  const base = (): Offered[] => Array.from({ length: 8 }, (_, i) => ({ data: chunk(i), zstd: true }));
  const lying = base();
  lying[3]!.claimed = fingerprint(chunk(99));
  lying[5]!.garbage = true;
  const a = await refusal(compute.admit(...Object.values(offer(lying)) as [Buffer, Uint32Array]));
  t.equal(a.index, 3, 'a wrong fingerprint before an undecodable payload');
  t.match(a.message, /hash to its fingerprint/);
  const broken = base();
  broken[2]!.garbage = true;
  broken[6]!.claimed = fingerprint(chunk(99));
  const b = await refusal(compute.admit(...Object.values(offer(broken)) as [Buffer, Uint32Array]));
  t.equal(b.index, 2, 'an undecodable payload before a wrong fingerprint');
  t.match(b.message, /does not decode/);
  const last = base();
  last[7]!.claimed = fingerprint(chunk(99));
  t.equal((await refusal(compute.admit(...Object.values(offer(last)) as [Buffer, Uint32Array]))).index, 7, 'the last chunk');
});

t.test('admit: frames of many scratch groups report the bad chunk by its place in the frame', async (t) => {
  // 100 chunks of 128 KiB: twelve 1 MiB groups and a bit, the bad one well past the first.
  const chunks: Offered[] = Array.from({ length: 100 }, (_, i) => ({ data: chunk(i, 131_072), zstd: i % 2 === 0 }));
  const { frame, fields } = offer(chunks);
  t.ok((await compute.admit(frame, fields)).length > 0, 'all good');
  chunks[83]!.claimed = fingerprint(chunk(1));
  chunks[90]!.garbage = true;
  const again = offer(chunks);
  t.equal((await refusal(compute.admit(again.frame, again.fields))).index, 83);
});

/** The records of chunks as encode writes them (fingerprints as given), and their decode arguments. */
async function span(datas: Buffer[], fps: Buffer[]): Promise<{ span: Uint8Array; records: Uint32Array; total: number }> {
  const total = datas.reduce((a, d) => a + d.length, 0);
  const data = new Uint8Array(new SharedArrayBuffer(total));
  const chunks = new Uint32Array(2 * datas.length);
  let o = 0;
  datas.forEach((d, i) => {
    data.set(d, o);
    chunks.set([o, d.length], 2 * i);
    o += d.length;
  });
  const out = new Uint8Array(new SharedArrayBuffer(total + datas.length * (RECORD_HEADER_BYTES + 1024)));
  const r = await compute.encode(data, chunks, Buffer.concat(fps), ChunkKind.Data, 1, out);
  const records = new Uint32Array(2 * datas.length);
  let at = 0;
  datas.forEach((d, i) => {
    records.set([at, d.length], 2 * i);
    at += RECORD_HEADER_BYTES + r.storedLengths[i]!;
  });
  return { span: out.subarray(0, r.length), records, total };
}

t.test('decode: with fingerprints checked, the first bad record by position is reported', async (t) => {
  const datas = Array.from({ length: 10 }, (_, i) => chunk(i));
  const fps = datas.map((d) => fingerprint(d));
  const good = await span(datas, fps);
  const out = new Uint8Array(new SharedArrayBuffer(good.total));
  t.equal(await compute.decode(good.span, good.records, Buffer.concat(fps), true, out), good.total);
  t.same(Buffer.from(out), Buffer.concat(datas), 'decoded end to end');

  // A record written under a fingerprint its bytes do not have: header and checksum agree, the hash does not.
  const wrong = fps.slice();
  wrong[4] = fingerprint(chunk(99));
  const bad = await span(datas, wrong);
  const expected = Buffer.concat(wrong);
  t.equal(await compute.decode(bad.span, bad.records, expected, false, out), bad.total, 'unchecked, it reads');
  const a = await refusal(compute.decode(bad.span, bad.records, expected, true, out));
  t.equal(a.index, 4);
  t.match(a.message, /hash to its fingerprint/);

  // A damaged payload after it does not hide it; one before it is reported first.
  const flip = (s: Uint8Array, i: number): Uint8Array => {
    const copy = new Uint8Array(new SharedArrayBuffer(s.length));
    copy.set(s);
    copy[bad.records[2 * i]! + RECORD_HEADER_BYTES + 10]! ^= 0xff;
    return copy;
  };
  t.equal((await refusal(compute.decode(flip(bad.span, 7), bad.records, expected, true, out))).index, 4, 'damage after');
  const before = await refusal(compute.decode(flip(bad.span, 2), bad.records, expected, true, out));
  t.equal(before.index, 2, 'damage before');
  t.match(before.message, /checksum/);
});

t.test('verify: every record judged on its own, across many check groups', async (t) => {
  // 40 chunks of up to 128 KiB: several 1 MiB groups.
  const datas = Array.from({ length: 40 }, (_, i) => chunk(i, 60_000 + ((i * 7919) % 70_000)));
  const fps = datas.map((d) => fingerprint(d));
  fps[5] = fingerprint(chunk(99)); // written under a fingerprint its bytes do not have
  fps[33] = fingerprint(chunk(98));
  const s = await span(datas, fps);
  const damaged = Buffer.from(s.span);
  damaged[s.records[2 * 20]! + RECORD_HEADER_BYTES + 5]! ^= 0xff; // a payload byte: its checksum fails
  const offsets = Array.from({ length: datas.length }, (_, i) => s.records[2 * i]!);
  const results = await compute.verify(damaged, offsets);
  t.equal(results.length, datas.length);
  for (const [i, r] of results.entries()) {
    if (i === 5 || i === 33) t.match(r, { ok: false, reason: /hash to its fingerprint/ }, `record ${i}`);
    else if (i === 20) t.match(r, { ok: false, reason: /checksum/ }, `record ${i}`);
    else t.match(r, { ok: true, reason: undefined, rawLength: datas[i]!.length, fingerprint: fps[i]!.toString('hex') }, `record ${i}`);
  }
});
