import type { PartInfo } from '../../store/multipart.js';
import {
  checksumElement,
  checksumHeader,
  compositeChecksum,
  fullObjectChecksum,
  parseAlgorithm,
  StreamChecksum,
  supportsFullObject,
  type ChecksumAlgorithm,
  type ChecksumType,
} from '../checksums.js';
import { CHECKSUM_ALGORITHM, CHECKSUM_TYPE, CHECKSUM_VALUE, checksumMetadata, metadataFromRequest } from '../object-metadata.js';
import { requestPayload } from '../payload.js';
import type { Operation, S3Call } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { checkKey } from '../s3-target.js';
import { document, isoTime, parseXml, type Node } from '../xml.js';
import { copySource, sourceObject } from './objects.js';
import { observed } from '../../store/push-source.js';
import { readBody } from './request-body.js';
import { owner, sendXml, urlEncodeName } from './responses.js';
import { answerPatiently } from './patient-answer.js';

const MIN_PART = 5 * 1024 * 1024;
const MAX_PART = 5 * 1024 ** 3;

function uploadId(call: S3Call): string {
  const id = call.query.get('uploadId');
  if (!id) throw s3Error('InvalidArgument', 'uploadId is missing');
  return id;
}

function partNumber(call: S3Call): number {
  const n = Number(call.query.get('partNumber'));
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw s3Error('InvalidArgument', 'partNumber must be a whole number from 1 to 10000');
  return n;
}

/** The upload's checksum choice, as CreateMultipartUpload recorded it. */
function uploadChecksum(system: Record<string, string>): { algorithm: ChecksumAlgorithm; type: ChecksumType } | undefined {
  const a = system[CHECKSUM_ALGORITHM] as ChecksumAlgorithm | undefined;
  return a ? { algorithm: a, type: (system[CHECKSUM_TYPE] as ChecksumType) ?? 'COMPOSITE' } : undefined;
}

/** An upload must belong to the key it is addressed with. */
function ownUpload(call: S3Call) {
  const upload = call.options.units.unit(call.bucket!).store.getUpload(uploadId(call));
  if (upload.key !== call.key) throw s3Error('NoSuchUpload');
  return upload;
}

export const createMultipartUpload: Operation = {
  name: 'CreateMultipartUpload',
  action: 'write',
  async run(call) {
    checkKey(call.key!);
    const meta = metadataFromRequest(call.req);
    const algorithm = parseAlgorithm(header(call, 'x-amz-checksum-algorithm'));
    const typeHeader = header(call, 'x-amz-checksum-type')?.toUpperCase();
    if (typeHeader !== undefined && typeHeader !== 'COMPOSITE' && typeHeader !== 'FULL_OBJECT') throw s3Error('InvalidRequest', 'x-amz-checksum-type is COMPOSITE or FULL_OBJECT');
    if (typeHeader && !algorithm) throw s3Error('InvalidRequest', 'x-amz-checksum-type needs x-amz-checksum-algorithm');
    let type: ChecksumType | undefined;
    if (algorithm) {
      type = (typeHeader as ChecksumType | undefined) ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
      if (type === 'FULL_OBJECT' && !supportsFullObject(algorithm)) throw s3Error('InvalidRequest', `${algorithm} checksums can only be COMPOSITE`);
      if (type === 'COMPOSITE' && algorithm === 'CRC64NVME') throw s3Error('InvalidRequest', 'CRC64NVME checksums can only be FULL_OBJECT');
      meta.systemMetadata[CHECKSUM_ALGORITHM] = algorithm;
      meta.systemMetadata[CHECKSUM_TYPE] = type;
    }
    const upload = call.options.units.unit(call.bucket!).store.createUpload(call.key!, meta);
    if (algorithm) call.reply.header('x-amz-checksum-algorithm', algorithm).header('x-amz-checksum-type', type!);
    sendXml(call, 200, document('InitiateMultipartUploadResult', [['Bucket', call.bucket!], ['Key', call.key!], ['UploadId', upload.uploadId]]));
  },
};

export const uploadPart: Operation = {
  name: 'UploadPart',
  action: 'write',
  async run(call) {
    const upload = ownUpload(call);
    const n = partNumber(call);
    const checksum = uploadChecksum(upload.systemMetadata);
    const body = requestPayload(call, checksum?.algorithm);
    let computed: ReturnType<typeof body.finish>;
    const part = await call.options.units.unit(call.bucket!).putPart(upload.uploadId, n, body.source, {
      sizeLimit: MAX_PART,
      sha256: body.needsSha256,
      beforeCommit: (written) => {
        computed = body.finish(written);
        return computed ? { systemMetadata: { [CHECKSUM_VALUE]: computed.value } } : undefined;
      },
    });
    call.reply.header('etag', `"${part.etag}"`);
    if (computed) call.reply.header(checksumHeader(computed.algorithm), computed.value);
    call.reply.code(200).send();
  },
};

export const uploadPartCopy: Operation = {
  name: 'UploadPartCopy',
  action: 'write',
  async run(call) {
    const upload = ownUpload(call);
    const n = partNumber(call);
    const source = copySource(call);
    const src = await sourceObject(call, source);
    const rangeHeader = header(call, 'x-amz-copy-source-range');
    let start = 0;
    let end = src.size;
    if (rangeHeader !== undefined) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
      if (!m) throw s3Error('InvalidArgument', 'x-amz-copy-source-range must be bytes=first-last');
      start = Number(m[1]);
      end = Number(m[2]) + 1;
      if (start >= end || end > src.size) throw s3Error('InvalidRange', undefined, { ActualObjectSize: String(src.size) });
    }
    const unit = call.options.units.unit(call.bucket!);
    const checksum = uploadChecksum(upload.systemMetadata);
    let part: PartInfo;
    if (source.bucket === call.bucket && start === 0 && end === src.size && /^[0-9a-f]{32}$/.test(src.etag) && !checksum) {
      // The whole of an object whose ETag is its MD5: the part shares its recipe.
      part = unit.store.sharePart(upload.uploadId, n, source.key);
    } else {
      const got = await call.options.units.unit(source.bucket).get(source.key, src.size === 0 ? undefined : { start, end });
      // An upload created with a checksum needs every part's, copied ones too (the completion refuses a part without it).
      const sum = checksum && new StreamChecksum(checksum.algorithm);
      const body = sum ? observed(got.body, (bytes) => sum.update(bytes)) : got.body;
      part = await unit.putPart(upload.uploadId, n, body, sum ? { beforeCommit: () => ({ systemMetadata: { [CHECKSUM_VALUE]: sum.digest() } }) } : {});
    }
    const value = checksum && part.systemMetadata[CHECKSUM_VALUE];
    sendXml(
      call,
      200,
      document('CopyPartResult', [['LastModified', isoTime(part.modified)], ['ETag', `"${part.etag}"`], ...(value ? [[checksumElement(checksum.algorithm), value] as [string, string]] : [])]),
    );
  },
};

interface CompletePart {
  PartNumber?: unknown;
  ETag?: unknown;
  [checksum: string]: unknown;
}

export const completeMultipartUpload: Operation = {
  name: 'CompleteMultipartUpload',
  action: 'write',
  async run(call) {
    const upload = ownUpload(call);
    const doc = parseXml(await readBody(call, 2 * 1024 * 1024)) as { CompleteMultipartUpload?: { Part?: CompletePart[] } | string };
    const root = doc.CompleteMultipartUpload;
    if (root === undefined || typeof root !== 'object' || !root.Part || root.Part.length === 0) {
      throw s3Error('MalformedXML', 'a completion lists its parts');
    }
    if (root.Part.length > 10000) throw s3Error('MalformedXML', 'at most 10000 parts');
    const checksum = uploadChecksum(upload.systemMetadata);
    const chosen = root.Part.map((p) => {
      const n = Number(p.PartNumber);
      if (!Number.isInteger(n) || n < 1 || n > 10000) throw s3Error('MalformedXML', 'every Part needs a PartNumber from 1 to 10000');
      if (typeof p.ETag !== 'string') throw s3Error('MalformedXML', 'every Part needs an ETag');
      return { partNumber: n, etag: p.ETag, checksum: checksum ? p[checksumElement(checksum.algorithm)] : undefined };
    });
    const wholeHeader = checksum ? header(call, checksumHeader(checksum.algorithm)) : undefined;
    const unit = call.options.units.unit(call.bucket!);
    let objectChecksum: string | undefined;
    const completed = unit.completeUpload(
      upload.uploadId,
      chosen.map(({ partNumber, etag }) => ({ partNumber, etag })),
      {
        minPartSize: MIN_PART,
        onlyIfAbsent: header(call, 'if-none-match') === '*',
        systemMetadata: (parts) => {
          if (!checksum) return {};
          const values = parts.map((p, i) => {
            const stored = p.systemMetadata[CHECKSUM_VALUE];
            if (!stored) throw s3Error('InvalidRequest', `part ${p.partNumber} was uploaded without its ${checksum.algorithm} checksum`);
            const listed = chosen[i]!.checksum;
            if (typeof listed === 'string' && listed !== stored) throw s3Error('InvalidPart', `the ${checksum.algorithm} of part ${p.partNumber} is ${stored}`);
            return { value: stored, size: p.size };
          });
          objectChecksum =
            checksum.type === 'FULL_OBJECT' ? fullObjectChecksum(checksum.algorithm, values) : compositeChecksum(checksum.algorithm, values.map((v) => v.value));
          if (wholeHeader !== undefined && wholeHeader !== objectChecksum && `${wholeHeader}-${parts.length}` !== objectChecksum) {
            throw s3Error('BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
          }
          return checksumMetadata(checksum.algorithm, objectChecksum, checksum.type);
        },
      },
    );
    const answer = completed.then((info) =>
      document('CompleteMultipartUploadResult', [
        ['Location', `/${call.bucket}/${call.key}`],
        ['Bucket', call.bucket!],
        ['Key', call.key!],
        ['ETag', `"${info.etag}"`],
        objectChecksum !== undefined && [checksumElement(checksum!.algorithm), objectChecksum],
        objectChecksum !== undefined && ['ChecksumType', checksum!.type],
      ]),
    );
    await answerPatiently(call, answer, call.options.completePatienceMs);
  },
};

export const abortMultipartUpload: Operation = {
  name: 'AbortMultipartUpload',
  action: 'write',
  async run(call) {
    const upload = ownUpload(call);
    call.options.units.unit(call.bucket!).store.abortUpload(upload.uploadId);
    call.reply.code(204).send();
  },
};

export const listParts: Operation = {
  name: 'ListParts',
  action: 'read',
  async run(call) {
    const upload = ownUpload(call);
    const marker = Number(call.query.get('part-number-marker') ?? '0');
    const maxRaw = call.query.get('max-parts');
    const max = maxRaw === null ? 1000 : Number(maxRaw);
    if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(max) || max < 0) throw s3Error('InvalidArgument', 'part-number-marker and max-parts are whole numbers');
    const { parts, isTruncated } = call.options.units.unit(call.bucket!).store.listParts(upload.uploadId, marker, Math.min(max, 1000));
    const checksum = uploadChecksum(upload.systemMetadata);
    const me = owner(call.who.key.accessKeyId);
    sendXml(
      call,
      200,
      document('ListPartsResult', [
        ['Bucket', call.bucket!],
        ['Key', call.key!],
        ['UploadId', upload.uploadId],
        ['Initiator', me],
        ['Owner', me],
        ['StorageClass', 'STANDARD'],
        ['PartNumberMarker', marker],
        ['NextPartNumberMarker', parts.length > 0 ? parts[parts.length - 1]!.partNumber : marker],
        ['MaxParts', Math.min(max, 1000)],
        ['IsTruncated', isTruncated],
        checksum !== undefined && ['ChecksumAlgorithm', checksum.algorithm],
        checksum !== undefined && ['ChecksumType', checksum.type],
        ...parts.map(
          (p): Node => [
            'Part',
            [
              ['PartNumber', p.partNumber],
              ['LastModified', isoTime(p.modified)],
              ['ETag', `"${p.etag}"`],
              ['Size', p.size],
              checksum !== undefined && p.systemMetadata[CHECKSUM_VALUE] !== undefined && [checksumElement(checksum.algorithm), p.systemMetadata[CHECKSUM_VALUE]!],
            ],
          ],
        ),
      ]),
    );
  },
};

export const listMultipartUploads: Operation = {
  name: 'ListMultipartUploads',
  action: 'read',
  async run(call) {
    const q = call.query;
    const maxRaw = q.get('max-uploads');
    const max = maxRaw === null ? 1000 : Number(maxRaw);
    if (!Number.isInteger(max) || max < 0) throw s3Error('InvalidArgument', 'max-uploads is a whole number');
    const url = q.get('encoding-type') === 'url';
    const enc = url ? urlEncodeName : (s: string) => s;
    const r = call.options.units.unit(call.bucket!).store.listUploads({
      prefix: q.get('prefix') ?? '',
      delimiter: q.get('delimiter') || undefined,
      keyMarker: q.get('key-marker') || undefined,
      uploadIdMarker: q.get('upload-id-marker') || undefined,
      limit: Math.min(max, 1000),
    });
    const me = owner(call.who.key.accessKeyId);
    sendXml(
      call,
      200,
      document('ListMultipartUploadsResult', [
        ['Bucket', call.bucket!],
        ['KeyMarker', enc(q.get('key-marker') ?? '')],
        ['UploadIdMarker', q.get('upload-id-marker') ?? ''],
        ['NextKeyMarker', enc(r.nextKeyMarker ?? '')],
        ['NextUploadIdMarker', r.nextUploadIdMarker ?? ''],
        !!q.get('delimiter') && ['Delimiter', enc(q.get('delimiter')!)],
        ['Prefix', enc(q.get('prefix') ?? '')],
        ['MaxUploads', Math.min(max, 1000)],
        ['IsTruncated', r.isTruncated],
        ...r.uploads.map(
          (u): Node => [
            'Upload',
            [
              ['Key', enc(u.key)],
              ['UploadId', u.uploadId],
              ['Initiator', me],
              ['Owner', me],
              ['StorageClass', 'STANDARD'],
              ['Initiated', isoTime(u.initiated)],
            ],
          ],
        ),
        ...r.commonPrefixes.map((p): Node => ['CommonPrefixes', [['Prefix', enc(p)]]]),
        url && ['EncodingType', 'url'],
      ]),
    );
  },
};

function header(call: S3Call, name: string): string | undefined {
  const v = call.req.headers[name];
  return typeof v === 'string' ? v : undefined;
}
