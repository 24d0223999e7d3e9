import t from 'tap';
import { canonicalRequest, sha256Hex, type SignableRequest } from '../../src/sigv4/canonical-request.js';
import { presignUrl, signRequest } from '../../src/sigv4/signer.js';
import { claimedAuth, verify } from '../../src/sigv4/verifier.js';

// AWS's published examples (docs/research/s3-protocol.md, section 1.6).
const credentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const E3B0 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const now = new Date(Date.UTC(2013, 4, 24));
const opts = { credentials, region: 'us-east-1', service: 's3', now };

function asSignable(method: string, url: URL, headers: Record<string, string>): SignableRequest {
  return { method, path: url.pathname, query: url.search.slice(1), headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])) };
}

function signatureOf(authorization: string): string {
  return /Signature=([0-9a-f]+)/.exec(authorization)![1]!;
}

t.test('signing matches the AWS examples', async (t) => {
  const a = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'), headers: { range: 'bytes=0-9', 'x-amz-content-sha256': E3B0 } }, opts);
  t.equal(signatureOf(a.authorization!), 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41', 'A: GET with a range');
  const body = 'Welcome to Amazon S3.';
  const b = signRequest(
    {
      method: 'PUT',
      url: new URL('https://examplebucket.s3.amazonaws.com/test%24file.text'),
      headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      body,
    },
    opts,
  );
  t.equal(b['x-amz-content-sha256'], '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
  t.equal(signatureOf(b.authorization!), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd', 'B: PUT with a body');
  const c = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/?lifecycle'), headers: { 'x-amz-content-sha256': E3B0 } }, opts);
  t.equal(signatureOf(c.authorization!), 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543', 'C: a subresource with no value');
  const d = signRequest({ method: 'GET', url: new URL('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J'), headers: { 'x-amz-content-sha256': E3B0 } }, opts);
  t.equal(signatureOf(d.authorization!), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7', 'D: a sorted query');
  const e = presignUrl('GET', new URL('https://examplebucket.s3.amazonaws.com/test.txt'), 86400, opts);
  t.equal(e.searchParams.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404', 'E: a presigned URL');
});

t.test('the canonical request handles hard encodings as botocore does', async (t) => {
  const url = new URL('http://localhost:9000/examplebucket/photos/my%20photo%20%E2%9C%93%2B%281%29.jpg?list-type=2&prefix=photos%2Fa%20b&delimiter=%2F&encoding-type=url&continuation-token=1%2Fabc%3D%3D');
  const headers = { host: 'localhost:9000', 'x-amz-content-sha256': E3B0, 'x-amz-date': '20130524T000000Z', 'x-amz-meta-note': 'a  b   c' };
  const cr = canonicalRequest(asSignable('GET', url, headers), ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-meta-note'], E3B0);
  t.equal(sha256Hex(cr), '2049d9dc8fc2b885cbc62f7424a7bafbf258c552e96ec207aa721cc63c247f88');
  t.match(cr, /\n\/examplebucket\/photos\/my%20photo%20%E2%9C%93%2B%281%29\.jpg\n/);
  t.match(cr, /\ncontinuation-token=1%2Fabc%3D%3D&delimiter=%2F&encoding-type=url&list-type=2&prefix=photos%2Fa%20b\n/);
  t.match(cr, /\nx-amz-meta-note:a b c\n/);
});

t.test('verification: accepts what was signed, refuses every change, and checks time', async (t) => {
  const url = new URL('https://examplebucket.s3.amazonaws.com/test.txt');
  const signed = signRequest({ method: 'GET', url, headers: { range: 'bytes=0-9', 'x-amz-content-sha256': E3B0 } }, opts);
  const req = asSignable('GET', url, signed);
  const claim = claimedAuth(req)!;
  const at = now.getTime();
  t.ok(verify(req, claim, { secret: credentials.secretAccessKey, payloadHash: E3B0, nowMs: at, maxSkewMs: 900_000 }));
  const tampered = asSignable('GET', url, { ...signed, range: 'bytes=0-99' });
  t.throws(() => verify(tampered, claimedAuth(tampered)!, { secret: credentials.secretAccessKey, payloadHash: E3B0, nowMs: at, maxSkewMs: 900_000 }), { code: 'SignatureDoesNotMatch' });
  t.throws(() => verify(req, claim, { secret: 'wrong', payloadHash: E3B0, nowMs: at, maxSkewMs: 900_000 }), { code: 'SignatureDoesNotMatch' });
  t.throws(() => verify(req, claim, { secret: credentials.secretAccessKey, payloadHash: E3B0, nowMs: at + 901_000, maxSkewMs: 900_000 }), { code: 'RequestTimeTooSkewed' });
  const presigned = presignUrl('GET', url, 600, opts);
  const preq = asSignable('GET', presigned, { host: 'examplebucket.s3.amazonaws.com' });
  const pclaim = claimedAuth(preq)!;
  t.equal(pclaim.kind, 'query');
  t.ok(verify(preq, pclaim, { secret: credentials.secretAccessKey, payloadHash: '', nowMs: at + 599_000, maxSkewMs: 900_000 }), 'within its expiry');
  t.throws(() => verify(preq, pclaim, { secret: credentials.secretAccessKey, payloadHash: '', nowMs: at + 601_000, maxSkewMs: 900_000 }), { code: 'AccessDenied', message: /expired/ });
  const longLived = new URL(presigned);
  longLived.searchParams.set('X-Amz-Expires', '604801');
  t.throws(() => claimedAuth(asSignable('GET', longLived, { host: 'x' })), { code: 'AuthorizationQueryParametersError' });
  t.equal(claimedAuth(asSignable('GET', url, { host: 'x' })), null, 'anonymous');
  t.throws(() => claimedAuth(asSignable('GET', url, { host: 'x', authorization: 'AWS AKID:sig' })), { code: 'AuthorizationHeaderMalformed' });
});
