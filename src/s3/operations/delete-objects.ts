import { checkKey } from '../s3-target.js';
import type { Operation } from '../s3-context.js';
import { s3Error, toS3Error } from '../s3-errors.js';
import { document, parseXml, type Node } from '../xml.js';
import { readBody } from './request-body.js';
import { sendXml } from './responses.js';

export const deleteObjects: Operation = {
  name: 'DeleteObjects',
  action: 'write',
  async run(call) {
    const doc = parseXml(await readBody(call, 2 * 1024 * 1024)) as { Delete?: { Quiet?: string; Object?: { Key?: unknown }[] } };
    const del = doc.Delete;
    if (!del || typeof del !== 'object') throw s3Error('MalformedXML');
    const objects = del.Object ?? [];
    if (objects.length === 0 || objects.length > 1000) throw s3Error('MalformedXML', 'a Delete names 1 to 1000 objects');
    const quiet = String(del.Quiet ?? 'false').trim().toLowerCase() === 'true';
    const unit = call.options.units.unit(call.bucket!);
    const results: Node[] = [];
    for (const o of objects) {
      if (typeof o.Key !== 'string') throw s3Error('MalformedXML', 'every Object needs a Key');
      try {
        checkKey(o.Key);
        await unit.delete(o.Key);
        if (!quiet) results.push(['Deleted', [['Key', o.Key]]]);
      } catch (err) {
        const e = toS3Error(err);
        results.push(['Error', [['Key', o.Key], ['Code', e.code], ['Message', e.message]]]);
      }
    }
    sendXml(call, 200, document('DeleteResult', results));
  },
};
