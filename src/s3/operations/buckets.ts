import { mayAccess } from '../../units/credentials.js';
import { NoSuchUnitError } from '../../units/errors.js';
import type { Operation, S3Call } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { document, isoTime } from '../xml.js';
import { owner, sendXml } from './responses.js';

export const listBuckets: Operation = {
  name: 'ListBuckets',
  action: 'none',
  async run(call) {
    const { units } = call.options;
    const key = call.who.key;
    const visible = units.names().filter((n) => mayAccess(key, n, 'read'));
    sendXml(
      call,
      200,
      document('ListAllMyBucketsResult', [
        ['Owner', owner(key.accessKeyId)],
        ['Buckets', visible.map((n) => ['Bucket', [['Name', n], ['CreationDate', isoTime(new Date(units.createdMs(n)))]]])],
      ]),
    );
  },
};

export const createBucket: Operation = {
  name: 'CreateBucket',
  action: 'none',
  async run(call) {
    const name = call.bucket!;
    const { units } = call.options;
    // A unit key may "create" the bucket it already has (restic does, after HEAD); only admins make units.
    if (call.who.key.kind !== 'admin') {
      if (units.has(name) && mayAccess(call.who.key, name, 'read')) throw s3Error('BucketAlreadyOwnedByYou');
      throw s3Error('AccessDenied');
    }
    if (units.has(name)) throw s3Error('BucketAlreadyOwnedByYou');
    await units.create(name);
    call.reply.header('location', `/${name}`);
    call.reply.code(200).send();
  },
};

export const headBucket: Operation = {
  name: 'HeadBucket',
  action: 'read',
  async run(call) {
    call.reply.header('x-amz-bucket-region', call.options.region).code(200).send();
  },
};

export const deleteBucket: Operation = {
  name: 'DeleteBucket',
  action: 'none',
  async run(call) {
    if (call.who.key.kind !== 'admin') throw s3Error('AccessDenied');
    const { units } = call.options;
    if (!units.has(call.bucket!)) throw new NoSuchUnitError(call.bucket!);
    const unit = units.unit(call.bucket!);
    if (unit.store.usage().objects > 0 || unit.store.listUploads({ limit: 1 }).uploads.length > 0) throw s3Error('BucketNotEmpty');
    await units.delete(call.bucket!);
    call.options.credentials.changed();
    call.reply.code(204).send();
  },
};

export const getBucketLocation: Operation = {
  name: 'GetBucketLocation',
  action: 'read',
  async run(call: S3Call) {
    const region = call.options.region;
    // us-east-1 is the empty constraint: clients read an empty element as us-east-1.
    const body = document('LocationConstraint', region === 'us-east-1' ? '' : region);
    sendXml(call, 200, body);
  },
};

export const getBucketVersioning: Operation = {
  name: 'GetBucketVersioning',
  action: 'read',
  async run(call) {
    sendXml(call, 200, document('VersioningConfiguration', []));
  },
};
