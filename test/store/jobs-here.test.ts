import { createHash } from 'node:crypto';
import t from 'tap';
import { fingerprintAll } from '../../src/chunking/fingerprint.js';
import { ChunkKind } from '../../src/store/container-format.js';
import { HERE_BYTES, StoreCompute } from '../../src/store/store-compute.js';
import { pseudoRandomBytes, textBytes } from '../helpers/data.js';

/** Cuts every `size` bytes, as [end...] and as [start, length...]. */
function cutsOf(length: number, size: number): { ends: Uint32Array; spans: Uint32Array } {
  const ends: number[] = [];
  for (let at = size; at < length + size; at += size) ends.push(Math.min(at, length));
  const spans = ends.flatMap((end, i) => [i === 0 ? 0 : ends[i - 1]!, end - (i === 0 ? 0 : ends[i - 1]!)]);
  return { ends: Uint32Array.from(ends), spans: Uint32Array.from(spans) };
}

const outFor = (compute: StoreCompute, bytes: number): Uint8Array => new Uint8Array(new SharedArrayBuffer(compute.slots.outputFor(bytes, 1024)));

// A small stream's jobs (at most HERE_BYTES) run on the calling thread: they
// must give exactly what a worker gives for the same bytes.
t.test('small jobs run here and give what a worker gives', async (t) => {
  const compute = StoreCompute.create(2);
  t.teardown(() => compute.pool.close());
  const small = Buffer.concat([pseudoRandomBytes('here-small', 30_000), textBytes('here-text', 30_000)]);
  t.ok(small.length <= HERE_BYTES);
  // The same chunks, then enough more that the job goes to a worker.
  const large = Buffer.concat([small, pseudoRandomBytes('here-more', 3 * HERE_BYTES)]);
  const s = cutsOf(small.length, 6_000);
  const l = cutsOf(large.length, 6_000);

  const fpsHere = await compute.fingerprints(small, s.ends, true);
  const fpsThere = await compute.fingerprints(large, l.ends);
  t.ok(fpsHere.equals(fingerprintAll(small, s.ends)), 'fingerprints here');
  t.ok(fpsHere.equals(fpsThere.subarray(0, fpsHere.length)), 'the same fingerprints from a worker');

  const outHere = outFor(compute, small.length);
  const outThere = outFor(compute, large.length);
  for (const level of [1, 3]) {
    const here = await compute.encode(small, s.spans, fpsHere, ChunkKind.Data, level, outHere, true);
    const there = await compute.encode(large, l.spans, fpsThere, ChunkKind.Data, level, outThere);
    t.same([...here.storedLengths], [...there.storedLengths].slice(0, here.storedLengths.length), `level ${level}: the same stored lengths`);
    t.same([...here.codecs], [...there.codecs].slice(0, here.codecs.length), `level ${level}: the same codecs`);
    t.ok(Buffer.from(outHere.subarray(0, here.length)).equals(Buffer.from(outThere.subarray(0, here.length))), `level ${level}: the same records, byte for byte`);
  }
  await t.rejects(compute.encode(small, s.spans, fpsHere, ChunkKind.Data, 1, new Uint8Array(100), true), /output buffer too small/, 'a failure here is a rejection, as from a worker');
  await t.rejects(compute.fingerprints(large, l.ends, true), RangeError, 'only a small stream\'s jobs run here');
});

t.test("a small stream's digests, taken here, match a worker's and node:crypto's", async (t) => {
  const compute = StoreCompute.create(2);
  t.teardown(() => compute.pool.close());
  for (const size of [0, 1, 55, 64, 1000, HERE_BYTES]) {
    const data = pseudoRandomBytes(`digests-here-${size}`, size);
    const [md5, sha256] = compute.digestsHere(data, ['md5', 'sha256']);
    t.equal(md5!.toString('hex'), createHash('md5').update(data).digest('hex'), `${size} bytes: MD5`);
    t.equal(sha256!.toString('hex'), createHash('sha256').update(data).digest('hex'), `${size} bytes: SHA-256`);
    const stream = compute.newStream();
    if (size > 0) await compute.digestUpdate(stream, 'md5', data, true);
    t.ok((await compute.digestFinal(stream, 'md5', size === 0)).equals(md5!), `${size} bytes: the worker's MD5`);
  }
  t.throws(() => compute.digestsHere(Buffer.alloc(HERE_BYTES + 1), ['md5']), RangeError, 'only a small stream');
});
