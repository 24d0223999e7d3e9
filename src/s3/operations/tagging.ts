import { checkTags, decodeTags, encodeTags, TAGGING, type Tag } from '../object-metadata.js';
import type { Operation } from '../s3-context.js';
import { s3Error } from '../s3-errors.js';
import { document, parseXml } from '../xml.js';
import { readBody } from './request-body.js';
import { sendXml } from './responses.js';

export const getObjectTagging: Operation = {
  name: 'GetObjectTagging',
  action: 'read',
  async run(call) {
    const info = await call.options.units.unit(call.bucket!).store.head(call.key!);
    const tags = decodeTags(info.systemMetadata[TAGGING]);
    sendXml(call, 200, document('Tagging', [['TagSet', tags.map((t) => ['Tag', [['Key', t.key], ['Value', t.value]]])]]));
  },
};

export const putObjectTagging: Operation = {
  name: 'PutObjectTagging',
  action: 'write',
  async run(call) {
    const store = call.options.units.unit(call.bucket!).store;
    const info = await store.head(call.key!);
    const doc = parseXml(await readBody(call, 64 * 1024)) as { Tagging?: { TagSet?: { Tag?: { Key?: unknown; Value?: unknown }[] } | string } };
    const set = doc.Tagging?.TagSet;
    if (doc.Tagging === undefined) throw s3Error('MalformedXML');
    const raw = typeof set === 'object' && set?.Tag ? set.Tag : [];
    const tags: Tag[] = raw.map((t) => {
      if (typeof t.Key !== 'string') throw s3Error('MalformedXML', 'every Tag needs a Key');
      return { key: t.Key, value: typeof t.Value === 'string' ? t.Value : '' };
    });
    const system = { ...info.systemMetadata };
    if (tags.length > 0) system[TAGGING] = encodeTags(checkTags(tags));
    else delete system[TAGGING];
    store.setSystemMetadata(call.key!, system);
    call.reply.code(200).send();
  },
};

export const deleteObjectTagging: Operation = {
  name: 'DeleteObjectTagging',
  action: 'write',
  async run(call) {
    const store = call.options.units.unit(call.bucket!).store;
    const info = await store.head(call.key!);
    const system = { ...info.systemMetadata };
    delete system[TAGGING];
    store.setSystemMetadata(call.key!, system);
    call.reply.code(204).send();
  },
};
