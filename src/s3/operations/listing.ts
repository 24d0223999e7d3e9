import type { ObjectInfo } from '../../store/object-info.js';
import type { Operation, S3Call } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { document, isoTime, type Node } from '../xml.js';
import { owner, sendXml, urlEncodeName } from './responses.js';

function maxKeys(call: S3Call, name = 'max-keys'): number {
  const raw = call.query.get(name);
  if (raw === null || raw === '') return 1000;
  if (!/^\d+$/.test(raw)) throw s3Error('InvalidArgument', `${name} must be a non-negative whole number`);
  return Math.min(1000, Number(raw));
}

function encodingType(call: S3Call): 'url' | undefined {
  const e = call.query.get('encoding-type');
  if (e === null || e === '') return undefined;
  if (e !== 'url') throw s3Error('InvalidArgument', 'encoding-type may only be url');
  return 'url';
}

function contents(o: ObjectInfo, enc: (s: string) => string, withOwner: string | null): Node {
  return [
    'Contents',
    [
      ['Key', enc(o.key)],
      ['LastModified', isoTime(o.modified)],
      ['ETag', `"${o.etag}"`],
      ['Size', o.size],
      withOwner !== null && ['Owner', owner(withOwner)],
      ['StorageClass', 'STANDARD'],
    ],
  ];
}

/** What both listings take from the query. */
function listingQuery(call: S3Call) {
  const q = call.query;
  const url = encodingType(call) === 'url';
  return {
    q,
    limit: maxKeys(call),
    url,
    enc: url ? urlEncodeName : (s: string) => s,
    prefix: q.get('prefix') ?? '',
    delimiter: q.get('delimiter') || undefined,
  };
}

/** ListObjectsV2: continuation tokens are the last key returned, opaque to the client. */
export const listObjectsV2: Operation = {
  name: 'ListObjectsV2',
  action: 'read',
  async run(call) {
    const { q, limit, url, enc, prefix, delimiter } = listingQuery(call);
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? undefined;
    if (token !== null) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (token === '' || !decoded.startsWith('k:')) throw s3Error('InvalidArgument', 'the continuation token is not valid');
      after = decoded.slice(2);
    }
    const r = call.options.units.unit(call.bucket!).store.list({ prefix, startAfter: after, limit, delimiter });
    const fetchOwner = q.get('fetch-owner') === 'true' ? call.who.key.accessKeyId : null;
    sendXml(
      call,
      200,
      document('ListBucketResult', [
        ['Name', call.bucket!],
        ['Prefix', enc(prefix)],
        q.has('start-after') && ['StartAfter', enc(q.get('start-after')!)],
        token !== null && ['ContinuationToken', token],
        r.isTruncated && ['NextContinuationToken', Buffer.from(`k:${r.nextStartAfter!}`).toString('base64url')],
        ['KeyCount', r.objects.length + r.commonPrefixes.length],
        ['MaxKeys', limit],
        delimiter !== undefined && ['Delimiter', enc(delimiter)],
        ['IsTruncated', r.isTruncated],
        ...r.objects.map((o) => contents(o, enc, fetchOwner)),
        ...r.commonPrefixes.map((p): Node => ['CommonPrefixes', [['Prefix', enc(p)]]]),
        url && ['EncodingType', 'url'],
      ]),
    );
  },
};

/** ListObjects (V1): paged by marker; NextMarker whenever truncated. */
export const listObjectsV1: Operation = {
  name: 'ListObjects',
  action: 'read',
  async run(call) {
    const { q, limit, url, enc, prefix, delimiter } = listingQuery(call);
    const marker = q.get('marker') ?? '';
    const r = call.options.units.unit(call.bucket!).store.list({ prefix, startAfter: marker || undefined, limit, delimiter });
    sendXml(
      call,
      200,
      document('ListBucketResult', [
        ['Name', call.bucket!],
        ['Prefix', enc(prefix)],
        ['Marker', enc(marker)],
        r.isTruncated && ['NextMarker', enc(r.nextStartAfter!)],
        ['MaxKeys', limit],
        delimiter !== undefined && ['Delimiter', enc(delimiter)],
        ['IsTruncated', r.isTruncated],
        ...r.objects.map((o) => contents(o, enc, call.who.key.accessKeyId)),
        ...r.commonPrefixes.map((p): Node => ['CommonPrefixes', [['Prefix', enc(p)]]]),
        url && ['EncodingType', 'url'],
      ]),
    );
  },
};
