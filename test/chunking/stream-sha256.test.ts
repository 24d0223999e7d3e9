import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { FingerprintCursor, ride, type Ride } from '../../src/chunking/md5-fingerprints.js';
import { Md5State, md5Digest } from '../../src/chunking/md5.js';
import { STREAM_SHA256_RIDES, StreamSha256 } from '../../src/chunking/stream-sha256.js';

const hex = (h: string, b: Uint8Array): string => createHash(h).update(b).digest('hex');

/** Updates of awkward sizes: empty, under a block, block edges, a batch and a bit. */
const UPDATES = [0, 1, 63, 64, 65, 100, 4 * 1024 * 1024 + 3, 127, 128, 5000, 1, 62, 700_001];

/** One stream's updates, each ridden in slices beside its MD5 as a worker does; resolves to [md5, sha256]. */
function hashStream(data: Buffer, sizes: number[], slice: number, riding: boolean): [string, string] {
  const state = new Md5State();
  const sha = new StreamSha256();
  for (let at = 0, i = 0; at < data.length; i++) {
    const update = data.subarray(at, Math.min(data.length, at + sizes[i % sizes.length]!));
    at += update.length;
    const second = sha.begin(update);
    const cursor = new FingerprintCursor(update, Uint32Array.of(update.length));
    for (let from = 0; from < update.length || (from === 0 && update.length === 0); ) {
      const to = Math.min(update.length, from + slice);
      ride([{ cursor, second, state, from, to }], riding);
      if (to === from) break;
      from = to;
    }
    sha.end(update);
  }
  return [md5Digest(state).toString('hex'), sha.digest().toString('hex')];
}

t.test('a stream\'s SHA-256 rides along its MD5, update by update, whatever the updates\' sizes', { skip: !STREAM_SHA256_RIDES && 'no SHA-NI' }, async (t) => {
  const data = randomBytes(6 * 1024 * 1024);
  for (const [sizes, slice] of [[UPDATES, 512 * 1024], [UPDATES.slice().reverse(), 65], [[64], 4096], [[1], 1 << 30], [[4 * 1024 * 1024], 512 * 1024]] as const) {
    for (const riding of [true, false]) {
      const [md5, sha256] = hashStream(data, [...sizes], slice, riding);
      t.equal(md5, hex('md5', data), `MD5, updates ${sizes.slice(0, 3).join(',')}..., slices of ${slice}, riding ${riding}`);
      t.equal(sha256, hex('sha256', data), `SHA-256, updates ${sizes.slice(0, 3).join(',')}..., slices of ${slice}, riding ${riding}`);
    }
  }
  t.equal(new StreamSha256().digest().toString('hex'), hex('sha256', Buffer.alloc(0)), 'an empty stream');
});

t.test('two streams, each with its SHA-256, ride together', { skip: !STREAM_SHA256_RIDES && 'no SHA-NI' }, async (t) => {
  const datas = [randomBytes(3_000_001), randomBytes(2_500_000)];
  const streams = datas.map((data, i) => ({ data, state: new Md5State(), sha: new StreamSha256(), at: 0, size: i === 0 ? 1_000_003 : 777_777 }));
  let open = streams.map((s) => {
    const update = s.data.subarray(0, s.size);
    return { s, update, second: s.sha.begin(update), cursor: new FingerprintCursor(update, Uint32Array.of(update.length)), from: 0 };
  });
  while (open.length > 0) {
    const rides: Ride[] = open.map((o) => ({ cursor: o.cursor, second: o.second, state: o.s.state, from: o.from, to: Math.min(o.update.length, o.from + 65_536) }));
    ride(rides);
    open.forEach((o, i) => (o.from = rides[i]!.to));
    open = open.flatMap((o) => {
      if (o.from < o.update.length) return [o];
      o.s.sha.end(o.update);
      o.s.at += o.update.length;
      if (o.s.at >= o.s.data.length) return [];
      const update = o.s.data.subarray(o.s.at, o.s.at + o.s.size);
      return [{ s: o.s, update, second: o.s.sha.begin(update), cursor: new FingerprintCursor(update, Uint32Array.of(update.length)), from: 0 }];
    });
  }
  streams.forEach((s, i) => {
    t.equal(md5Digest(s.state).toString('hex'), hex('md5', s.data), `MD5 ${i}`);
    t.equal(s.sha.digest().toString('hex'), hex('sha256', s.data), `SHA-256 ${i}`);
  });
});
