import t from 'tap';
import { AwsChunkedDecoder, decodeAwsChunked, STREAMING_MODES, type ChunkedResult } from '../../src/s3/aws-chunked.js';
import { signingKey } from '../../src/sigv4/signing-key.js';
import { unsignedChunked } from '../helpers/aws-chunked.js';
import { collect, pseudoRandomBytes, randomSplits } from '../helpers/data.js';
import { signedChunks } from '../helpers/raw-s3.js';

// The AWS documentation's streaming examples (verified: docs/research/s3-protocol.md, section 2.4).
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SCOPE = { date: '20130524', region: 'us-east-1', service: 's3' };
const signing = (seed: string) => ({ key: signingKey(SECRET, SCOPE), amzDate: '20130524T000000Z', scope: '20130524/us-east-1/s3/aws4_request', seedSignature: seed });
const A64K = Buffer.alloc(65536, 'a');
const A1K = Buffer.alloc(1024, 'a');

function signedBody(sigs: string[], trailer?: string[]): Buffer {
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
    A64K,
    Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
    A1K,
    Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n`),
    Buffer.from(trailer ? `${trailer.join('\r\n')}\r\n\r\n` : '\r\n'),
  ]);
}

const SIGNED = signedBody([
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
]);
const SIGNED_SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const TRAILER = signedBody(
  [
    'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
    '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
    '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
  ],
  ['x-amz-checksum-crc32c:sOO8/Q==', 'x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435'],
);
const TRAILER_SEED = '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e';

async function decode(body: Buffer, mode: string, seed: string | null, splitSeed = 0) {
  const result: ChunkedResult = { trailers: new Map(), decodedLength: 0 };
  const pieces = splitSeed ? randomSplits(body, splitSeed, 5000) : [body];
  const data = await collect(decodeAwsChunked((async function* () { for (const p of pieces) yield Buffer.from(p); })(), STREAMING_MODES[mode]!, seed ? signing(seed) : null, result));
  return { data, result };
}

t.test('the AWS signed-chunk example decodes and verifies, however it is split', async (t) => {
  t.equal(SIGNED.length, 66824, 'the body is the documented 66824 bytes');
  for (const split of [0, 1, 2, 3]) {
    const { data, result } = await decode(SIGNED, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED, split);
    t.ok(data.equals(Buffer.concat([A64K, A1K])), `split ${split}: the payload`);
    t.equal(result.decodedLength, 66560);
  }
});

t.test('the AWS signed-trailer example decodes and verifies its trailer', async (t) => {
  t.equal(TRAILER.length, 66946);
  const { data, result } = await decode(TRAILER, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', TRAILER_SEED, 7);
  t.equal(data.length, 66560);
  t.equal(result.trailers.get('x-amz-checksum-crc32c'), 'sOO8/Q==');
});

t.test('a flipped chunk signature, a wrong trailer, a body cut short: each refused', async (t) => {
  const flipped = Buffer.from(SIGNED);
  const at = flipped.indexOf('0055627c');
  flipped[at] = '1'.charCodeAt(0);
  await t.rejects(decode(flipped, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED), { code: 'SignatureDoesNotMatch' }, 'flipped chunk signature');
  const dataFlip = Buffer.from(SIGNED);
  dataFlip[200] = 'b'.charCodeAt(0);
  await t.rejects(decode(dataFlip, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED), { code: 'SignatureDoesNotMatch' }, 'a changed byte of data');
  await t.rejects(decode(SIGNED, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', TRAILER_SEED), { code: 'SignatureDoesNotMatch' }, 'the wrong seed');
  const badTrailer = Buffer.from(TRAILER.toString('latin1').replace('sOO8/Q==', 'AAAAAA=='), 'latin1');
  await t.rejects(decode(badTrailer, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', TRAILER_SEED), { code: 'SignatureDoesNotMatch' }, 'a trailer changed after signing');
  const unsignedTrailer = Buffer.from(TRAILER.toString('latin1').replace(/x-amz-trailer-signature:[0-9a-f]+\r\n/, ''), 'latin1');
  await t.rejects(decode(unsignedTrailer, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', TRAILER_SEED), { code: 'SignatureDoesNotMatch' }, 'a trailer without its signature');
  for (const cut of [10, 40_000, 65_700, SIGNED.length - 90]) {
    await t.rejects(decode(SIGNED.subarray(0, cut), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED), { code: /IncompleteBody|SignatureDoesNotMatch/ }, `cut at ${cut}`);
  }
  const lying = Buffer.from(SIGNED.toString('latin1').replace('400;chunk', '3ff;chunk'), 'latin1');
  await t.rejects(decode(lying, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED), { code: /IncompleteBody|SignatureDoesNotMatch/ }, 'a chunk size that lies');
  await t.rejects(decode(Buffer.from('zz\r\nhello\r\n'), 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null), { code: 'IncompleteBody' }, 'a size that is not hex');
  await t.rejects(decode(Buffer.from(`${'1'.repeat(5000)}\r\n`), 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null), { code: 'IncompleteBody' }, 'a size line too long');
  await t.rejects(decode(Buffer.concat([unsignedChunked([Buffer.from('hi')], []), Buffer.from('junk')]), 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null), { code: 'IncompleteBody' }, 'data after the end');
});

t.test('unsigned trailer bodies as botocore, the Go and JS SDKs and minio-go send them', async (t) => {
  const shapes: [string, Buffer][] = [
    ['botocore / go-v2', Buffer.from('b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n')],
    ['JS v3 (a chunk per data event)', Buffer.from('6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n')],
    ['LF trailer, capitalised name', Buffer.from('B\r\nhello world\r\n0\r\nX-Amz-Checksum-CRC32: DUoRhQ==\n\r\n')],
    ['no final blank line', Buffer.from('b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n')],
    ['a blank line before the trailer', Buffer.from('b\r\nhello world\r\n0\r\n\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n')],
    ['chunk extension ignored', Buffer.from('b;ext=1\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n')],
  ];
  for (const [name, body] of shapes) {
    const { data, result } = await decode(body, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null, 3);
    t.equal(data.toString(), 'hello world', name);
    t.equal(result.trailers.get('x-amz-checksum-crc32'), 'DUoRhQ==', `${name}: trailer`);
  }
  const empty = await decode(Buffer.from('0\r\n\r\n'), 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', null);
  t.equal(empty.data.length, 0, 'an empty body with no trailer');
});

t.test('fed in pieces to a taker that keeps only part of each offer, the decoder gives the same bytes and checks', async (t) => {
  // As the socket path drives it: a read is offered until taken, the rest offered again later.
  const feedAll = (body: Buffer, mode: string, seed: string | null, seedNumber: number): { out: Buffer; result: ChunkedResult } => {
    const result: ChunkedResult = { trailers: new Map(), decodedLength: 0 };
    const decoder = new AwsChunkedDecoder(STREAMING_MODES[mode]!, seed ? signing(seed) : null, result);
    const out: Buffer[] = [];
    let n = seedNumber;
    for (const piece of randomSplits(body, seedNumber, 9000)) {
      let rest = piece;
      while (rest.length > 0) {
        n = (n * 1103515245 + 12345) % 2 ** 31;
        const used = decoder.feed(rest, (data) => {
          const keep = n % 3 === 0 ? 0 : Math.min(data.length, n % 5000);
          out.push(Buffer.from(data.subarray(0, keep)));
          return keep;
        });
        rest = rest.subarray(used);
      }
    }
    decoder.end();
    return { out: Buffer.concat(out), result };
  };
  for (let seed = 1; seed <= 20; seed++) {
    const signed = feedAll(SIGNED, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED, seed);
    t.ok(signed.out.equals(Buffer.concat([A64K, A1K])), `signed, split ${seed}`);
    const trailed = feedAll(TRAILER, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER', TRAILER_SEED, seed);
    t.ok(trailed.out.equals(Buffer.concat([A64K, A1K])));
    t.equal(trailed.result.trailers.get('x-amz-checksum-crc32c'), 'sOO8/Q==');
  }
  const flipped = Buffer.from(SIGNED);
  flipped[flipped.indexOf(';chunk-signature=', 1000) + 20] ^= 1;
  t.throws(() => feedAll(flipped, 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED, 7), { code: 'SignatureDoesNotMatch' });
  t.throws(() => feedAll(SIGNED.subarray(0, 66_000), 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', SIGNED_SEED, 7), { code: 'IncompleteBody' }, 'cut short');
});

t.test('many signed chunks in one piece are checked together: a changed byte or signature in any of them is refused', async (t) => {
  const date = '20261124T010203Z';
  const seed = 'c0ffee'.repeat(10) + 'c0ff';
  const sign = { key: signingKey(SECRET, { date: date.slice(0, 8), region: 'us-east-1', service: 's3' }), amzDate: date, scope: `${date.slice(0, 8)}/us-east-1/s3/aws4_request`, seedSignature: seed };
  const data = pseudoRandomBytes('many chunks', 40 * 65536);
  // minio-go's 64 KiB chunks, with a few odd sizes among them (the lanes run chunks of unequal length side by side).
  const sizes = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? 1 + ((i * 977) % 5000) : 65536));
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; i < sizes.length; at += sizes[i]!, i++) pieces.push(data.subarray(at, at + sizes[i]!));
  const body = signedChunks(pieces, seed, date, SECRET);
  const decodeWhole = (b: Buffer, splitSeed = 0): Buffer => {
    const decoder = new AwsChunkedDecoder(STREAMING_MODES['STREAMING-AWS4-HMAC-SHA256-PAYLOAD']!, sign, { trailers: new Map(), decodedLength: 0 });
    const out: Buffer[] = [];
    for (const piece of splitSeed ? randomSplits(b, splitSeed, 200_000) : [b]) decoder.feed(piece, (d) => (out.push(Buffer.from(d)), d.length));
    decoder.end();
    return Buffer.concat(out);
  };
  const expected = Buffer.concat(pieces);
  t.ok(decodeWhole(body).equals(expected), 'one piece: every chunk whole in it, checked side by side');
  for (const split of [1, 2, 3]) t.ok(decodeWhole(body, split).equals(expected), `split ${split}: whole chunks and chunks across pieces`);
  for (const chunk of [0, 3, 17, 39]) {
    const header = nthIndexOf(body, ';chunk-signature=', chunk);
    const byte = Buffer.from(body);
    byte[body.indexOf('\r\n', header) + 2 + Math.floor(sizes[chunk]! / 2)] ^= 0x20;
    t.throws(() => decodeWhole(byte), { code: 'SignatureDoesNotMatch' }, `a byte changed in chunk ${chunk}`);
    const sig = Buffer.from(body);
    sig[header + 30] = sig[header + 30] === 0x30 ? 0x31 : 0x30;
    t.throws(() => decodeWhole(sig), { code: 'SignatureDoesNotMatch' }, `chunk ${chunk}'s signature changed`);
    t.throws(() => decodeWhole(byte, 2), { code: 'SignatureDoesNotMatch' }, `a byte changed in chunk ${chunk}, the body split`);
  }
});

function nthIndexOf(b: Buffer, s: string, n: number): number {
  let at = -1;
  for (let i = 0; i <= n; i++) at = b.indexOf(s, at + 1);
  return at;
}
